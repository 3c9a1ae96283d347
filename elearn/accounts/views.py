"""Sign-in, passwords, one's own settings, and the admin pages for people, units and roles."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import SelectChoice

from elearn.accounts import services
from elearn.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    MergeUnitForm,
    MoveUnitForm,
    PersonForm,
    PreferencesForm,
    RenameUnitForm,
    ResetPasswordForm,
    RoleForm,
    SignerForm,
    TransferForm,
    UnitForm,
)
from elearn.accounts.models import RoleAssignment
from elearn.core.access import Access, access
from elearn.core.actions import perform
from elearn.core.forms import ConfirmForm, page_number
from elearn.core.security import local_path
from elearn.core.services import NotFound, ServiceError, record_audit
from elearn.extensions import db, limiter

bp = Blueprint("accounts", __name__)


ROLE_LABELS = {
    "instructor": _l("Instructor"),
    "hr": _l("Personnel (HR)"),
    "admin": _l("Administrator"),
}
KIND_LABELS = {
    "ministry": _l("Ministry"),
    "province": _l("Province or city"),
    "department": _l("Department"),
    "school": _l("Training school"),
    "unit": _l("Unit"),
}


@bp.app_context_processor
def _labels():
    return {
        "role_label": lambda role: ROLE_LABELS.get(role, role),
        "kind_label": lambda kind: KIND_LABELS.get(kind, kind),
    }


# --- helpers ---------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the home page."""
    return local_path(target, url_for("core.home"))


def _person_or_404(user_id: int):
    try:
        return services.get_user_for(current_user, user_id)
    except NotFound:
        abort(404)


def _unit_or_404(unit_id: int):
    try:
        return services.get_unit_for(current_user, unit_id)
    except NotFound:
        abort(404)


def _unit_choices(units, blank: str | None = None):
    choices = [SelectChoice(0, blank)] if blank else []
    choices += [SelectChoice(u.id, f"{'— ' * u.depth}{u.name} ({u.code})") for u in units]
    return choices


def _login_username_key() -> str:
    return "login-user:" + services.normalize_username(request.form.get("username", ""))[:64]


def _login_failed(_response) -> bool:
    return bool(g.get("login_failed"))


# --- sign-in and passwords ------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@access(Access.PUBLIC)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USER"],
    key_func=_login_username_key,
    methods=["POST"],
    deduct_when=_login_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_login_failed
)
def login():
    """Sign in."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            person = services.authenticate(form.username.data, form.password.data)
        except services.AuthError as exc:
            g.login_failed = True
            record_audit("auth.login_failed", detail=f"username={form.username.data[:64]}")
            db.session.commit()
            form.password.errors.append(str(exc))
        else:
            login_user(person, remember=form.remember.data)
            if person.locale:
                session["locale"] = person.locale
            record_audit("auth.login", actor_id=person.id, target_type="user", target_id=person.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@access(Access.USER)
def logout():
    """Sign out (POST with CSRF, so no page can sign a person out with a link)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/forgot", methods=["GET", "POST"])
@access(Access.PUBLIC)
@limiter.limit("10 per hour", methods=["POST"])
def forgot():
    """Ask for a password-reset link."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.identifier.data, current_app.config["BASE_URL"])
        db.session.commit()
        return render_template("accounts/forgot_sent.html")
    return render_template("accounts/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@access(Access.PUBLIC)
def reset(token: str):
    """Choose a new password through an emailed link."""
    try:
        person = services.user_for_reset_token(token)
    except services.TokenError as exc:
        return render_template("accounts/reset_invalid.html", message=str(exc)), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.new_password.data)
        except services.TokenError as exc:
            return render_template("accounts/reset_invalid.html", message=str(exc)), 410
        except ServiceError as exc:
            form.new_password.errors.append(str(exc))
        else:
            db.session.commit()
            logout_user()
            flash(_("Your password has been set. Sign in with it now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form, person=person)


@bp.route("/account", methods=["GET", "POST"])
@access(Access.USER)
def account():
    """One's own profile and language."""
    form = PreferencesForm(locale=current_user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])
    if form.validate_on_submit():
        services.set_locale(current_user, form.locale.data)
        session["locale"] = form.locale.data
        db.session.commit()
        flash(_("Your settings have been saved."), "success")
        return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/account.html", form=form, roles=services.roles_of(current_user)
    )


def _password_change_key() -> str:
    return f"password-change:{current_user.get_id()}"


def _password_change_failed(_response) -> bool:
    return bool(g.get("password_change_failed"))


@bp.route("/account/password", methods=["GET", "POST"])
@access(Access.USER)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_USER"],
    key_func=_password_change_key,
    methods=["POST"],
    deduct_when=_password_change_failed,
)
def change_password():
    """Change one's own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except services.WrongPassword as exc:
            g.password_change_failed = True
            record_audit("auth.password_change_failed", actor_id=current_user.id)
            db.session.commit()
            form.current_password.errors.append(str(exc))
        except ServiceError as exc:
            form.new_password.errors.append(str(exc))
        else:
            db.session.commit()
            # The session follows the new nonce; other devices still hold the old one.
            login_user(current_user._get_current_object())
            flash(_("Your password has been changed. Other devices were signed out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/password.html", form=form)


# --- people ----------------------------------------------------------------------------------


@bp.route("/admin/people")
@access(Access.HR)
def people():
    """The people the visitor manages, searchable, in Vietnamese name order."""
    units = services.units_in_scope(current_user)
    unit_id = request.args.get("unit", type=int)
    unit = _unit_or_404(unit_id) if unit_id else None
    query = services.people_in_scope(
        current_user,
        request.args.get("q", "").strip(),
        unit,
        include_inactive=bool(request.args.get("inactive")),
    )
    page = db.paginate(
        query, page=request.args.get("page", 1, type=page_number), per_page=50, error_out=False
    )
    return render_template("accounts/people.html", page=page, units=units, unit=unit)


@bp.route("/admin/people/new", methods=["GET", "POST"])
@access(Access.HR)
def person_new():
    """Add a person to a unit the visitor manages."""
    form = PersonForm()
    units = services.units_in_scope(current_user)
    form.unit_id.choices = _unit_choices(units)
    if form.validate_on_submit():
        unit = _unit_or_404(form.unit_id.data)
        person = perform(
            lambda: services.create_user(
                form.full_name.data,
                form.username.data,
                unit,
                email=form.email.data,
                job_title=form.job_title.data,
                actor=current_user,
            ),
            lambda created: _("%(name)s has been added.", name=created.full_name),
            form,
        )
        if person:
            return redirect(url_for("accounts.person", user_id=person.id))
    return render_template("accounts/person_form.html", form=form, person=None)


@bp.route("/admin/people/<int:user_id>")
@access(Access.HR)
def person(user_id: int):
    """A person's details, unit history and roles."""
    person = _person_or_404(user_id)
    units = services.units_in_scope(current_user)
    transfer_form = TransferForm()
    transfer_form.unit_id.choices = _unit_choices(
        [u for u in units if u.id != person.unit_id],
        blank=_("(choose a unit)"),
    )
    role_form = RoleForm(role_labels=ROLE_LABELS)
    role_form.unit_id.choices = _unit_choices(units, blank=_("(whole site, for administrators)"))
    return render_template(
        "accounts/person.html",
        person=person,
        transfers=services.transfers_of(person),
        roles=services.roles_of(person),
        transfer_form=transfer_form,
        role_form=role_form,
        confirm_form=ConfirmForm(),
    )


@bp.route("/admin/people/<int:user_id>/edit", methods=["GET", "POST"])
@access(Access.HR)
def person_edit(user_id: int):
    """Edit a person's name, email and job title."""
    person = _person_or_404(user_id)
    form = PersonForm(obj=person)
    form.unit_id.choices = [SelectChoice(person.unit_id, person.unit.name)]
    form.username.render_kw = {"readonly": True}
    if request.method == "POST":
        form.unit_id.data = person.unit_id
        form.username.data = person.username
    if form.validate_on_submit():
        saved = perform(
            lambda: services.update_user(
                person,
                current_user,
                full_name=form.full_name.data,
                email=form.email.data,
                job_title=form.job_title.data,
            ),
            _("The changes have been saved."),
            form,
        )
        if saved:
            return redirect(url_for("accounts.person", user_id=person.id))
    return render_template("accounts/person_form.html", form=form, person=person)


@bp.route("/admin/people/<int:user_id>/transfer", methods=["POST"])
@access(Access.HR)
def person_transfer(user_id: int):
    """Move a person to another unit."""
    person = _person_or_404(user_id)
    form = TransferForm()
    form.unit_id.choices = _unit_choices(services.units_in_scope(current_user), blank="-")
    if form.validate_on_submit():
        to_unit = _unit_or_404(form.unit_id.data)
        perform(
            lambda: services.transfer_user(person, to_unit, current_user, form.reason.data or ""),
            lambda _result: _(
                "%(name)s now belongs to %(unit)s.", name=person.full_name, unit=to_unit.name
            ),
        )
    else:
        flash(_("Choose the unit to move the person to."), "error")
    return redirect(url_for("accounts.person", user_id=person.id))


@bp.route("/admin/people/<int:user_id>/active", methods=["POST"])
@access(Access.HR)
def person_set_active(user_id: int):
    """Deactivate or reactivate an account."""
    person = _person_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    make_active = request.form.get("active") == "1"
    perform(
        lambda: services.set_active(person, make_active, current_user),
        _("The account is active again.")
        if make_active
        else _("The account has been deactivated; its records are kept."),
    )
    return redirect(url_for("accounts.person", user_id=person.id))


@bp.route("/admin/people/<int:user_id>/send-link", methods=["POST"])
@access(Access.HR)
def person_send_link(user_id: int):
    """Mail the person a link to set their password."""
    person = _person_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not person.email:
        flash(_("This person has no email address; add one first."), "error")
    elif not person.active:
        flash(_("The account is deactivated."), "error")
    else:
        perform(
            lambda: services.send_password_link(
                person, current_app.config["BASE_URL"], current_user
            ),
            _("A link to set a password was sent to %(email)s.", email=person.email),
        )
    return redirect(url_for("accounts.person", user_id=person.id))


# --- roles -----------------------------------------------------------------------------------


@bp.route("/admin/people/<int:user_id>/roles", methods=["POST"])
@access(Access.ADMIN)
def person_add_role(user_id: int):
    """Give a person a role."""
    person = _person_or_404(user_id)
    form = RoleForm(role_labels=ROLE_LABELS)
    form.unit_id.choices = _unit_choices(services.units_in_scope(current_user), blank="-")
    if form.validate_on_submit():
        unit = _unit_or_404(form.unit_id.data) if form.unit_id.data else None
        perform(
            lambda: services.assign_role(person, form.role.data, unit, current_user),
            _("The role has been added."),
        )
    else:
        flash(_("Choose a role and a unit."), "error")
    return redirect(url_for("accounts.person", user_id=person.id))


@bp.route("/admin/roles/<int:assignment_id>/revoke", methods=["POST"])
@access(Access.ADMIN)
def role_revoke(assignment_id: int):
    """Take a role away."""
    assignment = db.get_or_404(RoleAssignment, assignment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user_id = assignment.user_id
    perform(lambda: services.revoke_role(assignment, current_user), _("The role has been removed."))
    return redirect(
        _safe_next(request.form.get("next"))
        if request.form.get("next")
        else url_for("accounts.person", user_id=user_id)
    )


@bp.route("/admin/roles")
@access(Access.ADMIN)
def roles():
    """Every role assignment on the site."""
    return render_template(
        "accounts/roles.html",
        assignments=services.all_role_assignments(),
        confirm_form=ConfirmForm(),
    )


# --- units -----------------------------------------------------------------------------------


@bp.route("/admin/units")
@access(Access.HR)
def units():
    """The org tree the visitor manages (all of it for admins)."""
    return render_template(
        "accounts/units.html",
        units=services.units_in_scope(
            current_user, include_merged=bool(request.args.get("merged"))
        ),
    )


@bp.route("/admin/units/new", methods=["GET", "POST"])
@access(Access.ADMIN)
def unit_new():
    """Create a unit."""
    form = UnitForm(kind_labels=KIND_LABELS)
    form.parent_id.choices = _unit_choices(
        services.units_in_scope(current_user), blank=_("(top level: a ministry or province)")
    )
    if request.method == "GET" and request.args.get("parent", type=int):
        form.parent_id.data = request.args.get("parent", type=int)
    if form.validate_on_submit():
        parent = _unit_or_404(form.parent_id.data) if form.parent_id.data else None
        unit = perform(
            lambda: services.create_unit(
                form.code.data, form.name.data, form.kind.data, parent, current_user
            ),
            lambda created: _("The unit %(name)s has been created.", name=created.name),
            form,
        )
        if unit:
            return redirect(url_for("accounts.unit", unit_id=unit.id))
    return render_template("accounts/unit_form.html", form=form)


@bp.route("/admin/units/<int:unit_id>")
@access(Access.HR)
def unit(unit_id: int):
    """A unit: its place in the tree, sub-units, and (for admins) rename, move, merge."""
    unit = _unit_or_404(unit_id)
    rename_form = RenameUnitForm(obj=unit)
    candidates = [u for u in services.units_in_scope(current_user) if not unit.contains(u)]
    move_form = MoveUnitForm(parent_id=unit.parent_id or 0)
    move_form.parent_id.choices = _unit_choices(candidates, blank=_("(top level)"))
    merge_form = MergeUnitForm()
    merge_form.target_id.choices = _unit_choices(candidates, blank=_("(choose a unit)"))
    subunits = services.tree_order(list(db.session.scalars(services.subtree_query(unit))))[1:]
    people_count = db.session.scalar(
        db.select(db.func.count()).select_from(
            services.people_in_scope(current_user, unit=unit).subquery()
        )
    )
    ancestors = services.ancestors_of(unit)
    return render_template(
        "accounts/unit.html",
        unit=unit,
        subunits=subunits,
        ancestors=ancestors,
        people_count=people_count,
        rename_form=rename_form,
        move_form=move_form,
        merge_form=merge_form,
        signer_form=SignerForm(obj=unit),
    )


@bp.route("/admin/units/<int:unit_id>/rename", methods=["POST"])
@access(Access.ADMIN)
def unit_rename(unit_id: int):
    """Rename a unit."""
    unit = _unit_or_404(unit_id)
    form = RenameUnitForm()
    if form.validate_on_submit():
        perform(
            lambda: services.rename_unit(
                unit, form.name.data, current_user, code=form.code.data.strip()
            ),
            _("The unit has been renamed."),
        )
    else:
        flash(_("A unit needs a code and a name."), "error")
    return redirect(url_for("accounts.unit", unit_id=unit_id))


@bp.route("/admin/units/<int:unit_id>/signer", methods=["POST"])
@access(Access.ADMIN)
def unit_signer(unit_id: int):
    """Set who signs the unit's certificates."""
    unit = _unit_or_404(unit_id)
    form = SignerForm()
    if form.validate_on_submit():
        perform(
            lambda: services.set_signer(
                unit, form.signer_name.data, form.signer_title.data, current_user
            ),
            _("The signer was saved."),
        )
    else:
        flash(_("A name or title is too long."), "error")
    return redirect(url_for("accounts.unit", unit_id=unit_id))


@bp.route("/admin/units/<int:unit_id>/move", methods=["POST"])
@access(Access.ADMIN)
def unit_move(unit_id: int):
    """Move a unit and everything below it."""
    unit = _unit_or_404(unit_id)
    form = MoveUnitForm()
    form.parent_id.choices = _unit_choices(services.units_in_scope(current_user), blank="-")
    if form.validate_on_submit():
        parent = _unit_or_404(form.parent_id.data) if form.parent_id.data else None
        perform(
            lambda: services.move_unit(unit, parent, current_user), _("The unit has been moved.")
        )
    return redirect(url_for("accounts.unit", unit_id=unit_id))


@bp.route("/admin/units/<int:unit_id>/merge", methods=["POST"])
@access(Access.ADMIN)
def unit_merge(unit_id: int):
    """Merge a unit into another."""
    unit = _unit_or_404(unit_id)
    form = MergeUnitForm()
    form.target_id.choices = _unit_choices(services.units_in_scope(current_user), blank="-")
    if form.validate_on_submit():
        target = _unit_or_404(form.target_id.data)
        merged = perform(
            lambda: services.merge_unit(unit, target, current_user, form.reason.data or ""),
            _("%(source)s has been merged into %(target)s.", source=unit.name, target=target.name),
        )
        if merged:
            return redirect(url_for("accounts.unit", unit_id=target.id))
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    return redirect(url_for("accounts.unit", unit_id=unit_id))
