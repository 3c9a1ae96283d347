"""Who may use which route: every view declares it, one guard enforces it.

A view is decorated with ``@access(Access.X)``. Before each request the guard
looks up the declaration of the endpoint being served; an endpoint without one
is refused (deny by default), and ``tests/core/test_access_matrix.py`` fails for
any route in the url_map that has none. The declaration is the coarse gate
(signed in? has the role somewhere?); which objects a person may touch inside
it (an hr user's units and people) is decided in the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from flask import Flask, abort, current_app, request
from flask_login import current_user

from elearn.extensions import login_manager

log = logging.getLogger(__name__)


class Access(StrEnum):
    """Who may call a route."""

    PUBLIC = "public"  #: anyone, signed in or not
    USER = "user"  #: any signed-in, active account (every account is a learner)
    INSTRUCTOR = "instructor"  #: instructor anywhere, or admin; courses limited to their own
    HR = "hr"  #: hr of some unit, or admin; objects are limited to the hr's subtrees
    #: hr, organiser of a training class, or admin; reports are limited to the viewer's
    #: subtrees (hr) or classes (organiser)
    REPORTS = "reports"
    ADMIN = "admin"  #: site administrators only


#: Endpoints that Flask itself adds.
BUILTIN_PUBLIC = {"static"}


def access(level: Access) -> Callable:
    """Declare who may call the decorated view."""

    def decorate(view: Callable) -> Callable:
        view.access_level = level
        return view

    return decorate


def declared_access(endpoint: str | None) -> Access | None:
    """Return the declared access of an endpoint, or None when it declares nothing."""
    if endpoint is None:
        return None
    if endpoint in BUILTIN_PUBLIC:
        return Access.PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_level", None)


def user_may(level: Access, user) -> bool:
    """Tell whether ``user`` passes the coarse gate of ``level``."""
    if level is Access.PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    if level is Access.USER:
        return True
    if level is Access.HR:
        return user.is_admin or user.is_hr
    if level is Access.REPORTS:
        return user.is_admin or user.is_hr or user.is_organiser
    if level is Access.INSTRUCTOR:
        return user.is_admin or user.is_instructor
    return user.is_admin


def register_access_guard(app: Flask) -> None:
    """Check every request against its endpoint's declaration."""

    @app.before_request
    def _guard():
        if request.endpoint is None:
            return None  # no route matched: Flask answers 404/405 itself
        level = declared_access(request.endpoint)
        if level is None:
            log.error("endpoint %s declares no access rule; refusing", request.endpoint)
            abort(403)
        if level is not Access.PUBLIC and not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not user_may(level, current_user):
            abort(403)
        return None
