"""Who may do what: every HTTP route and every Socket.IO event, tried as every role.

RULES is the whole access policy in one table. The tests enumerate what the app
really registers (Flask's URL map; LiveNamespace's on_<event> methods), try each
one as each role against group A's map and training, and compare with the table:

- HTTP: allowed is a 2xx, or a redirect anywhere but the sign-in or start page;
  denied is a 401, 403 or 404, or a redirect to one of those two pages, which is
  where Flask-Login sends strangers. Pages sign in through the real join and
  sign-in forms; the JSON API gets bearer tokens.
- Socket.IO (a live server, real clients sending auth={"token": ...}): allowed is
  an ok ack; denied is a refused connection (no token) or an error ack coded
  forbidden, not_found, not_authenticated or unknown_event.
- An allowed request must change exactly what its ATTEMPTS entry names (the map
  revision, a count of trainings, ...); a denied one must change nothing.

A route or event with no rule in RULES fails these tests: declare who may use it.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import socketio
from conftest import ARTIFACTS, PASSWORD, make_moderator, new_id
from sqlalchemy import func, select

from roadmap.extensions import db
from roadmap.models import (
    Announcement,
    Baseline,
    Change,
    Dot,
    Group,
    JoinBlock,
    Membership,
    Mention,
    Person,
    Presence,
    Roadmap,
    ShareLink,
    SignInLink,
    Step,
    Timer,
    Training,
    TrainingModerator,
    Vote,
)
from roadmap.realtime.namespace import LiveNamespace
from roadmap.services import (
    accounts,
    editing,
    identities,
    mail,
    password_reset,
    share_links,
    sign_in_links,
    trainings,
    voting,
)
from roadmap.views.main import VENDOR_FILES

ANONYMOUS = "anonymous"
SAME_GROUP = "same_group"  # participant of group A, whose map is the target
OTHER_GROUP = "other_group"  # participant of group B, in the same training
OTHER_TRAINING = "other_training"  # participant of a group in another training
MODERATOR = "moderator"  # moderator of group A's training
OTHER_MODERATOR = "other_moderator"  # moderator of another training
ROLES = (ANONYMOUS, SAME_GROUP, OTHER_GROUP, OTHER_TRAINING, MODERATOR, OTHER_MODERATOR)

ALLOW, DENY, PUBLIC = "allow", "deny", "public"
ODD = "odd"  # neither allowed nor cleanly denied: a 400, a 500, a missing ack


def allow_only(*roles: str) -> dict[str, str]:
    return {role: ALLOW if role in roles else DENY for role in ROLES}


NOBODY = allow_only()
GROUP_A_MAP = allow_only(SAME_GROUP, MODERATOR)
ANYONE_SIGNED_IN = allow_only(*(role for role in ROLES if role != ANONYMOUS))

# The access policy. Keys: (endpoint, method) for HTTP, the event name for Socket.IO.
RULES: dict[tuple[str, str] | str, str | dict[str, str]] = {
    ("static", "GET"): PUBLIC,
    ("main.vendor", "GET"): PUBLIC,
    ("main.service_worker", "GET"): PUBLIC,
    ("main.health", "GET"): PUBLIC,
    ("main.set_language", "POST"): PUBLIC,
    # Anyone with the join code may join any active group of its training.
    ("main.start", "GET"): PUBLIC,
    ("main.start", "POST"): PUBLIC,
    ("main.pick_group", "GET"): PUBLIC,
    ("main.pick_group", "POST"): PUBLIC,
    ("api.join", "POST"): PUBLIC,
    ("auth.sign_in", "GET"): PUBLIC,
    ("auth.sign_in", "POST"): PUBLIC,
    ("auth.sign_out", "POST"): PUBLIC,
    ("auth.sign_out_everywhere", "POST"): ANYONE_SIGNED_IN,
    ("auth.forget_device", "GET"): PUBLIC,
    # «Забыли пароль?» answers everyone alike; the mailed link is the credential and works once:
    # the first browser (anonymous) spends it.
    ("auth.forgot_password", "GET"): PUBLIC,
    ("auth.forgot_password", "POST"): PUBLIC,
    ("auth.reset_password", "GET"): PUBLIC,
    ("auth.reset_password", "POST"): allow_only(ANONYMOUS),
    # First-run setup is gone once a moderator exists, as one does in every world here.
    ("auth.setup", "GET"): NOBODY,
    ("auth.setup", "POST"): NOBODY,
    ("moderate.trainings", "GET"): allow_only(MODERATOR, OTHER_MODERATOR),
    ("moderate.trainings", "POST"): allow_only(MODERATOR, OTHER_MODERATOR),
    ("moderate.training", "GET"): allow_only(MODERATOR),
    ("moderate.training", "POST"): allow_only(MODERATOR),
    # The dashboard and every facilitation tool are the training's moderator's alone.
    ("moderate.join_qr", "GET"): allow_only(MODERATOR),
    ("moderate.group_management", "GET"): allow_only(MODERATOR),
    ("moderate.rename_group", "POST"): allow_only(MODERATOR),
    ("moderate.archive_group", "POST"): allow_only(MODERATOR),
    ("moderate.move_member", "POST"): allow_only(MODERATOR),
    ("moderate.remove_member", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.timer", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.announce", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.lock", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.project", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.projector", "GET"): allow_only(MODERATOR),
    ("moderate.facilitate.projector_screen", "GET"): allow_only(MODERATOR),
    ("moderate.facilitate.open_vote", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.close_vote", "POST"): allow_only(MODERATOR),
    ("moderate.facilitate.clear_vote", "POST"): allow_only(MODERATOR),
    ("moderate.end_training", "POST"): allow_only(MODERATOR),
    ("moderate.training_settings", "POST"): allow_only(MODERATOR),
    ("moderate.sign_in_link", "POST"): allow_only(MODERATOR),
    ("moderate.sign_in_sheet", "POST"): allow_only(MODERATOR),
    ("moderate.add_co_moderator", "POST"): allow_only(MODERATOR),
    ("moderate.remove_co_moderator", "POST"): allow_only(MODERATOR),
    ("moderate.merge_member", "POST"): allow_only(MODERATOR),
    ("moderate.renew_join_code", "POST"): allow_only(MODERATOR),
    ("moderate.set_joining", "POST"): allow_only(MODERATOR),
    ("moderate.allow_rejoining", "POST"): allow_only(MODERATOR),
    # A participant shows a code for their other device; moderators sign in with their password anywhere.
    ("auth.show_device_code", "GET"): allow_only(SAME_GROUP, OTHER_GROUP, OTHER_TRAINING),
    ("auth.show_device_code", "POST"): allow_only(SAME_GROUP, OTHER_GROUP, OTHER_TRAINING),
    # The code is the credential and works once: the first browser (anonymous) spends it.
    ("auth.continue_on_device", "GET"): PUBLIC,
    ("auth.continue_on_device", "POST"): allow_only(ANONYMOUS),
    ("exports.import_map", "GET"): allow_only(MODERATOR),
    ("exports.import_map", "POST"): allow_only(MODERATOR),
    ("exports.import_template", "GET"): ANYONE_SIGNED_IN,  # an empty spreadsheet to fill in
    # After the training: a map's history, exports and links are its group's and moderator's.
    ("alumni.map_history", "GET"): GROUP_A_MAP,
    ("alumni.map_at_revision", "GET"): GROUP_A_MAP,
    ("alumni.restore_revision", "POST"): GROUP_A_MAP,
    ("alumni.since_training", "GET"): GROUP_A_MAP,
    ("alumni.share", "GET"): GROUP_A_MAP,
    ("alumni.change_link", "POST"): GROUP_A_MAP,
    ("exports.print_view", "GET"): GROUP_A_MAP,
    ("exports.export_pdf", "GET"): GROUP_A_MAP,
    ("exports.export_poster", "GET"): GROUP_A_MAP,
    ("exports.export_docx", "GET"): GROUP_A_MAP,
    ("exports.export_xlsx", "GET"): GROUP_A_MAP,
    ("exports.export_csv", "GET"): GROUP_A_MAP,
    ("exports.export_json", "GET"): GROUP_A_MAP,
    # Everyone signed in has a "my road maps" page and may keep their access with a password.
    ("alumni.my_maps", "GET"): ANYONE_SIGNED_IN,
    ("alumni.secure_account", "GET"): ANYONE_SIGNED_IN,
    ("alumni.secure_account", "POST"): ANYONE_SIGNED_IN,
    # «Готово» in «Мои шаги» is an edit like any other: the map's group and moderator.
    ("alumni.mark_step_done", "POST"): GROUP_A_MAP,
    ("mail.settings", "GET"): ANYONE_SIGNED_IN,
    ("mail.settings", "POST"): ANYONE_SIGNED_IN,
    # The signed token in a mail's unsubscribe link is the credential (RFC 8058 one-click, no session).
    ("mail.unsubscribe", "GET"): PUBLIC,
    ("mail.unsubscribe", "POST"): PUBLIC,
    ("mail.recipients", "GET"): allow_only(MODERATOR),
    # Secret links are the credential: whoever holds one may use it.
    ("alumni.shared_view", "GET"): PUBLIC,
    ("alumni.shared_map", "GET"): PUBLIC,
    ("alumni.calendar_feed", "GET"): PUBLIC,
    ("alumni.use_sign_in_link", "GET"): PUBLIC,
    # A sign-in link works once: the first browser to press the button (anonymous, first
    # in ROLES) spends it, and every later press is refused.
    ("alumni.use_sign_in_link", "POST"): allow_only(ANONYMOUS),
    # So is the link that confirms an address, opened wherever the mail is read; it works once.
    ("alumni.confirm_address", "GET"): PUBLIC,
    ("alumni.confirm_address", "POST"): allow_only(ANONYMOUS),
    # A map is its group's and its training moderator's, for reading as for writing.
    ("editor.edit", "GET"): GROUP_A_MAP,
    ("editor.add_step", "POST"): GROUP_A_MAP,
    # A mention opens for the person mentioned only, whom none of these roles is
    # (tests/browser/test_browser_comments.py opens one as that person).
    ("editor.open_mention", "GET"): NOBODY,
    ("api.roadmap_snapshot", "GET"): GROUP_A_MAP,
    ("api.apply_op", "POST"): GROUP_A_MAP,
    "connect": ANYONE_SIGNED_IN,
    "join": GROUP_A_MAP,
    "catch_up": GROUP_A_MAP,
    "op": GROUP_A_MAP,
    "focus": GROUP_A_MAP,
    "leave": GROUP_A_MAP,
    # Dots go on steps of a map one may edit; the dashboard feed is the moderator's.
    "dot": GROUP_A_MAP,
    # A step's comments are read by those who may edit its map.
    "comments": GROUP_A_MAP,
    "comments_read": GROUP_A_MAP,
    "watch": allow_only(MODERATOR),
    # Sent by a client, the server's own events are fakes: nobody may trigger them.
    "disconnect": NOBODY,
    "unknown_event": NOBODY,
}

# Signing out ends on the start page: for it, that redirect is success, not a refusal.
SUCCESS_LANDS_ON_START_PAGE = {("auth.sign_out", "POST"), ("auth.sign_out_everywhere", "POST")}
TOKEN_AUTHENTICATED_BLUEPRINTS = {"api"}
DENY_CODES = {"forbidden", "not_found", "not_authenticated", "unknown_event"}
# `focus` names no map: it acts on the map its connection joined. After a refused
# join, the server's "join a map first" is how it refuses the focus.
NOT_IN_A_MAP = ("invalid_op", "join a map first")
ACK_TIMEOUT = 5
REPORT_PATH = ARTIFACTS / "authorization_matrix.txt"
IMPORT_CSV = "\ufefftitle,due_on\nОпрос жителей,2027-05-10\n".encode()


@dataclass(frozen=True)
class Scene:
    """Training A (groups A, B and an open one) by one moderator, another training by another."""

    training_id: int
    join_code: str
    roadmap_id: int  # group A's map: the target of every map rule
    open_group_id: int  # nobody's group yet: join forms pick it, so every join adds a member
    spare_group_id: int  # a group the moderator renames and archives
    membership_id: int  # a member of group B, whom the moderator moves to the open group, then removes
    step_id: str  # a step of group A's map
    vote_id: int  # an open dot vote on every map of training A
    view_token: str  # group A's read-only link
    calendar_token: str  # group A's calendar feed
    sign_in_token: str  # a personal sign-in link for another member of group B
    reset_token: str  # a password reset link of the co-moderator
    confirm_token: str  # a link that confirms a new address of a member of group B
    co_moderator_id: int  # a co-moderator of training A, whom the moderator removes
    device_code: str  # a code the member of group B showed for another device
    duplicate_person_id: int  # the member of group B again, joined from a second device: merged into them
    mention_id: int  # where a member of group A was mentioned in a comment
    groups: dict  # participant role -> the Group its people join
    moderators: dict  # moderator role -> Person


# What fills each URL parameter: everything points at training A and group A's map.
URL_VALUES: dict[str, Callable[[Scene], object]] = {
    "training_id": lambda scene: scene.training_id,
    "roadmap_id": lambda scene: scene.roadmap_id,
    "code": lambda scene: scene.join_code,
    "lang": lambda scene: "en",
    "name": lambda scene: next(iter(VENDOR_FILES)),
    "filename": lambda scene: "css/app.css",
    "group_id": lambda scene: scene.spare_group_id,
    "revision": lambda scene: 0,
    # The calendar feed is renewed; its route sorts (and so runs) before the renewal.
    "kind": lambda scene: "calendar",
    "file_kind": lambda scene: "xlsx",
    "share_token": lambda scene: scene.view_token,
    "calendar_token": lambda scene: scene.calendar_token,
    "link_token": lambda scene: scene.sign_in_token,
    "membership_id": lambda scene: scene.membership_id,
    "person_id": lambda scene: scene.co_moderator_id,
    "reset_token": lambda scene: scene.reset_token,
    "confirm_token": lambda scene: scene.confirm_token,
    "step_id": lambda scene: scene.step_id,
    "mention_id": lambda scene: scene.mention_id,
    "token": lambda scene: mail.unsubscribe_token(scene.duplicate_person_id, "digest"),
}


@dataclass(frozen=True)
class Attempt:
    """A minimal valid request (form, JSON body or event payload) and what it changes when allowed."""

    payload: Callable[[Scene], object] | None = None
    changes: tuple[str, ...] = ()
    after_join: bool = False  # events only: the connection first asks to join group A's map


def with_an_open_vote(form: dict):
    """A payload that first opens a vote if none is open: clearing a vote or ending the training
    in an earlier row must not leave a later vote row with nothing to act on."""

    def payload(scene: Scene) -> dict:
        if (
            db.session.scalar(select(Vote.id).where(Vote.training_id == scene.training_id, Vote.closed_at.is_(None)))
            is None
        ):
            voting.open_vote(db.session.get(Training, scene.training_id), dots_per_person=3)
        return form

    return payload


def with_joining_open(form: dict):
    def payload(scene: Scene) -> dict:
        trainings.set_joining_open(db.session.get(Training, scene.training_id), True)
        return form

    return payload


def with_the_person_blocked(scene: Scene) -> dict:
    """«Разрешить снова» needs someone kept out: the row's person (the co-moderator) is, if not yet."""
    if db.session.get(JoinBlock, (scene.training_id, scene.co_moderator_id)) is None:
        db.session.add(
            JoinBlock(
                training_id=scene.training_id,
                person_id=scene.co_moderator_id,
                blocked_by_id=scene.moderators[MODERATOR].id,
            )
        )
        db.session.commit()
    return {}


def with_the_step_undone(scene: Scene) -> dict:
    """An earlier row restores group A's map to revision 0, deleting the scene's step, and
    another role may have marked it done already: bring it back, not done, as the moderator."""
    step = db.session.get(Step, scene.step_id)
    db.session.refresh(step)
    moderator = scene.moderators[MODERATOR]
    if step.deleted_at is not None:
        editing.apply(
            {"op_id": new_id(), "roadmap_id": scene.roadmap_id, "type": "step.restore", "step_id": scene.step_id},
            actor=moderator,
        )
    if step.status == "done":
        editing.apply(
            {
                "op_id": new_id(),
                "roadmap_id": scene.roadmap_id,
                "type": "step.set",
                "step_id": scene.step_id,
                "field": "status",
                "value": "planned",
            },
            actor=moderator,
        )
    return {}


def map_title_op(scene: Scene) -> dict:
    return {
        "op_id": new_id(),
        "roadmap_id": scene.roadmap_id,
        "type": "map.set",
        "field": "title",
        "value": "Чистый двор у библиотеки",
    }


ATTEMPTS: dict[tuple[str, str] | str, Attempt] = {
    ("main.start", "POST"): Attempt(lambda scene: {"join_code": scene.join_code, "display_name": "Марина"}),
    ("main.pick_group", "POST"): Attempt(
        lambda scene: {"display_name": "Марина", "group_id": scene.open_group_id, "different_person": "y"},
        changes=("members of the open group",),
    ),
    ("main.set_language", "POST"): Attempt(lambda scene: {"next": "/healthz"}),
    ("api.join", "POST"): Attempt(
        lambda scene: {
            "join_code": scene.join_code,
            "display_name": "Марина",
            "group_id": scene.open_group_id,
            "different_person": True,
        },
        changes=("members of the open group",),
    ),
    ("auth.sign_in", "POST"): Attempt(lambda scene: {"email": scene.moderators[MODERATOR].email, "password": PASSWORD}),
    ("auth.sign_out", "POST"): Attempt(lambda scene: {}),
    ("auth.sign_out_everywhere", "POST"): Attempt(lambda scene: {}, changes=("sign-in generations",)),
    ("auth.forgot_password", "POST"): Attempt(lambda scene: {"email": f"nobody-{new_id()[:10]}@example.org"}),
    ("auth.reset_password", "POST"): Attempt(
        lambda scene: {"password": PASSWORD, "confirm": PASSWORD},
        changes=("used sign-in links", "password hashes", "sign-in generations"),
    ),
    ("auth.setup", "POST"): Attempt(
        lambda scene: {
            "display_name": "Новый Модератор",
            "email": "new@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
        changes=("moderators",),
    ),
    ("moderate.trainings", "POST"): Attempt(
        lambda scene: {
            "title": "Весенняя школа",
            "city": "Тверь",
            "venue": "",
            "starts_on": "2027-05-01",
            "ends_on": "2027-05-02",
        },
        changes=("trainings",),
    ),
    ("moderate.training", "POST"): Attempt(
        lambda scene: {"name": "Велопарковки", "theme": "landscaping"},
        changes=("groups", "group names"),
    ),
    ("moderate.rename_group", "POST"): Attempt(lambda scene: {"name": "Велодорожка у школы"}, changes=("group names",)),
    ("moderate.archive_group", "POST"): Attempt(lambda scene: {"archived": "1"}, changes=("archived groups",)),
    ("moderate.move_member", "POST"): Attempt(
        lambda scene: {"to_group_id": scene.open_group_id},
        changes=("members of the open group",),
    ),
    ("moderate.remove_member", "POST"): Attempt(
        lambda scene: {"block": "y"}, changes=("members of the open group", "join blocks")
    ),
    ("moderate.renew_join_code", "POST"): Attempt(lambda scene: {}, changes=("join code",)),
    # Opened first, so the participants of later rows (and roles) can still join to sign in.
    ("moderate.set_joining", "POST"): Attempt(with_joining_open({"joining_open": "0"}), changes=("joining closed",)),
    ("moderate.allow_rejoining", "POST"): Attempt(with_the_person_blocked, changes=("join blocks",)),
    ("moderate.facilitate.timer", "POST"): Attempt(
        lambda scene: {"timer-action": "start", "timer-minutes": "15", "timer-group_id": ""},
        changes=("timers",),
    ),
    ("moderate.facilitate.announce", "POST"): Attempt(
        lambda scene: {"announcement-text": "Через 10 минут пленарка", "announcement-group_id": ""},
        changes=("announcements",),
    ),
    ("moderate.facilitate.lock", "POST"): Attempt(
        lambda scene: {"lock-locked": "1", "lock-group_id": ""},
        changes=("locked maps", "map revision", "changes logged"),
    ),
    ("moderate.facilitate.project", "POST"): Attempt(
        lambda scene: {"projector-group_id": str(scene.groups[SAME_GROUP].id)},
        changes=("projected group",),
    ),
    ("moderate.facilitate.open_vote", "POST"): Attempt(
        with_an_open_vote({"vote-dots": "3", "vote-group_id": ""}),
        changes=("votes",),  # the open vote closes
    ),
    ("moderate.facilitate.close_vote", "POST"): Attempt(with_an_open_vote({}), changes=("open votes",)),
    ("moderate.facilitate.clear_vote", "POST"): Attempt(with_an_open_vote({}), changes=("open votes", "cleared votes")),
    # Ending also closes and clears the open vote.
    ("moderate.end_training", "POST"): Attempt(
        with_an_open_vote({}),
        changes=("baselines", "open votes", "cleared votes"),
    ),
    ("moderate.training_settings", "POST"): Attempt(
        lambda scene: {"timezone": "Asia/Omsk", "digest_weekday": "2", "digest_hour": "18"},
        changes=("training settings",),
    ),
    ("moderate.sign_in_link", "POST"): Attempt(lambda scene: {}, changes=("sign-in links",)),
    # The spare group has nobody in it: the sheet is printed, with no links on it.
    ("moderate.sign_in_sheet", "POST"): Attempt(lambda scene: {}),
    ("moderate.add_co_moderator", "POST"): Attempt(
        lambda scene: {"email": f"colleague-{new_id()[:10]}@example.org", "display_name": "Коллега"},
        changes=("moderators", "co-moderators", "sign-in links"),
    ),
    ("moderate.remove_co_moderator", "POST"): Attempt(lambda scene: {}, changes=("co-moderators",)),
    ("moderate.merge_member", "POST"): Attempt(
        lambda scene: {"duplicate_person_id": scene.duplicate_person_id},
        changes=("merged people",),
    ),
    ("auth.show_device_code", "POST"): Attempt(lambda scene: {}, changes=("sign-in links",)),
    ("auth.continue_on_device", "POST"): Attempt(
        lambda scene: {"code": scene.device_code}, changes=("used sign-in links",)
    ),
    ("exports.import_map", "POST"): Attempt(
        lambda scene: {"name": "Из файла", "file": (io.BytesIO(IMPORT_CSV), "plan.csv")},
        changes=("groups", "group names", "changes logged"),
    ),
    ("alumni.restore_revision", "POST"): Attempt(lambda scene: {}, changes=("map revision", "changes logged")),
    ("alumni.change_link", "POST"): Attempt(lambda scene: {"action": "renew"}, changes=("share links",)),
    ("alumni.secure_account", "POST"): Attempt(
        lambda scene: {
            "email": f"alumna-{new_id()[:10]}@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "current_password": PASSWORD,
        },
        changes=("password hashes", "sign-in links", "sign-in generations"),  # the link that confirms the address
    ),
    ("alumni.confirm_address", "POST"): Attempt(lambda scene: {}, changes=("used sign-in links",)),
    ("alumni.use_sign_in_link", "POST"): Attempt(lambda scene: {}, changes=("used sign-in links",)),
    ("alumni.mark_step_done", "POST"): Attempt(with_the_step_undone, changes=("map revision", "changes logged")),
    ("mail.settings", "POST"): Attempt(lambda scene: {"kinds": ["digest"], "language": "ru"}),
    ("mail.unsubscribe", "POST"): Attempt(lambda scene: {"List-Unsubscribe": "One-Click"}),
    ("editor.add_step", "POST"): Attempt(
        lambda scene: {"title": "Собрать волонтёров"},
        changes=("map revision", "changes logged"),
    ),
    ("api.apply_op", "POST"): Attempt(
        lambda scene: {key: value for key, value in map_title_op(scene).items() if key != "roadmap_id"},
        changes=("map revision", "changes logged"),
    ),
    "join": Attempt(
        lambda scene: {"roadmap_id": scene.roadmap_id, "since_revision": None}, changes=("connection in the map",)
    ),
    "catch_up": Attempt(lambda scene: {"roadmap_id": scene.roadmap_id, "since_revision": 0}),
    "op": Attempt(map_title_op, changes=("map revision",)),
    "focus": Attempt(lambda scene: {"focus": {"field": "title"}}, changes=("connection's focus",), after_join=True),
    "leave": Attempt(
        lambda scene: {"roadmap_id": scene.roadmap_id}, changes=("connection in the map",), after_join=True
    ),
    "dot": Attempt(
        lambda scene: {"vote_id": scene.vote_id, "step_id": scene.step_id, "action": "add"}, changes=("dots placed",)
    ),
    "comments": Attempt(lambda scene: {"roadmap_id": scene.roadmap_id, "step_id": scene.step_id}),
    "comments_read": Attempt(lambda scene: {"roadmap_id": scene.roadmap_id, "step_id": scene.step_id}),
    "watch": Attempt(lambda scene: {"training_id": scene.training_id}),
    "disconnect": Attempt(lambda scene: "client disconnect"),
    "unknown_event": Attempt(lambda scene: {"roadmap_id": scene.roadmap_id}),
}


# Building the world and the people in it


@pytest.fixture(autouse=True)
def unlimited(app):
    """Every cell signs in or joins afresh from one address, hundreds of times: far past the rate limits,
    which tests/views/test_join_limits.py and tests/views/test_rate_limits.py try."""
    app.config.update(
        JOIN_RATE_LIMIT="100000 per minute",
        SIGN_IN_RATE_LIMIT="100000 per minute",
        JOIN_SUCCESS_RATE_LIMIT="100000 per minute",
    )


@pytest.fixture
def scene(world) -> Scene:
    moderator = make_moderator("irina@example.org", "Ирина Соколова")
    other_moderator = make_moderator("oleg@example.org", "Олег Дмитриев")
    training = world.training(moderator)
    group_a = world.group(training, name="Чистый двор")
    group_b = world.group(training, name="Сквер у библиотеки", theme="landscaping")
    open_group = world.group(training, name="Велодорожка", theme="other")
    foreign_group = world.group(world.training(other_moderator, title="Другое обучение"), name="Чужая группа")
    spare_group = world.group(training, name="Запасная группа", theme="other")
    moved = world.member(group_b, name="Пётр")
    duplicate = world.member(group_b, name="Пётр")
    # Not Пётр: re-issuing his link from the dashboard retires the earlier one.
    linked = world.member(group_b, name="Анна")
    step_id = new_id()
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group_a.roadmap.id,
            "type": "step.add",
            "step_id": step_id,
            "fields": {"title": "Опрос жителей"},
        },
        actor=moderator,
    )
    mentioned = world.member(group_a, name="Лена")
    editing.apply(
        {
            "op_id": new_id(),
            "roadmap_id": group_a.roadmap.id,
            "type": "comment.add",
            "comment_id": new_id(),
            "step_id": step_id,
            "body": "@Лена, посмотри",
            "mentions": [mentioned.id],
        },
        actor=moderator,
    )
    vote = voting.open_vote(training, dots_per_person=3)
    co_moderator = make_moderator("vera@example.org", "Вера Лебедева")
    trainings.add_co_moderator(training, moderator, co_moderator.email, co_moderator.display_name)
    view_link = share_links.share(group_a.roadmap, moderator, "view")
    calendar_link = share_links.share(group_a.roadmap, moderator, "calendar")
    return Scene(
        view_token=share_links.link_token(view_link),
        calendar_token=share_links.link_token(calendar_link),
        sign_in_token=sign_in_links.issue_sign_in_link(linked, moderator),
        co_moderator_id=co_moderator.id,
        reset_token=password_reset.issue_reset_link(co_moderator),
        confirm_token=address_link(linked),
        device_code=identities.issue_device_code(moved),
        duplicate_person_id=duplicate.id,
        mention_id=db.session.scalar(select(Mention.id)),
        training_id=training.id,
        join_code=training.join_code,
        roadmap_id=group_a.roadmap.id,
        open_group_id=open_group.id,
        spare_group_id=spare_group.id,
        step_id=step_id,
        vote_id=vote.id,
        membership_id=next(m.id for m in moved.memberships if m.group_id == group_b.id),
        groups={SAME_GROUP: group_a, OTHER_GROUP: group_b, OTHER_TRAINING: foreign_group},
        moderators={MODERATOR: moderator, OTHER_MODERATOR: other_moderator},
    )


def address_link(person) -> str:
    tokens = []
    accounts.request_address(person, "anna@example.org", lambda token: tokens.append(token) or token)
    return tokens[0]


def sign_in_browser(browser, role: str, scene: Scene) -> None:
    """Make the browser a fresh person of this role, through the real join and sign-in forms."""
    if role == ANONYMOUS:
        return
    if role in scene.moderators:
        response = browser.post("/sign-in", data={"email": scene.moderators[role].email, "password": PASSWORD})
        landed, expected = redirect_path(response), "/moderate/"
    else:
        group = scene.groups[role]
        response = browser.post(
            f"/join/{group.training.join_code}",
            data={"display_name": "Марина", "group_id": group.id, "different_person": "y"},
        )
        landed, expected = redirect_path(response), f"/maps/{group.roadmap.id}"
    assert landed == expected, f"could not become {role}: {response.status_code} to {landed}"


def token_for(world, role: str, scene: Scene) -> str | None:
    """A bearer token for a fresh person of this role (the moderators are the scene's own)."""
    if role == ANONYMOUS:
        return None
    if role in scene.moderators:
        return world.token(scene.moderators[role])
    return world.token(world.member(scene.groups[role]))


def world_state(scene: Scene) -> dict:
    db.session.rollback()  # end the read transaction, so the requests' commits show
    return {
        "map revision": db.session.scalar(select(Roadmap.revision).where(Roadmap.id == scene.roadmap_id)),
        "changes logged": count(Change),
        "members of the open group": count(Membership, Membership.group_id == scene.open_group_id),
        "groups": count(Group),
        "trainings": count(Training),
        "moderators": count(Person, Person.is_moderator),
        "group names": sorted(db.session.scalars(select(Group.name))),
        "archived groups": count(Group, Group.archived),
        "timers": count(Timer),
        "announcements": count(Announcement),
        "locked maps": count(Roadmap, Roadmap.locked),
        "projected group": tuple(
            db.session.execute(
                select(Training.projector_mode, Training.projected_group_id).where(Training.id == scene.training_id)
            ).one()
        ),
        "votes": count(Vote),
        "open votes": count(Vote, Vote.closed_at.is_(None)),
        "cleared votes": count(Vote, Vote.cleared_at.is_not(None)),
        "baselines": count(Baseline),
        "training settings": tuple(
            db.session.execute(
                select(Training.timezone, Training.digest_weekday, Training.digest_hour).where(
                    Training.id == scene.training_id
                )
            ).one()
        ),
        "sign-in links": count(SignInLink),
        "co-moderators": count(TrainingModerator),
        "used sign-in links": count(SignInLink, SignInLink.used_at.is_not(None)),
        "share links": count(ShareLink),
        "merged people": count(Person, Person.merged_into_id.is_not(None)),
        "password hashes": sorted(filter(None, db.session.scalars(select(Person.password_hash)))),
        "join code": db.session.scalar(select(Training.join_code).where(Training.id == scene.training_id)),
        "joining closed": count(Training, Training.joining_closed_at.is_not(None)),
        "join blocks": count(JoinBlock),
        "sign-in generations": db.session.scalar(select(func.sum(Person.sign_in_generation))),
    }


def connection_state(scene: Scene, sid: str) -> dict:
    db.session.rollback()
    presence = db.session.get(Presence, sid)
    in_map = presence is not None and presence.roadmap_id == scene.roadmap_id
    return {
        "map revision": db.session.scalar(select(Roadmap.revision).where(Roadmap.id == scene.roadmap_id)),
        "connection in the map": in_map,
        "connection's focus": presence.focus if in_map else None,
        "dots placed": count(Dot),
    }


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def redirect_path(response) -> str | None:
    return urlsplit(response.headers["Location"]).path if response.status_code in (301, 302, 303, 307, 308) else None


# Enumerating what the app registers


def http_rows(app) -> list[tuple]:
    """Every (rule, method) the app answers, HEAD and OPTIONS aside (Flask derives those).

    The Socket.IO path is left out: Engine.IO answers it before Flask (its rule only
    spares routing errors, see roadmap/realtime/contexts.py), and what a connection may
    do there is the socket events' rules below."""
    rules = sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint != "socketio_path"),
        key=lambda rule: (rule.rule, rule.endpoint),
    )
    return [(rule, method) for rule in rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def socket_events() -> list[str]:
    return sorted(
        name.removeprefix("on_")
        for name in dir(LiveNamespace)
        if name.startswith("on_") and callable(getattr(LiveNamespace, name))
    )


def uses_tokens(rule) -> bool:
    return rule.endpoint.split(".", 1)[0] in TOKEN_AUTHENTICATED_BLUEPRINTS


def http_label(rule, method: str) -> str:
    return f"{method} {rule.rule} [{rule.endpoint}]"


def undeclared_http(rule, method: str) -> str | None:
    """Why this route cannot be tried, or None when the matrix knows all it needs."""
    key = (rule.endpoint, method)
    if key not in RULES:
        return (
            f"{http_label(rule, method)} has no rule: add {key!r} to RULES in "
            f"tests/views/test_authorization_matrix.py, saying which roles may use it"
        )
    if method != "GET" and key not in ATTEMPTS:
        return (
            f"{http_label(rule, method)} has no minimal valid request: add {key!r} to ATTEMPTS, "
            f"with what it changes when allowed"
        )
    unknown = sorted(set(rule.arguments) - set(URL_VALUES))
    if unknown:
        return f"{http_label(rule, method)} takes {unknown}: say what fills them in URL_VALUES"
    return None


def undeclared_event(event: str) -> str | None:
    if event not in RULES:
        return (
            f"Socket.IO event {event!r} has no rule: add {event!r} to RULES in "
            f"tests/views/test_authorization_matrix.py, saying which roles may send it"
        )
    if event != "connect" and event not in ATTEMPTS:
        return f"Socket.IO event {event!r} has no minimal valid payload: add {event!r} to ATTEMPTS"
    return None


# Verdicts


def expected_verdict(key, role: str) -> str:
    rule = RULES[key]
    return ALLOW if rule == PUBLIC else rule[role]


def http_verdict(response, key, strangers_landing: set[str]) -> tuple[str, str]:
    status = response.status_code
    if status in (401, 403, 404):
        return DENY, str(status)
    landed = redirect_path(response)
    if landed is not None:
        if landed in strangers_landing and key not in SUCCESS_LANDS_ON_START_PAGE:
            return DENY, f"{status} to {landed}"
        return ALLOW, f"{status} to {landed}"
    if 200 <= status < 300:
        return ALLOW, str(status)
    return ODD, str(status)


def ack_verdict(ack, attempt: Attempt) -> tuple[str, str]:
    if not isinstance(ack, dict):
        return ODD, f"ack {ack!r}"
    if ack.get("ok") is True:
        return ALLOW, "ok ack"
    error = ack.get("error") if isinstance(ack.get("error"), dict) else {}
    code, detail = error.get("code"), error.get("detail")
    if set(ack) != {"ok", "error"}:
        return ODD, f"error ack {code} that also carries {sorted(set(ack) - {'ok', 'error'})}"
    if code in DENY_CODES or (attempt.after_join and (code, detail) == NOT_IN_A_MAP):
        return DENY, f"error ack {code}"
    return ODD, f"error ack {code} ({detail})"


def settle(verdict: str, detail: str, before: dict, after: dict, changes: tuple[str, ...]) -> tuple[str, str]:
    """Hold the answer against the state: a refusal that changed something let the request through."""
    changed = sorted(key for key in before if before[key] != after[key])
    if verdict == DENY and changed:
        return ALLOW, f"{detail}, yet changed {changed}"
    if verdict == ALLOW and changed != sorted(changes):
        if not changed:
            return DENY, f"{detail}, but changed nothing (expected {list(changes)})"
        return ODD, f"{detail}, but changed {changed} (expected {list(changes) or 'nothing'})"
    return verdict, detail


# Results and the report


@dataclass
class Cell:
    row: str
    role: str
    expected: str
    actual: str
    detail: str

    @property
    def mismatch(self) -> str | None:
        if self.actual == self.expected:
            return None
        if self.actual == ALLOW:
            return "unexpected allow"
        if self.expected == ALLOW:
            return "unexpected deny"
        return "unclean deny"  # refused, but with an error rather than a clean denial


@dataclass
class Section:
    title: str
    rows: list[str] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    undeclared: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, row: str, role: str, key, outcome: tuple[str, str]) -> None:
        if row not in self.rows:
            self.rows.append(row)
        self.cells.append(Cell(row, role, expected_verdict(key, role), *outcome))

    def tally(self, kind: str) -> int:
        return sum(1 for cell in self.cells if cell.mismatch == kind)

    def problems(self) -> list[str]:
        return self.undeclared + [
            f"{cell.mismatch}: {cell.row} as {cell.role}: expected {cell.expected}, got {cell.detail}"
            for cell in self.cells
            if cell.mismatch
        ]

    def text(self) -> str:
        width = max([len(row) for row in self.rows] + [10])
        heading = f"== {self.title}: {len(self.rows)} rows x {len(ROLES)} roles = {len(self.cells)} cells"
        lines = [f"{heading}, {self.seconds:.1f} s", " " * width + "  " + "".join(f"{role:<17}" for role in ROLES)]
        by_place = {(cell.row, cell.role): cell for cell in self.cells}
        for row in self.rows:
            marks = []
            for role in ROLES:
                cell = by_place[(row, role)]
                marks.append(cell.actual if not cell.mismatch else cell.actual.upper() + "!")
            lines.append(f"{row:<{width}}  " + "".join(f"{mark:<17}" for mark in marks))
        lines += [
            f"unexpected allows: {self.tally('unexpected allow')}",
            f"unexpected denies: {self.tally('unexpected deny')}",
            f"unclean denies: {self.tally('unclean deny')}",
            f"undeclared: {len(self.undeclared)}",
        ]
        lines += [f"  {problem}" for problem in self.problems()]
        return "\n".join(lines)


_SECTIONS: dict[str, Section] = {}


def report(section: Section) -> None:
    """Print the section and rewrite the artifact with every section run so far."""
    _SECTIONS[section.title] = section
    sections = list(_SECTIONS.values())
    cells = sum(len(part.cells) for part in sections)
    totals = "\n".join(
        [
            "Authorisation matrix (tests/views/test_authorization_matrix.py)",
            "roles: " + ", ".join(ROLES),
            "cells: allow/deny as the table says; ALLOW!/DENY!/ODD! where the app disagrees",
            f"sections run: {', '.join(part.title for part in sections)}",
            f"matrix size: {cells} cells ("
            + " + ".join(f"{len(part.rows)} x {len(ROLES)} {part.title}" for part in sections)
            + ")",
            f"unexpected allows: {sum(part.tally('unexpected allow') for part in sections)}",
            f"unexpected denies: {sum(part.tally('unexpected deny') for part in sections)}",
            f"unclean denies: {sum(part.tally('unclean deny') for part in sections)}",
            f"undeclared routes and events: {sum(len(part.undeclared) for part in sections)}",
            f"time: {sum(part.seconds for part in sections):.1f} s",
        ]
    )
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(totals + "\n\n" + "\n\n".join(part.text() for part in sections) + "\n", encoding="utf-8")
    print(section.text())


def assert_no_problems(section: Section) -> None:
    problems = section.problems()
    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)


# The tests


def test_every_route_and_event_has_a_rule_and_every_rule_a_route_or_event(app):
    registered = {(rule.endpoint, method) for rule, method in http_rows(app)} | set(socket_events())
    missing = [undeclared_http(rule, method) for rule, method in http_rows(app)]
    missing += [undeclared_event(event) for event in socket_events()]
    stale = [
        f"{table} names {key!r}, which the app no longer registers: remove it"
        for table, entries in (("RULES", RULES), ("ATTEMPTS", ATTEMPTS))
        for key in entries
        if key not in registered
    ]

    problems = [problem for problem in missing if problem] + stale
    assert problems == [], "\n".join(problems)


def run_http_matrix(app, world, scene: Scene, title: str, token_rows: bool) -> Section:
    section = Section(title)
    started = time.monotonic()
    adapter = app.url_map.bind("localhost")
    strangers_landing = {adapter.build("main.start"), adapter.build("auth.sign_in")}
    for rule, method in http_rows(app):
        if uses_tokens(rule) != token_rows:
            continue
        problem = undeclared_http(rule, method)
        if problem:
            section.undeclared.append(problem)
            continue
        key = (rule.endpoint, method)
        attempt = ATTEMPTS.get(key, Attempt())
        url = adapter.build(rule.endpoint, {name: URL_VALUES[name](scene) for name in rule.arguments}, method=method)
        for role in ROLES:
            client = app.test_client()
            headers = {}
            if token_rows:
                token = token_for(world, role, scene)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
            else:
                sign_in_browser(client, role, scene)
            payload = attempt.payload(scene) if attempt.payload else None
            body = {"json": payload} if token_rows else {"data": payload}
            before = world_state(scene)
            response = client.open(url, method=method, headers=headers, **body)
            after = world_state(scene)
            verdict = http_verdict(response, key, strangers_landing)
            section.add(http_label(rule, method), role, key, settle(*verdict, before, after, attempt.changes))
    section.seconds = time.monotonic() - started
    return section


def test_pages_let_in_exactly_the_roles_the_table_names(app, world, scene):
    section = run_http_matrix(app, world, scene, "pages (cookie sign-in)", token_rows=False)
    report(section)

    assert_no_problems(section)


def test_json_api_lets_in_exactly_the_roles_the_table_names(app, world, scene):
    section = run_http_matrix(app, world, scene, "JSON API (bearer tokens)", token_rows=True)
    report(section)

    assert_no_problems(section)


def try_event(url: str, token: str | None, event: str, scene: Scene) -> tuple[str, str]:
    """Connect as the token's person, send one event about group A's map, and judge the outcome."""
    client = socketio.Client(reconnection=False)
    try:
        try:
            client.connect(
                url, auth={"token": token} if token else None, transports=["websocket"], wait_timeout=ACK_TIMEOUT
            )
        except socketio.exceptions.ConnectionError as refused:
            return DENY, f"connection refused ({refused})"
        if event == "connect":
            return ALLOW, "connection accepted"
        attempt = ATTEMPTS[event]
        sid = client.get_sid()
        if attempt.after_join:
            client.call("join", ATTEMPTS["join"].payload(scene), timeout=ACK_TIMEOUT)
        before = connection_state(scene, sid)
        try:
            ack = client.call(event, attempt.payload(scene), timeout=ACK_TIMEOUT)
        except socketio.exceptions.TimeoutError:
            return ODD, "no ack"
        after = connection_state(scene, sid)
        return settle(*ack_verdict(ack, attempt), before, after, attempt.changes)
    finally:
        client.shutdown()


@pytest.mark.live
def test_socket_events_let_in_exactly_the_roles_the_table_names(world, scene, live_server):
    section = Section("Socket.IO events (live server, token auth)")
    started = time.monotonic()
    for event in socket_events():
        problem = undeclared_event(event)
        if problem:
            section.undeclared.append(problem)
            continue
        for role in ROLES:
            outcome = try_event(live_server.url, token_for(world, role, scene), event, scene)
            section.add(f"event {event}", role, event, outcome)
    section.seconds = time.monotonic() - started
    report(section)

    assert_no_problems(section)
