"""Sign-in (moderators, and alumni who kept their access), carrying a sign-in to another
device, sign-out and the first-run setup page."""
import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from roadmap.extensions import limiter
from roadmap.services import accounts, identities
from roadmap.views.redirects import public_url, safe_next
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254), NoControlCharacters()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SetupForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254),
                                                NoControlCharacters()])
    password = PasswordField(_l("Password (at least 10 characters)"), validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(_l("Repeat the password"), validators=[EqualTo("password", message=_l("Passwords differ."))])


class ShowDeviceCodeForm(FlaskForm):
    pass


class DeviceCodeForm(FlaskForm):
    code = StringField(_l("Code from your other device"), validators=[DataRequired(), Length(max=20),
                                                                      NoControlCharacters()])


def sign_in_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def sign_in():
    if not accounts.moderator_exists():
        return redirect(url_for("auth.setup"))
    form = SignInForm()
    if form.validate_on_submit():
        person = accounts.authenticate(form.email.data, form.password.data)
        if person is None:
            form.password.errors.append(_("Wrong e-mail or password."))
        else:
            login_user(person, remember=True)
            home = url_for("moderate.trainings") if person.is_moderator else url_for("afterwards.my_maps")
            return redirect(safe_next(request.args.get("next")) or home)
    return render_template("auth/sign_in.html", form=form)


@bp.route("/setup", methods=["GET", "POST"])
@limiter.limit(sign_in_limit, methods=["POST"])
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
            login_user(person, remember=True)
            flash(_("Welcome! Create your first training."), "success")
            return redirect(url_for("moderate.trainings"))
    return render_template("auth/setup.html", form=form)


@bp.post("/sign-out")
def sign_out():
    logout_user()
    return redirect(url_for("main.start"))


# --- another device ------------------------------------------------------------

def device_code_limit() -> str:
    return current_app.config["DEVICE_CODE_RATE_LIMIT"]


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
    return render_template("auth/device.html", form=form, code=code, link=link, back=back,
                           qr=segno.make(link, error="m").svg_data_uri(scale=6, border=2, dark="#1b1f24"),
                           minutes=identities.DEVICE_CODE_MINUTES)


@bp.route("/device/continue", methods=["GET", "POST"])
@limiter.limit(device_code_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def continue_on_device():
    """The new device: the code signs it in as the same person; a button spends it, so link previews do not."""
    form = DeviceCodeForm()
    if request.method == "GET" and request.args.get("code"):
        form.code.data = request.args["code"][:20]
    if not form.validate_on_submit():
        return render_template("auth/continue_on_device.html", form=form)
    person = identities.use_device_code(form.code.data)
    if person is None:
        form.code.errors.append(_("This code does not work: it was used already, has expired or has a typo. "
                                  "Show a new one on your other device."))
        return render_template("auth/continue_on_device.html", form=form), 404
    login_user(person, remember=True)
    session.permanent = True
    flash(_("You are signed in as %(name)s, as on your other device.", name=person.display_name), "success")
    return redirect(_latest_map(person))


def _latest_map(person) -> str:
    memberships = [membership for membership in person.memberships if not membership.group.archived]
    if not memberships:
        return url_for("afterwards.my_maps")
    latest = max(memberships, key=lambda membership: membership.joined_at)
    return url_for("editor.edit", roadmap_id=latest.group.roadmap.id)
