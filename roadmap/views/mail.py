"""Mail a person receives: their settings, the unsubscribe link in every mail, and the moderator's
view of who in each group receives reminders."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from roadmap.extensions import csrf, db
from roadmap.models import Person
from roadmap.services import mail, reminders
from roadmap.views.dashboard_actions import own_training
from roadmap.views.moderate import TIME_ZONES, WEEKDAYS

bp = Blueprint("mail", __name__)
MAIL_LANGUAGES = (("ru", "Русский"), ("en", "English"))


class MailSettingsForm(FlaskForm):
    kinds = SelectMultipleField(
        _l("Send me"),
        choices=[SelectChoice(kind, _l(label)) for kind, label in mail.OPTIONAL_KINDS.items()],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    language = SelectField(
        _l("Language of my mails"), choices=[SelectChoice(code, name) for code, name in MAIL_LANGUAGES]
    )


@bp.route("/account/mail", methods=["GET", "POST"])
@login_required
def settings():
    """Which mail I get, and in which language; password resets are always sent."""
    form = MailSettingsForm(
        data={
            "kinds": [kind for kind in mail.OPTIONAL_KINDS if kind not in mail.switched_off(current_user.id)],
            "language": current_user.locale or "ru",
        }
    )
    if form.validate_on_submit():
        mail.choose(current_user.id, set(form.kinds.data or ()), form.language.data)
        flash(_("Saved."), "success")
        return redirect(url_for("mail.settings"))
    return render_template("alumni/mail_settings.html", form=form)


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
# RFC 8058: a mail client posts "List-Unsubscribe=One-Click" with no session; the signed token is the credential.
@csrf.exempt
def unsubscribe(token: str):
    """GET asks (link scanners open links and must not unsubscribe anyone); POST switches the kind off."""
    found = mail.read_unsubscribe_token(token)
    person = db.session.get(Person, found[0]) if found else None
    if person is None:
        return render_template("mail/unsubscribe.html", state="invalid"), 404
    kind = found[1]
    if request.method == "POST":
        mail.switch_off(person.id, kind)
    state = "done" if request.method == "POST" else "confirm"
    return render_template(
        "mail/unsubscribe.html",
        state=state,
        kind_label=_(mail.OPTIONAL_KINDS[kind]),
        address=_masked(person.email or ""),
    )


@bp.get("/moderate/trainings/<int:training_id>/reminders")
@login_required
def recipients(training_id: int):
    """Per group: who receives the digest and reminders, who switched them off, who has no e-mail yet."""
    if not current_user.is_moderator:
        abort(403)
    training = own_training(training_id)
    return render_template(
        "moderate/reminders.html",
        training=training,
        groups=reminders.recipients_by_group(training),
        weekday=WEEKDAYS[training.digest_weekday],
        zone=dict(TIME_ZONES).get(training.timezone, training.timezone),
        kind_count=len(mail.OPTIONAL_KINDS),
        switched_off_labels=_kind_labels,
    )


def _kind_labels(kinds: tuple[str, ...]) -> str:
    return "; ".join(_(mail.OPTIONAL_KINDS[kind]) for kind in kinds)


def _masked(address: str) -> str:
    """a•••@example.org: enough to recognise one's own address, not to read a stranger's."""
    name, _at, domain = address.partition("@")
    return f"{name[:1]}•••@{domain}" if domain else ""
