"""How a view carries out one state change: commit and confirm, or roll back and explain."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash

from elearn.core.services import ServiceError
from elearn.extensions import db


def perform(action: Callable[[], object], success: Callable[[object], str] | str, form=None):
    """Run one service call: commit and flash ``success``, or roll back and report the refusal.

    A refusal that names a field of ``form`` is shown beside that field (and in the
    form's error summary); any other is flashed. Returns the call's result (True when
    it returns nothing), or None when the service refused.
    """
    try:
        result = action()
    except ServiceError as exc:
        db.session.rollback()
        if form is not None and exc.field and exc.field in form:
            form[exc.field].errors = [*form[exc.field].errors, str(exc)]
        else:
            flash(str(exc), "error")
        return None
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    return result if result is not None else True
