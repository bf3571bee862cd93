"""Sign-in (moderators, and alumni who kept their access), a forgotten password, carrying a
sign-in to another device, sign-out (and forgetting a shared device) and the first-run setup page."""

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from roadmap.security import clear_site_data
from roadmap.services import accounts, identities, password_reset
from roadmap.views import limits, signing_in
from roadmap.views.redirects import public_url, safe_next
from roadmap.views.validators import NoControlCharacters, StrongPassword

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), NoControlCharacters()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SetupForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), NoControlCharacters()],
    )
    password = PasswordField(
        _l("Password (at least 10 characters)"), validators=[DataRequired(), Length(max=200), StrongPassword()]
    )
    confirm = PasswordField(
        _l("Repeat the password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), NoControlCharacters()])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password (at least 10 characters)"), validators=[DataRequired(), Length(max=200), StrongPassword()]
    )
    confirm = PasswordField(
        _l("Repeat the password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class SignOutForm(FlaskForm):
    # Set by «Забыть это устройство»: the page's script has dropped this person's local data.
    forget = HiddenField(validators=[Optional(), Length(max=1), NoControlCharacters()])


class SignOutEverywhereForm(FlaskForm):
    pass


class ShowDeviceCodeForm(FlaskForm):
    pass


class DeviceCodeForm(FlaskForm):
    code = StringField(
        _l("Code from your other device"), validators=[DataRequired(), Length(max=20), NoControlCharacters()]
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limits.tries_a_secret
@limits.tries_a_password
def sign_in():
    if not accounts.moderator_exists():
        return redirect(url_for("auth.setup"))
    form = SignInForm()
    if form.validate_on_submit():
        person = accounts.authenticate(form.email.data, form.password.data)
        if person is None:
            form.password.errors.append(_("Wrong e-mail or password."))
        else:
            signing_in.sign_in(person)
            home = url_for("moderate.trainings") if person.is_moderator else url_for("alumni.my_maps")
            return redirect(safe_next(request.args.get("next")) or home)
    return render_template("auth/sign_in.html", form=form)


@bp.route("/setup", methods=["GET", "POST"])
@limits.tries_a_password
def setup():
    """Create the first moderator; gone once one exists."""
    if accounts.moderator_exists():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            person = accounts.create_moderator(form.email.data, form.password.data, form.display_name.data)
        except accounts.AccountError:
            form.email.errors.append(_("This e-mail is already registered."))
        else:
            signing_in.sign_in(person)
            flash(_("Welcome! Create your first training."), "success")
            return redirect(url_for("moderate.trainings"))
    return render_template("auth/setup.html", form=form)


@bp.post("/sign-out")
def sign_out():
    """Sign out of this browser: the session and the remember cookie both go, and the browser
    is told to drop its caches and storage (the service worker's copies of maps among them).

    «Забыть это устройство» also forgets the chosen language, so nothing of the person stays."""
    forget = SignOutForm().forget.data == "1"
    signing_in.sign_out(forget_language=forget)
    if forget:
        flash(_("Signed out. This device no longer keeps anything of yours."), "success")
    return clear_site_data(redirect(url_for("main.start")))


@bp.post("/sign-out/everywhere")
@login_required
def sign_out_everywhere():
    """«Выйти на всех устройствах»: every session, remember cookie, API token and open live
    connection of this person stops working, on every device."""
    if not SignOutEverywhereForm().validate_on_submit():
        abort(400)
    accounts.sign_out_everywhere(current_user._get_current_object())
    signing_in.sign_out()
    flash(_("Signed out on every device. Sign in again where you need to."), "success")
    return clear_site_data(redirect(url_for("main.start")))


@bp.get("/forget-device")
def forget_device():
    """«Забыть это устройство» on a shared computer: a script drops the person's offline data
    (after a warning if some edits are not sent yet), then signs out."""
    return render_template("auth/forget_device.html", form=SignOutForm(forget="1"))


# --- a forgotten password --------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@limits.tries_a_secret
@limits.asks_for_a_reset
@limits.asks_for_a_reset_of_this_address
def forgot_password():
    """The same answer whether or not the address is registered: nobody learns who has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_reset(
            form.email.data, lambda token: public_url("auth.reset_password", reset_token=token)
        )
        return render_template("auth/reset_sent.html", email=form.email.data.strip())
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<reset_token>", methods=["GET", "POST"])
def reset_password(reset_token: str):
    """Set a new password from the mailed link; that signs in. Opening the link spends nothing."""
    if password_reset.reset_link(reset_token) is None:
        return render_template("auth/reset_spent.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            person = password_reset.set_new_password(reset_token, form.password.data)
        except password_reset.ResetError:
            return render_template("auth/reset_spent.html"), 404
        signing_in.sign_in(accounts.signed_in_as(person))
        flash(_("Your new password is saved, and you are signed in."), "success")
        return redirect(url_for("moderate.trainings") if person.is_moderator else url_for("alumni.my_maps"))
    return render_template("auth/reset_password.html", form=form)


# --- another device ------------------------------------------------------------


@bp.route("/device", methods=["GET", "POST"])
@login_required
def show_device_code():
    """«Войти с другого устройства»: a code and its QR that sign in as me elsewhere, once, for ten minutes."""
    if current_user.is_moderator:
        abort(404)  # moderators sign in with their password anywhere
    form = ShowDeviceCodeForm()
    back = _latest_map(current_user)
    if not form.validate_on_submit():
        return render_template("auth/device.html", form=form, code=None, back=back)
    code = identities.grouped(identities.issue_device_code(current_user._get_current_object()))
    link = public_url("auth.continue_on_device", code=code)
    return render_template(
        "auth/device.html",
        form=form,
        code=code,
        link=link,
        back=back,
        qr=segno.make(link, error="m").svg_data_uri(scale=6, border=2, dark="#1b1f24"),
        minutes=identities.DEVICE_CODE_MINUTES,
    )


@bp.route("/device/continue", methods=["GET", "POST"])
@limits.tries_a_secret
@limits.tries_a_device_code
def continue_on_device():
    """The new device: the code signs it in as the same person; a button spends it, so link previews do not."""
    form = DeviceCodeForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:20]
    if not form.validate_on_submit():
        return render_template("auth/continue_on_device.html", form=form)
    person = identities.use_device_code(form.code.data)
    if person is None:
        form.code.errors.append(
            _(
                "This code does not work: it was used already, has expired or has a typo. "
                "Show a new one on your other device."
            )
        )
        return render_template("auth/continue_on_device.html", form=form), 404
    signing_in.sign_in(person)
    session.permanent = True
    flash(_("You are signed in as %(name)s, as on your other device.", name=person.display_name), "success")
    return redirect(_latest_map(person))


def _latest_map(person) -> str:
    memberships = [membership for membership in person.memberships if not membership.group.archived]
    if not memberships:
        return url_for("alumni.my_maps")
    latest = max(memberships, key=lambda membership: membership.joined_at)
    return url_for("editor.edit", roadmap_id=latest.group.roadmap.id)
