"""The moderator's facilitation tools on the dashboard: timer, announcements, lock,
projector and dot voting. Each answers the dashboard's fetch with JSON and a plain
form post with a redirect (see dashboard_actions.done).

A blueprint nested in moderate's: its moderator check and error handlers apply here too."""

from flask import Blueprint, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from roadmap.domain import timeline
from roadmap.models import Training
from roadmap.models.training import GROUP_PROJECTOR_MODES, PROJECTOR_MODES
from roadmap.services import dashboard, facilitation, snapshots, voting
from roadmap.services.voting import MAX_DOTS, MAX_VOTE_MINUTES
from roadmap.timeutil import local_today
from roadmap.views.dashboard_actions import done, failed, own_training, submitted
from roadmap.views.map_view import map_view_context
from roadmap.views.redirects import venue_origin
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("facilitate", __name__, url_prefix="/trainings/<int:training_id>")
EVERY_GROUP = ""
# "add-1" and "add-5" are the dashboard's buttons: the minutes ride in the action, so they work without JS.
TIMER_ACTIONS = ("start", "pause", "resume", "add", "add-1", "add-5", "stop", "clear")


class ScopedForm(FlaskForm):
    """A tool aimed at every group or one of them."""

    group_id = SelectField(_l("For"), validators=[Optional()])

    def aim_at(self, training: Training) -> "ScopedForm":
        self.group_id.choices = [SelectChoice(EVERY_GROUP, _("All groups"))] + [
            SelectChoice(str(group.id), group.name) for group in training.active_groups
        ]
        return self

    @property
    def group(self) -> int | None:
        return int(self.group_id.data) if self.group_id.data else None


class TimerForm(ScopedForm):
    action = SelectField(choices=[SelectChoice(action, action) for action in TIMER_ACTIONS])
    minutes = IntegerField(_l("Minutes"), validators=[Optional(), NumberRange(1, 240)], default=20)
    label = StringField(_l("Task"), validators=[Optional(), Length(max=200), NoControlCharacters()])


class AnnouncementForm(ScopedForm):
    text = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=facilitation.MAX_ANNOUNCEMENT_LENGTH), NoControlCharacters()],
    )


class LockForm(ScopedForm):
    locked = SelectField(choices=[SelectChoice("1", "1"), SelectChoice("0", "0")])


class ProjectorForm(ScopedForm):
    # A form that names only a group (the dashboard's «На проектор» before modes) projects its map.
    mode = SelectField(choices=[SelectChoice(mode, mode) for mode in PROJECTOR_MODES], default="map")


class VoteForm(ScopedForm):
    question = StringField(_l("Question"), validators=[Optional(), Length(max=200), NoControlCharacters()])
    dots = IntegerField(_l("Dots per person"), validators=[DataRequired(), NumberRange(1, MAX_DOTS)], default=3)
    minutes = IntegerField(_l("Time limit, minutes"), validators=[Optional(), NumberRange(1, MAX_VOTE_MINUTES)])
    hide_results = BooleanField(_l("Hide results until I close the vote"), default=True)


class CloseVoteForm(FlaskForm):
    pass


class ClearVoteForm(FlaskForm):
    pass


def forms_for(training: Training) -> dict:
    return {
        "timer": TimerForm(prefix="timer").aim_at(training),
        "announcement": AnnouncementForm(prefix="announcement").aim_at(training),
        "lock": LockForm(prefix="lock").aim_at(training),
        "projector": ProjectorForm(prefix="projector").aim_at(training),
        "vote": VoteForm(prefix="vote").aim_at(training),
        "close_vote": CloseVoteForm(prefix="close_vote"),
        "clear_vote": ClearVoteForm(prefix="clear_vote"),
    }


@bp.post("/timer")
def timer(training_id: int):
    training = own_training(training_id)
    form = submitted(TimerForm(prefix="timer").aim_at(training), training)
    action, scope = form.action.data, form.group
    if action == "start":
        facilitation.start_timer(training, (form.minutes.data or 20) * 60, form.label.data or "", scope)
        message = _("Timer started.")
    elif action == "pause":
        facilitation.pause_timer(training, scope)
        message = _("Timer paused.")
    elif action == "resume":
        facilitation.resume_timer(training, scope)
        message = _("Timer running again.")
    elif action.startswith("add"):
        minutes = int(action.removeprefix("add-")) if action != "add" else (form.minutes.data or 1)
        facilitation.add_time(training, minutes * 60, scope)
        message = _("Time added.")
    elif action == "clear":
        facilitation.clear_timer(training, scope)
        message = _("Timer cleared.")
    else:
        facilitation.stop_timer(training, scope)
        message = _("Timer stopped.")
    return done(
        training, message, timer=facilitation.timer_data(facilitation.current_timer(training.id, scope)), group_id=scope
    )


@bp.post("/announcements")
def announce(training_id: int):
    training = own_training(training_id)
    form = submitted(AnnouncementForm(prefix="announcement").aim_at(training), training)
    announcement = facilitation.announce(training, current_user, form.text.data, form.group)
    return done(training, _("Announcement sent."), announcement=facilitation.announcement_data(announcement))


@bp.post("/lock")
def lock(training_id: int):
    training = own_training(training_id)
    form = submitted(LockForm(prefix="lock").aim_at(training), training)
    locked = form.locked.data == "1"
    facilitation.set_locked(training, current_user, locked, form.group)
    if form.group is None:
        message = _("All maps locked.") if locked else _("All maps unlocked.")
    else:
        message = _("Map locked.") if locked else _("Map unlocked.")
    return done(training, message)


PROJECTED_MESSAGES = {
    "join": _l("The projector shows the join screen."),
    "map": _l("The projector shows the chosen map."),
    "grid": _l("The projector shows the chosen group's stakeholders by influence and interest."),
    "timeline": _l("The projector shows the chosen group's timeline."),
    "overview": _l("The projector shows every group."),
    "votes": _l("The projector shows the vote results."),
}


@bp.post("/projector")
def project(training_id: int):
    training = own_training(training_id)
    form = submitted(ProjectorForm(prefix="projector").aim_at(training), training)
    facilitation.project(training, form.mode.data, form.group)
    projector = facilitation.projector_data(training)
    return done(training, str(PROJECTED_MESSAGES[projector["mode"]]), projector=projector)


@bp.get("/projector")
def projector(training_id: int):
    """Full-screen, read-only, large type: what the moderator picked, following their choice live."""
    training = own_training(training_id)
    return render_template("moderate/projector.html", training=training, **_projector_screen(training))


@bp.get("/projector/screen")
def projector_screen(training_id: int):
    """The projected screen alone, fetched again whenever it or the choice changes."""
    training = own_training(training_id)
    return render_template("moderate/_projector_screen.html", training=training, **_projector_screen(training))


def _projector_screen(training: Training) -> dict:
    """What the projector's current mode shows."""
    mode = training.projector_mode
    vote = voting.public_data(voting.current_vote(training.id))
    screen = {"mode": mode, "group": None, "map_data": None, "vote": vote}
    if mode == "join":
        # Typed on a phone: the start page asks for the code shown beside it.
        screen["join_address"] = venue_origin().origin + "/"
    elif mode == "overview":
        screen["summaries"] = dashboard.training_summaries(training)
    elif mode in GROUP_PROJECTOR_MODES:
        group = next((g for g in training.active_groups if g.id == training.projected_group_id), None)
        if group is not None:
            screen.update(map_view_context(group, snapshots.snapshot(group.roadmap), vote=vote))
            if mode == "timeline":
                screen["timeline"] = timeline.lay_out(screen["map_data"]["steps"], local_today(training.timezone))
    return screen


@bp.post("/votes")
def open_vote(training_id: int):
    training = own_training(training_id)
    form = submitted(VoteForm(prefix="vote").aim_at(training), training)
    roadmap_id = next(g.roadmap.id for g in training.active_groups if g.id == form.group) if form.group else None
    vote = voting.open_vote(
        training,
        form.dots.data,
        roadmap_id=roadmap_id,
        minutes=form.minutes.data,
        hide_results=form.hide_results.data,
        question=form.question.data or "",
    )
    return done(training, _("Voting is open."), vote=voting.public_data(vote))


@bp.post("/votes/close")
def close_vote(training_id: int):
    return _act_on_shown_vote(
        training_id,
        CloseVoteForm(prefix="close_vote"),
        voting.close_vote,
        _("Voting closed; the results are shown."),
        _("No vote is open."),
    )


@bp.post("/votes/clear")
def clear_vote(training_id: int):
    """Take the shown vote off the editors and the projector; its dots stay on record."""
    return _act_on_shown_vote(
        training_id,
        ClearVoteForm(prefix="clear_vote"),
        voting.clear_vote,
        _("The vote is cleared from the screens."),
        _("There is no vote to clear."),
    )


def _act_on_shown_vote(training_id: int, form: FlaskForm, act, message: str, when_none: str):
    training = own_training(training_id)
    submitted(form, training)
    vote = voting.current_vote(training.id)
    if vote is None:
        return failed(training, when_none)
    act(vote)
    return done(training, message, vote=voting.public_data(voting.current_vote(training.id)))
