"""Certificates (download, public verification), a learner's record (xAPI), admin actions.

``/verify/<code>`` needs no sign-in and is rate limited per address
(``VERIFY_LIMIT``), so codes cannot be tried in bulk; an unknown code answers 404 with
the same page whatever was typed.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from elearn.accounts.models import User
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.forms import BaseForm
from elearn.core.services import record_audit
from elearn.courses.forms import REQUIRED
from elearn.courses.models import Course, Enrolment
from elearn.extensions import db, limiter
from elearn.progress import certificates, record, services, xapi
from elearn.progress.models import Certificate, ProgressEvent

bp = Blueprint("progress", __name__)

EVENT_LABELS = {
    "run.started": _l("Started"),
    "activity.completed": _l("Lesson completed"),
    "activity.graded": _l("Grade recorded"),
    "run.completed": _l("Course completed"),
    "run.reset": _l("Completion reset"),
    "run.override": _l("Marked complete by an admin"),
}
STATUS_LABELS = {
    "not_started": _l("not started"),
    "in_progress": _l("in progress"),
    "completed": _l("completed"),
}
CERTIFICATE_LABELS = {
    "valid": _l("valid"),
    "revoked": _l("revoked"),
    "superseded": _l("superseded"),
}


@bp.app_context_processor
def _labels():
    return {
        "run_status_label": lambda s: STATUS_LABELS.get(s, s),
        "certificate_status_label": lambda s: CERTIFICATE_LABELS.get(s, s),
    }


@bp.app_template_filter("study_time")
def study_time(seconds: int | None) -> str:
    """Seconds of study as "1 giờ 5 phút" / "12 phút" / "under a minute"."""
    minutes = int(seconds or 0) // 60
    if minutes == 0:
        return _("under a minute")
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return _("%(m)d min", m=minutes)
    return _("%(h)d h %(m)d min", h=hours, m=minutes)


@bp.app_template_filter("clock_time")
def clock_time(seconds: float | None) -> str:
    """A position in a video as m:ss (or h:mm:ss)."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class CodeForm(BaseForm):
    """Type a verification code (GET, so no CSRF)."""

    class Meta(BaseForm.Meta):
        """A search form: no token."""

        csrf = False

    code = StringField(
        _l("Verification code"),
        validators=[DataRequired(REQUIRED), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Check"))


class ReasonForm(BaseForm):
    """An admin action that must give its reason."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(REQUIRED), Length(max=1000)],
        description=_l("Kept in the learner's record and the audit log."),
    )
    submit = SubmitField(_l("Confirm"))


# --- certificates -------------------------------------------------------------------------


def _pdf_response(certificate: Certificate) -> Response:
    etag = f"{certificate.code}-{certificate.status}"
    if request.if_none_match and etag in request.if_none_match:
        return Response(status=304)
    response = Response(certificates.pdf(certificate), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="chung-nhan-{certificate.code}.pdf"'
    )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response


@bp.route("/certificates/<int:certificate_id>.pdf")
@access(Access.USER)
def certificate_pdf(certificate_id: int):
    """Download one's own certificate (an admin may download anyone's)."""
    if current_user.is_admin:
        certificate = db.get_or_404(Certificate, certificate_id)
    else:
        certificate = certificates.owned(current_user, certificate_id)
    if certificate.status != "valid" and not current_user.is_admin:
        abort(404)
    return _pdf_response(certificate)


def _verify_limit() -> str:
    return current_app.config["VERIFY_LIMIT"]


@bp.route("/verify")
@access(Access.PUBLIC)
@limiter.limit(_verify_limit)
def verify_form():
    """Type a code printed on a certificate."""
    form = CodeForm(request.args)
    if request.args and form.validate():
        return redirect(url_for("progress.verify", code=form.code.data.strip()))
    return render_template("progress/verify_form.html", form=form)


@bp.route("/verify/<code>")
@access(Access.PUBLIC)
@limiter.limit(_verify_limit)
def verify(code: str):
    """Say whether a certificate is valid, revoked (when) or superseded; 404 if unknown."""
    certificate = certificates.lookup(code)
    if certificate is None:
        return render_template(
            "progress/verify.html", certificate=None, code=code[:40], form=CodeForm()
        ), 404
    if certificate.code != code:
        return redirect(url_for("progress.verify", code=certificate.code))
    return render_template(
        "progress/verify.html", certificate=certificate, code=certificate.code, form=CodeForm()
    )


# --- the learner's own record -------------------------------------------------------------


@bp.route("/my/record.json")
@access(Access.USER)
def my_record():
    """Download one's own learning record as xAPI statements (JSON)."""
    return _xapi_response(current_user)


def _xapi_response(user: User) -> Response:
    body = json.dumps(xapi.statements(user), ensure_ascii=False, indent=1)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="hoc-tap-{user.username}.xapi.json"'
    )
    return response


# --- admin: one learner's record ----------------------------------------------------------


def _learner(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/admin/people/<int:user_id>/record")
@access(Access.ADMIN)
def learner_record(user_id: int):
    """A learner's runs, certificates and event chain, with reset, override, revoke."""
    person = _learner(user_id)
    runs = list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == person.id)
            .order_by(Enrolment.started_at.desc(), Enrolment.id.desc())
        )
    )
    events = list(
        db.session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.user_id == person.id)
            .order_by(ProgressEvent.seq.desc())
            .limit(200)
        )
    )
    checked, breaks = record.verify([person.id])
    titles = dict(db.session.execute(select(Course.id, Course.title)).all())
    actors = dict(
        db.session.execute(
            select(User.id, User.full_name).where(
                User.id.in_({e.actor_id for e in events if e.actor_id})
            )
        ).all()
    )
    return render_template(
        "progress/record.html",
        person=person,
        runs=runs,
        events=events,
        checked=checked,
        breaks=breaks,
        titles=titles,
        actors=actors,
        certificates=certificates.of_user(person.id),
        event_label=lambda kind: EVENT_LABELS.get(kind, kind),
        form=ReasonForm(),
    )


def _run_of(user_id: int, run_id: int) -> Enrolment:
    run = db.session.get(Enrolment, run_id)
    if run is None or run.user_id != user_id:
        abort(404)
    return run


@bp.route("/admin/people/<int:user_id>/runs/<int:run_id>/reset", methods=["POST"])
@access(Access.ADMIN)
def reset_run(user_id: int, run_id: int):
    """Reset a completed run (reason required)."""
    run = _run_of(user_id, run_id)
    form = ReasonForm()
    if form.validate_on_submit():
        perform(
            lambda: services.reset_run(run, current_user, form.reason.data),
            _("The completion was reset."),
        )
    else:
        _flash_reason()
    return redirect(url_for("progress.learner_record", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/runs/<int:run_id>/override", methods=["POST"])
@access(Access.ADMIN)
def override_run(user_id: int, run_id: int):
    """Mark a run complete although its rules are not met (reason required)."""
    run = _run_of(user_id, run_id)
    form = ReasonForm()
    if form.validate_on_submit():
        perform(
            lambda: services.override_run(run, current_user, form.reason.data),
            _("The course was marked complete."),
        )
    else:
        _flash_reason()
    return redirect(url_for("progress.learner_record", user_id=user_id))


def _certificate_of(user_id: int, certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != user_id:
        abort(404)
    return certificate


@bp.route("/admin/people/<int:user_id>/certificates/<int:certificate_id>/revoke", methods=["POST"])
@access(Access.ADMIN)
def revoke_certificate(user_id: int, certificate_id: int):
    """Revoke a certificate (reason required)."""
    certificate = _certificate_of(user_id, certificate_id)
    form = ReasonForm()
    if form.validate_on_submit():
        perform(
            lambda: certificates.revoke(certificate, current_user, form.reason.data),
            _("The certificate was revoked."),
        )
    else:
        _flash_reason()
    return redirect(url_for("progress.learner_record", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/certificates/<int:certificate_id>/reissue", methods=["POST"])
@access(Access.ADMIN)
def reissue_certificate(user_id: int, certificate_id: int):
    """Re-issue a certificate with the person's current name (reason required)."""
    certificate = _certificate_of(user_id, certificate_id)
    form = ReasonForm()
    if form.validate_on_submit():
        perform(
            lambda: certificates.reissue(certificate, current_user, form.reason.data),
            lambda new: _("A new certificate was issued: %(code)s.", code=new.code),
        )
    else:
        _flash_reason()
    return redirect(url_for("progress.learner_record", user_id=user_id))


@bp.route("/admin/people/<int:user_id>/record.json")
@access(Access.ADMIN)
def learner_xapi(user_id: int):
    """Download a learner's record as xAPI statements (audited: personal data)."""
    person = _learner(user_id)
    record_audit(
        "progress.exported", actor_id=current_user.id, target_type="user", target_id=person.id
    )
    db.session.commit()
    return _xapi_response(person)


def _flash_reason() -> None:
    flash(_("Give a reason: it is kept in the learner's record."), "error")
