"""Sign-in (moderators, and alumni who kept their access), sign-out and the first-run setup page."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from roadmap.extensions import limiter
from roadmap.services import accounts
from roadmap.views.redirects import safe_next
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
