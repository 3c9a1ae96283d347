"""Assignments and training classes (bp "training"): hr assigns, organisers follow a class."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.forms import ConfirmForm
from elearn.core.services import NotFound, ServiceError
from elearn.courses.models import Course
from elearn.extensions import db
from elearn.reports import assignments, charts, classes, services
from elearn.reports.forms import (
    AssignmentForm,
    ClassForm,
    ExportForm,
    OrganiserForm,
    ParticipantsForm,
    WithdrawForm,
    usernames_in,
)
from elearn.reports.queries import Filters
from elearn.reports.views import svg_response
from elearn.surveys import services as surveys

bp = Blueprint("training", __name__)


def _published_courses() -> list[SelectChoice]:
    return [
        SelectChoice(c.id, c.title)
        for c in db.session.scalars(
            select(Course).where(Course.status == "published").order_by(Course.title_sort)
        )
    ]


def _unit_choices() -> list[SelectChoice]:
    return [
        SelectChoice(u.id, f"{'— ' * u.depth}{u.name} ({u.code})")
        for u in accounts.units_in_scope(current_user)
    ]


def _field_error(form, exc: ServiceError) -> None:
    """Show a refusal beside its field (or at the top of the form)."""
    if exc.field and exc.field in form:
        form[exc.field].errors = [*form[exc.field].errors, str(exc)]
    else:
        flash(str(exc), "error")


# --- assignments -----------------------------------------------------------------------------


@bp.route("/assignments")
@access(Access.HR)
def assignments_index():
    """Assignments the visitor manages, with how far people have got."""
    found = assignments.assignments_for(
        current_user, include_withdrawn=bool(request.args.get("withdrawn"))
    )
    return render_template(
        "training/assignments.html",
        assignments=[(a, assignments.runs_summary(a)) for a in found],
        course_titles=_titles(found),
        units={u.id: u for u in accounts.units_in_scope(current_user, include_merged=True)},
    )


def _titles(found) -> dict[int, str]:
    ids = {link.course_id for a in found for link in a.courses}
    return dict(db.session.execute(select(Course.id, Course.title).where(Course.id.in_(ids))).all())


@bp.route("/assignments/new", methods=["GET", "POST"])
@access(Access.HR)
def assignment_new():
    """Assign courses to units (and everyone below them) or to people, by a date."""
    form = AssignmentForm()
    form.course_ids.choices = _published_courses()
    form.unit_ids.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            user_ids = assignments.people_named(current_user, usernames_in(form.usernames.data))
            assignment = assignments.create_assignment(
                current_user,
                course_ids=form.course_ids.data,
                unit_ids=form.unit_ids.data,
                user_ids=user_ids,
                due_on=form.due_on.data,
                recur_months=form.recur_months.data,
                join_days=form.join_days.data,
            )
            db.session.flush()
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            job = assignments.apply_or_queue(assignment, current_user)
            if job is not None:
                flash(_("The assignment is saved; people are being enrolled."), "success")
                return redirect(url_for("jobs.detail", job_id=job.id))
            flash(_("The assignment is saved and people are enrolled."), "success")
            return redirect(url_for("training.assignment", course_assignment_id=assignment.id))
    return render_template("training/assignment_new.html", form=form)


@bp.route("/assignments/<int:course_assignment_id>")
@access(Access.HR)
def assignment(course_assignment_id: int):
    """One assignment: what, for whom, by when, and how many have finished."""
    try:
        found = assignments.assignment_for(current_user, course_assignment_id)
    except NotFound:
        abort(404)
    return render_template(
        "training/assignment.html",
        assignment=found,
        summary=assignments.runs_summary(found),
        members=assignments.count_members(found),
        course_titles=_titles([found]),
        targets=_targets(found),
        withdraw_form=WithdrawForm(),
    )


def _targets(found) -> tuple[list, list]:
    units = [db.session.get(OrgUnit, t.unit_id) for t in found.targets if t.unit_id]
    people = [db.session.get(User, t.user_id) for t in found.targets if t.user_id]
    return units, people


@bp.route("/assignments/<int:course_assignment_id>/withdraw", methods=["POST"])
@access(Access.HR)
def assignment_withdraw(course_assignment_id: int):
    """Withdraw an assignment; runs and progress stay, open runs become voluntary."""
    try:
        found = assignments.assignment_for(current_user, course_assignment_id)
    except NotFound:
        abort(404)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    perform(
        lambda: assignments.withdraw(found, current_user, form.reason.data or ""),
        lambda released: _(
            "The assignment was withdrawn; %(n)d open runs are voluntary now.", n=released
        ),
    )
    return redirect(url_for("training.assignment", course_assignment_id=course_assignment_id))


# --- training classes ------------------------------------------------------------------------


@bp.route("/classes")
@access(Access.REPORTS)
def classes_index():
    """The training classes the visitor manages or organises."""
    found = classes.classes_for(current_user)
    return render_template(
        "training/classes.html",
        classes=[(c, services.class_report(c, Filters()).total) for c in found],
        may_create=current_user.is_admin or current_user.is_hr,
    )


@bp.route("/classes/new", methods=["GET", "POST"])
@access(Access.HR)
def class_new():
    """Open a training class: courses, dates, organising unit, participants."""
    form = ClassForm()
    form.course_ids.choices = _published_courses()
    form.unit_ids.choices = _unit_choices()
    form.organiser_unit_id.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            unit = accounts.get_unit_for(current_user, form.organiser_unit_id.data)
            user_ids = assignments.people_named(current_user, usernames_in(form.usernames.data))
            created = classes.create_class(
                current_user,
                code=form.code.data,
                name=form.name.data,
                description=form.description.data or "",
                organiser_unit=unit,
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
                course_ids=form.course_ids.data,
                unit_ids=form.unit_ids.data,
                user_ids=user_ids,
            )
            db.session.flush()
        except ServiceError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            job = assignments.apply_or_queue(created.assignment, current_user)
            if job is not None:
                flash(_("The class is open; participants are being enrolled."), "success")
                return redirect(url_for("jobs.detail", job_id=job.id))
            flash(_("The class is open and its participants are enrolled."), "success")
            return redirect(url_for("training.class_page", class_id=created.id))
    return render_template("training/class_form.html", form=form, training_class=None)


def _class_or_404(class_id: int, *, manage: bool = False):
    try:
        if manage:
            return classes.managed_class(current_user, class_id)
        return classes.class_for(current_user, class_id)
    except NotFound:
        abort(404)


@bp.route("/classes/<int:class_id>")
@access(Access.REPORTS)
def class_page(class_id: int):
    """A class: its dates, courses, participants and how each is doing, with a chart."""
    found = _class_or_404(class_id)
    manage = classes.may_manage(current_user, found)
    units, people = classes.targets_of(found)
    report = services.class_report(found, Filters())
    return render_template(
        "training/class.html",
        training_class=found,
        manage=manage,
        report=report,
        chart=charts.bar_chart(
            report, _("Completion in the class %(name)s", name=found.name), "class-chart"
        ),
        participants=services.class_participants(found, Filters()),
        courses=classes.courses_of(found),
        target_units=units,
        target_people=people,
        organisers=classes.organisers_of(found),
        organiser_unit=db.session.get(OrgUnit, found.organiser_unit_id),
        satisfaction=surveys.satisfaction(class_id=found.id),
        export_form=ExportForm(view="runs"),
        participants_form=_participants_form() if manage else None,
        organiser_form=OrganiserForm() if manage else None,
        cancel_form=WithdrawForm() if manage else None,
        confirm_form=ConfirmForm(),
    )


def _participants_form() -> ParticipantsForm:
    form = ParticipantsForm()
    form.unit_ids.choices = _unit_choices()
    return form


@bp.route("/classes/<int:class_id>/chart.svg")
@access(Access.REPORTS)
def class_chart(class_id: int):
    """The class report per course as an SVG bar chart."""
    found = _class_or_404(class_id)
    report = services.class_report(found, Filters())
    title = _("Completion in the class %(name)s", name=found.name)
    return svg_response(charts.bar_chart(report, title))


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@access(Access.HR)
def class_edit(class_id: int):
    """Rename a class or change its dates."""
    found = _class_or_404(class_id, manage=True)
    form = ClassForm(obj=found)
    # Courses, participants and organising unit are changed elsewhere (or not at all).
    for name in ("course_ids", "unit_ids", "usernames", "organiser_unit_id"):
        del form[name]
    if request.method == "POST":
        form.code.data = found.code
    if form.validate_on_submit():
        saved = perform(
            lambda: classes.update_class(
                found,
                current_user,
                name=form.name.data,
                description=form.description.data or "",
                opens_on=form.opens_on.data,
                closes_on=form.closes_on.data,
            ),
            _("The class has been saved."),
            form,
        )
        if saved:
            return redirect(url_for("training.class_page", class_id=class_id))
    return render_template("training/class_form.html", form=form, training_class=found)


@bp.route("/classes/<int:class_id>/participants", methods=["POST"])
@access(Access.HR)
def class_add_participants(class_id: int):
    """Add units or people to a class and enrol them."""
    found = _class_or_404(class_id, manage=True)
    form = _participants_form()
    if not form.validate_on_submit():
        flash(_("Choose units or give usernames."), "error")
        return redirect(url_for("training.class_page", class_id=class_id))
    try:
        user_ids = assignments.people_named(current_user, usernames_in(form.usernames.data))
        classes.add_participants(found, current_user, form.unit_ids.data, user_ids)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("training.class_page", class_id=class_id))
    job = assignments.apply_or_queue(found.assignment, current_user)
    if job is not None:
        return redirect(url_for("jobs.detail", job_id=job.id))
    flash(_("The participants were added and enrolled."), "success")
    return redirect(url_for("training.class_page", class_id=class_id))


@bp.route("/classes/<int:class_id>/participants/<int:target_id>/remove", methods=["POST"])
@access(Access.HR)
def class_remove_participant(class_id: int, target_id: int):
    """Remove a unit or a person from a class (their progress stays)."""
    found = _class_or_404(class_id, manage=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: classes.remove_participant(found, current_user, target_id),
        lambda left: _("Removed; %(n)d open runs left the class.", n=left),
    )
    return redirect(url_for("training.class_page", class_id=class_id))


@bp.route("/classes/<int:class_id>/organisers", methods=["POST"])
@access(Access.HR)
def class_add_organiser(class_id: int):
    """Give someone the organiser role on this class."""
    found = _class_or_404(class_id, manage=True)
    form = OrganiserForm()
    if form.validate_on_submit():
        perform(
            lambda: classes.add_organiser(found, current_user, form.username.data),
            lambda person: _("%(name)s organises the class.", name=person.full_name),
        )
    else:
        flash(_("Give the organiser's username."), "error")
    return redirect(url_for("training.class_page", class_id=class_id))


@bp.route("/classes/<int:class_id>/organisers/<int:role_id>/remove", methods=["POST"])
@access(Access.HR)
def class_remove_organiser(class_id: int, role_id: int):
    """Take the organiser role on this class away."""
    found = _class_or_404(class_id, manage=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    perform(
        lambda: classes.remove_organiser(found, current_user, role_id),
        _("The organiser was removed."),
    )
    return redirect(url_for("training.class_page", class_id=class_id))


@bp.route("/classes/<int:class_id>/cancel", methods=["POST"])
@access(Access.HR)
def class_cancel(class_id: int):
    """Cancel a class: open runs become voluntary, everything done stays."""
    found = _class_or_404(class_id, manage=True)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    perform(
        lambda: classes.cancel(found, current_user, form.reason.data or ""),
        lambda released: _(
            "The class was cancelled; %(n)d open runs are voluntary now.", n=released
        ),
    )
    return redirect(url_for("training.class_page", class_id=class_id))
