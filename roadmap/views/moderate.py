"""Moderators: trainings, the live dashboard, working groups and their members."""

import io
from datetime import timedelta

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from roadmap.domain.errors import EditRejected
from roadmap.domain.readiness import LABELS as READINESS_LABELS
from roadmap.domain.vocabulary import THEMES
from roadmap.extensions import db
from roadmap.models import Group, Membership, Person, Training
from roadmap.services import (
    baselines,
    dashboard,
    facilitation,
    identities,
    map_templates,
    sign_in_links,
    trainings,
    voting,
)
from roadmap.timeutil import local, utcnow
from roadmap.views import facilitate
from roadmap.views.dashboard_actions import FormRejected, done, failed, own_training, submitted, wants_json
from roadmap.views.redirects import public_url, venue_origin
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("moderate", __name__, url_prefix="/moderate")
bp.register_blueprint(facilitate.bp)
BLANK_TEMPLATE = ""
JOIN_ERRORS = {
    "group_not_found": _l("This group is not open for joining."),
    "name_required": _l("Please enter a name."),
    "invalid_value": _l("The name has control characters. Remove them."),
}


class TrainingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200), NoControlCharacters()])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=120), NoControlCharacters()])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first."))


# The zones of Russia by a city in each, then UTC; a training elsewhere picks UTC or asks for its zone.
TIME_ZONES = (
    ("Europe/Kaliningrad", _l("Kaliningrad (UTC+2)")),
    ("Europe/Moscow", _l("Moscow, Vologda (UTC+3)")),
    ("Europe/Samara", _l("Samara (UTC+4)")),
    ("Asia/Yekaterinburg", _l("Yekaterinburg (UTC+5)")),
    ("Asia/Omsk", _l("Omsk (UTC+6)")),
    ("Asia/Novosibirsk", _l("Novosibirsk (UTC+7)")),
    ("Asia/Krasnoyarsk", _l("Krasnoyarsk (UTC+7)")),
    ("Asia/Irkutsk", _l("Irkutsk (UTC+8)")),
    ("Asia/Yakutsk", _l("Yakutsk (UTC+9)")),
    ("Asia/Vladivostok", _l("Vladivostok (UTC+10)")),
    ("Asia/Magadan", _l("Magadan (UTC+11)")),
    ("Asia/Kamchatka", _l("Kamchatka (UTC+12)")),
    ("UTC", "UTC"),
)
WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))


class TrainingSettingsForm(FlaskForm):
    """The training's time zone and when its weekly digest goes out."""

    timezone = SelectField(_l("Time zone"), choices=[SelectChoice(zone, label) for zone, label in TIME_ZONES])
    digest_weekday = SelectField(
        _l("Weekly digest on"), coerce=int, choices=[SelectChoice(day, label) for day, label in enumerate(WEEKDAYS)]
    )
    digest_hour = SelectField(
        _l("at"), coerce=int, choices=[SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]
    )


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120), NoControlCharacters()])
    theme = SelectField(_l("Theme"), choices=[SelectChoice(key, _l(label)) for key, label in THEMES.items()])
    template = SelectField(_l("Start the map from"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.template.choices = [SelectChoice(BLANK_TEMPLATE, _("A blank map"))] + [
            SelectChoice(key, _("Template: %(name)s", name=name))
            for key, name in map_templates.choices(str(get_locale()))
        ]


class RenameGroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120), NoControlCharacters()])


class ArchiveGroupForm(FlaskForm):
    archived = SelectField(choices=[SelectChoice("1", "1"), SelectChoice("0", "0")])


class MoveMemberForm(FlaskForm):
    to_group_id = SelectField(_l("Move to"), coerce=int)


class RemoveMemberForm(FlaskForm):
    block = BooleanField(_l("Don't let them back in with the code"))


class AllowRejoiningForm(FlaskForm):
    pass


class JoinCodeForm(FlaskForm):
    pass


class JoiningForm(FlaskForm):
    joining_open = SelectField(choices=[SelectChoice("1", "1"), SelectChoice("0", "0")])


class MergeMemberForm(FlaskForm):
    duplicate_person_id = SelectField(_l("Merge with"), coerce=int)


MERGE_ERRORS = {
    "same_person": _l("Pick another member: a person cannot be merged with themselves."),
    "not_allowed": _l(
        "One of the two also belongs to another moderator's training, or is a moderator: they cannot be merged here."
    ),
    "both_secured": _l("Both have an e-mail and a password: ask the person which one they keep and to use only it."),
    "map_locked": _l("A step of theirs is in a locked map. Unlock it first, then merge."),
}


class EndTrainingForm(FlaskForm):
    pass


class CoModeratorForm(FlaskForm):
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254), NoControlCharacters()],
    )
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=80), NoControlCharacters()])


class RemoveCoModeratorForm(FlaskForm):
    pass


CO_MODERATOR_ERRORS = {
    "participant_email": _l("This e-mail belongs to a participant's account. Use another e-mail for the co-moderator."),
    "already_moderator": _l("This person already runs this training."),
    "name_has_control_characters": _l("Remove the control characters from this text."),
}


class SignInLinkForm(FlaskForm):
    pass


@bp.before_request
@login_required
def require_moderator():
    if not current_user.is_moderator:
        abort(403)


@bp.route("/", methods=["GET", "POST"], endpoint="trainings")
def trainings_page():
    """The moderator's home: their trainings and a form for a new one."""
    form = TrainingForm()
    if form.validate_on_submit():
        training = trainings.create_training(
            current_user,
            form.title.data,
            form.city.data,
            form.venue.data or "",
            form.starts_on.data,
            form.ends_on.data,
        )
        flash(_("Training created. Now add its working groups."), "success")
        return redirect(url_for("moderate.training", training_id=training.id))
    return render_template("moderate/trainings.html", form=form, trainings=trainings.trainings_of(current_user))


@bp.route("/trainings/<int:training_id>", methods=["GET", "POST"])
def training(training_id: int):
    """The dashboard: every group live, the join code, and the facilitation tools."""
    training = own_training(training_id)
    form = GroupForm()
    if form.validate_on_submit():
        template_key = form.template.data or BLANK_TEMPLATE
        theme = map_templates.theme_of(template_key) if template_key else form.theme.data
        group = trainings.create_group(training, form.name.data, theme)
        if template_key:
            map_templates.fill(group, current_user, template_key, str(get_locale()))
        flash(_("Group added."), "success")
        return redirect(url_for("moderate.training", training_id=training.id))
    origin = venue_origin()
    return render_template(
        "moderate/dashboard.html",
        training=training,
        form=form,
        summaries=dashboard.training_summaries(training),
        archived_groups=[group for group in training.groups if group.archived],
        timer=facilitation.timer_data(facilitation.current_timer(training.id, None)),
        group_timers=facilitation.group_timers(training),
        vote=voting.public_data(voting.current_vote(training.id)),
        announcements=facilitation.announcements_log(training.id),
        readiness_labels={code: _(label) for code, label in READINESS_LABELS.items()},
        projector=facilitation.projector_data(training),
        join_url=join_url(training),
        join_reachable=origin.reachable_from_phones,
        server_now=facilitation.iso(utcnow()),
        end_form=EndTrainingForm(),
        settings_form=TrainingSettingsForm(obj=training),
        join_code_form=JoinCodeForm(),
        joining_form=JoiningForm(),
        **_group_management_forms(training),
        co_moderator_form=CoModeratorForm(),
        remove_co_moderator_form=RemoveCoModeratorForm(),
        tool_forms=facilitate.forms_for(training),
    )


def _group_management_forms(training: Training) -> dict:
    """The forms of «Управление группами»; each renders its CSRF token, also in the re-fetched section."""
    return {
        "rename_form": RenameGroupForm(),
        "archive_form": ArchiveGroupForm(),
        "move_form": MoveMemberForm(),
        "remove_form": RemoveMemberForm(),
        "merge_form": MergeMemberForm(),
        "link_form": SignInLinkForm(),
        "sign_in_link_days": sign_in_links.sign_in_link_days(),
        "blocked_people": trainings.blocked_people(training),
        "allow_form": AllowRejoiningForm(),
    }


@bp.get("/trainings/<int:training_id>/groups")
def group_management(training_id: int):
    """«Управление группами» as it stands now: the dashboard re-fetches it when membership changes."""
    training = own_training(training_id)
    return render_template("moderate/_group_management.html", training=training, **_group_management_forms(training))


def join_url(training: Training) -> str:
    """The link in the QR code."""
    return public_url("main.start", code=training.join_code)


@bp.get("/trainings/<int:training_id>/qr.svg")
def join_qr(training_id: int):
    training = own_training(training_id)
    buffer = io.BytesIO()
    segno.make(join_url(training), error="m").save(buffer, kind="svg", scale=10, border=2, dark="#1b1f24")
    return Response(buffer.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


# --- groups and members ------------------------------------------------------


def _own_group(group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None:
        abort(404)
    own_training(group.training_id)
    return group


def _own_membership(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None:
        abort(404)
    own_training(membership.group.training_id)
    return membership


@bp.post("/groups/<int:group_id>/rename")
def rename_group(group_id: int):
    group = _own_group(group_id)
    form = submitted(RenameGroupForm(), group.training)
    try:
        trainings.rename_group(group, form.name.data)
    except trainings.JoinError as error:
        return failed(group.training, str(JOIN_ERRORS[error.code]))
    return done(group.training, _("Group renamed."))


@bp.post("/groups/<int:group_id>/archive")
def archive_group(group_id: int):
    group = _own_group(group_id)
    form = submitted(ArchiveGroupForm(), group.training)
    archived = form.archived.data == "1"
    trainings.set_archived(group, archived)
    return done(group.training, _("Group archived.") if archived else _("Group restored."))


@bp.post("/memberships/<int:membership_id>/move")
def move_member(membership_id: int):
    membership = _own_membership(membership_id)
    training = membership.group.training
    form = MoveMemberForm()
    form.to_group_id.choices = [SelectChoice(group.id, group.name) for group in training.active_groups]
    submitted(form, training)
    name = membership.person.display_name
    try:
        moved = trainings.move_member(membership, db.session.get(Group, form.to_group_id.data))
    except trainings.JoinError as error:
        return failed(training, str(JOIN_ERRORS[error.code]))
    return done(training, _("%(name)s moved to %(group)s.", name=name, group=moved.group.name))


@bp.post("/memberships/<int:membership_id>/remove")
def remove_member(membership_id: int):
    membership = _own_membership(membership_id)
    training = membership.group.training
    form = submitted(RemoveMemberForm(), training)
    name = membership.person.display_name
    if not form.block.data:
        trainings.remove_member(membership)
        return done(training, _("%(name)s removed from the group.", name=name))
    trainings.remove_member(membership, blocked_by=current_user._get_current_object())
    return done(training, _("%(name)s removed from the group and cannot join again with the code.", name=name))


@bp.post("/trainings/<int:training_id>/blocked/<int:person_id>/allow")
def allow_rejoining(training_id: int, person_id: int):
    """«Разрешить снова»: a removed person may join with the code again."""
    training = own_training(training_id)
    submitted(AllowRejoiningForm(), training)
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    trainings.allow_rejoining(training, person.id)
    return done(training, _("%(name)s can join again with the code.", name=person.display_name))


@bp.post("/trainings/<int:training_id>/join-code")
def renew_join_code(training_id: int):
    """A new code when the old one got out; people already in groups stay."""
    training = own_training(training_id)
    submitted(JoinCodeForm(), training)
    code = trainings.renew_join_code(training)
    return done(training, _("The new join code is %(code)s. The old one no longer works.", code=code), join_code=code)


@bp.post("/trainings/<int:training_id>/joining")
def set_joining(training_id: int):
    """Close joining once the groups are formed, or open it again."""
    training = own_training(training_id)
    form = submitted(JoiningForm(), training)
    joining_open = form.joining_open.data == "1"
    trainings.set_joining_open(training, joining_open)
    return done(
        training,
        _("Joining is open again.")
        if joining_open
        else _("Joining is closed: the code lets nobody in until you open it again."),
    )


@bp.post("/memberships/<int:membership_id>/merge")
def merge_member(membership_id: int):
    """«Объединить с…»: another member of the group is this member on a second device; fold them in here."""
    membership = _own_membership(membership_id)
    training = membership.group.training
    form = MergeMemberForm()
    form.duplicate_person_id.choices = [
        SelectChoice(other.person_id, other.person.display_name)
        for other in membership.group.memberships
        if other.id != membership.id
    ]
    submitted(form, training)
    kept, duplicate = membership.person, db.session.get(Person, form.duplicate_person_id.data)
    try:
        identities.merge_people(duplicate, kept, current_user._get_current_object())
    except identities.MergeRefused as refused:
        return failed(training, str(MERGE_ERRORS[refused.code]))
    return done(
        training,
        _("Merged: %(name)s is one person again, with all their steps, dots and devices.", name=kept.display_name),
    )


@bp.post("/trainings/<int:training_id>/end")
def end_training(training_id: int):
    """Freeze every map as its baseline; groups keep editing afterwards."""
    training = own_training(training_id)
    submitted(EndTrainingForm(), training)
    baselines.end_training(training)
    return done(
        training, _("The training is over: each map's state is saved as its baseline. Groups can keep working.")
    )


@bp.post("/trainings/<int:training_id>/settings")
def training_settings(training_id: int):
    """The time zone every date is shown in, and the weekly digest's day and hour."""
    training = own_training(training_id)
    form = submitted(TrainingSettingsForm(), training)
    trainings.update_settings(training, form.timezone.data, form.digest_weekday.data, form.digest_hour.data)
    return done(
        training,
        _(
            "Saved: times in %(zone)s, the digest on %(day)s at %(hour)02d:00.",
            zone=training.timezone,
            day=WEEKDAYS[training.digest_weekday],
            hour=training.digest_hour,
        ),
    )


@bp.post("/memberships/<int:membership_id>/link")
def sign_in_link(membership_id: int):
    """A personal, single-use link for a participant who never set a password."""
    membership = _own_membership(membership_id)
    training = membership.group.training
    submitted(SignInLinkForm(), training)
    if not sign_in_links.may_get_sign_in_link(membership.person, current_user):
        return failed(
            training,
            _(
                "%(name)s already signs in with a password, or belongs to another moderator's "
                "training too: ask them to sign in themselves.",
                name=membership.person.display_name,
            ),
        )
    token = sign_in_links.issue_sign_in_link(membership.person, current_user)
    url = url_for("alumni.use_sign_in_link", link_token=token, _external=True)
    return shown_link(
        training,
        membership.person,
        url,
        _(
            "Personal sign-in link for %(name)s (works once, for %(days)s days): %(url)s",
            name=membership.person.display_name,
            days=sign_in_links.sign_in_link_days(),
            url=url,
        ),
    )


def shown_link(training: Training, person, url: str, message: str):
    """A link that signs someone in: in the script's answer, or on a page of its own without
    JavaScript; never in a flash, which would keep it in the session cookie."""
    if wants_json():
        return jsonify({"ok": True, "message": message, "url": url})
    return render_template(
        "moderate/sign_in_link.html", training=training, name=person.display_name, message=message, url=url
    )


@bp.post("/groups/<int:group_id>/sign-in-sheet")
def sign_in_sheet(group_id: int):
    """A printable A4 sheet for the last day: a fresh personal link, with its QR code, for each member
    without a password. Printing it again re-issues every link, and the earlier ones stop working."""
    group = _own_group(group_id)
    submitted(SignInLinkForm(), group.training)
    cards = []
    for card in sign_in_links.issue_group_sheet(group, current_user._get_current_object()):
        link = public_url("alumni.use_sign_in_link", link_token=card.token) if card.token else None
        cards.append(
            {
                "name": card.person.display_name,
                "skipped": card.skipped,
                "link": link,
                "qr": segno.make(link, error="m").svg_data_uri(scale=4, border=2) if link else None,
            }
        )
    days = sign_in_links.sign_in_link_days()
    valid_until = local(utcnow() + timedelta(days=days), group.training.timezone).date()
    return render_template(
        "moderate/sign_in_sheet.html",
        group=group,
        training=group.training,
        cards=cards,
        days=days,
        valid_until=valid_until,
    )


# --- co-moderators -----------------------------------------------------------------


@bp.post("/trainings/<int:training_id>/moderators")
def add_co_moderator(training_id: int):
    """Another moderator runs this training too; a new account gets a link to set its password."""
    training = own_training(training_id)
    form = submitted(CoModeratorForm(), training)
    try:
        person = trainings.add_co_moderator(training, current_user, form.email.data, form.display_name.data or "")
    except trainings.JoinError as error:
        return failed(training, str(CO_MODERATOR_ERRORS[error.code]))
    if person.password_hash:
        return done(training, _("%(name)s now runs this training too.", name=person.display_name))
    token = sign_in_links.issue_invitation_link(person, current_user)
    url = url_for("alumni.use_sign_in_link", link_token=token, _external=True)
    return shown_link(
        training,
        person,
        url,
        _(
            "%(name)s now runs this training too. Send them this link to sign in and set a password "
            "(works once, for %(days)s days): %(url)s",
            name=person.display_name,
            days=sign_in_links.sign_in_link_days(),
            url=url,
        ),
    )


@bp.post("/trainings/<int:training_id>/moderators/<int:person_id>/remove")
def remove_co_moderator(training_id: int, person_id: int):
    training = own_training(training_id)
    submitted(RemoveCoModeratorForm(), training)
    trainings.remove_co_moderator(training, person_id)
    return done(training, _("Co-moderator removed."))


@bp.errorhandler(FormRejected)
def form_rejected(error: FormRejected):
    return failed(error.training, error.message)


@bp.errorhandler(EditRejected)
def rejected(error: EditRejected):
    message = _(error.message)
    if wants_json():
        return jsonify({"ok": False, "message": message}), 400
    flash(message, "error")
    return redirect(request.referrer or url_for("moderate.trainings"))
