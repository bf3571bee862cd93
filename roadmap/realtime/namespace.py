"""The Socket.IO namespace: parse, call a service, ack. See docs/protocol.md."""

from __future__ import annotations

import functools
import logging

from flask import current_app, request, session
from flask_babel import gettext
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room

from roadmap.domain import permissions
from roadmap.domain.errors import EditRejected
from roadmap.domain.messages import parse_message, readable_field
from roadmap.domain.permissions import Actor, MapAccess
from roadmap.extensions import db
from roadmap.models import Roadmap, Training
from roadmap.realtime import publisher
from roadmap.realtime.limits import ConnectionCounts, EventBudgets
from roadmap.services import (
    access,
    accounts,
    comments,
    connections,
    dashboard,
    editing,
    facilitation,
    presence,
    share_links,
    snapshots,
    voting,
)
from roadmap.timeutil import utcnow

log = logging.getLogger(__name__)


def error_ack(rejected: EditRejected) -> dict:
    return {"ok": False, "error": rejected.error_object(gettext(rejected.message))}


def acked(handler):
    """Turn every outcome of an event into an ack; a bad payload never raises out."""

    @functools.wraps(handler)
    def wrapper(self, *args):
        if not self.event_budgets.take(request.sid):
            return error_ack(EditRejected("rate_limited"))
        try:
            actor = _actor()
            if actor is None:
                return error_ack(EditRejected("not_authenticated"))
            payload = args[0] if len(args) == 1 else None
            return handler(self, actor, payload)
        except EditRejected as rejected:
            db.session.rollback()
            return error_ack(rejected)
        except Exception:
            db.session.rollback()
            log.exception("event %s failed", handler.__name__)
            return {
                "ok": False,
                "error": {"code": "server_error", "message": gettext("Something went wrong on the server.")},
            }

    return wrapper


def _actor() -> Actor | None:
    # Kept on the connection at connect time, so events do not reload the person.
    return session.get("actor")


def _access_to(actor: Actor, roadmap_id: int) -> MapAccess:
    target = access.map_access(roadmap_id, actor.id)
    if target is None:
        raise EditRejected("not_found")
    if not permissions.may_edit(actor, target):
        raise EditRejected("forbidden")
    return target


class LiveNamespace(Namespace):
    """Live editing of road maps; every event answers with an ack."""

    def __init__(self, namespace=publisher.NAMESPACE):
        super().__init__(namespace)
        self.local_sids: set[str] = set()

    # Built on first use, inside the app's context, from its settings.
    @functools.cached_property
    def event_budgets(self) -> EventBudgets:
        config = current_app.config
        return EventBudgets(config["SOCKET_EVENT_BURST"], config["SOCKET_EVENTS_PER_SECOND"])

    @functools.cached_property
    def connection_counts(self) -> ConnectionCounts:
        config = current_app.config
        return ConnectionCounts(config["SOCKET_CONNECTIONS_PER_PERSON"], config["SOCKET_CONNECTIONS_PER_ADDRESS"])

    def trigger_event(self, event, *args):
        """Route events; unknown ones, and clients faking connect/disconnect, get an error ack."""
        sid = args[0] if args else None
        reserved = event in ("connect", "disconnect")
        faked = reserved and self.server.manager.is_connected(sid, self.namespace)
        known = isinstance(event, str) and hasattr(self, f"on_{event}") and event != "unknown_event"
        if faked or not known:
            return super().trigger_event("unknown_event", *args)
        return super().trigger_event(event, *args)

    @acked
    def on_unknown_event(self, actor: Actor, payload):
        raise EditRejected("unknown_event")

    def on_connect(self, auth=None):
        if isinstance(auth, dict) and "share" in auth:
            return self._connect_viewer(auth["share"])
        person = None
        if isinstance(auth, dict) and "token" in auth:
            person = accounts.person_for_token(auth["token"])
        elif current_user.is_authenticated:
            person = current_user._get_current_object()
        if person is None or not connections.opened(request.sid, person):
            raise ConnectionRefusedError("not_authenticated")
        self._admit(person.id)
        join_room(publisher.person_room(person.id))
        session["actor"] = Actor.of(person)
        self.local_sids.add(request.sid)

    def _admit(self, person_id: int | None) -> None:
        """Count the connection against its person's and its address's caps, or refuse it."""
        if not self.connection_counts.admit(request.sid, person_id, request.remote_addr):
            raise ConnectionRefusedError("too_many_connections")

    def _connect_viewer(self, token) -> None:
        """A read-only link: the connection hears the map's changes and may send nothing."""
        link = share_links.link_for_token(token, "view")
        if link is None or not connections.opened_viewer(request.sid, link.id):
            raise ConnectionRefusedError("not_authenticated")
        self._admit(None)
        join_room(publisher.viewers_room_for(link.roadmap_id))
        self.local_sids.add(request.sid)

    def on_disconnect(self, reason=None):
        self.local_sids.discard(request.sid)
        connections.closed(request.sid)
        self.event_budgets.forget(request.sid)
        self.connection_counts.release(request.sid)
        roadmap_id = presence.leave(request.sid)
        if roadmap_id is not None:
            _publish_presence(roadmap_id)

    @acked
    def on_join(self, actor: Actor, payload):
        """Enter a map: the snapshot, or only the changes since the client's revision."""
        request_data = parse_message("join", payload)
        target = _access_to(actor, request_data["roadmap_id"])
        roadmap_id = target.roadmap_id
        previous = session.get("roadmap_id")
        if previous is not None and previous != roadmap_id:
            leave_room(publisher.room_for(previous))
            leave_room(publisher.training_room(session["training_id"]))
        # Join the rooms before reading, so no change falls between the two.
        join_room(publisher.room_for(roadmap_id))
        join_room(publisher.training_room(target.training_id))
        session["roadmap_id"], session["training_id"] = roadmap_id, target.training_id
        caught_up = snapshots.catch_up(db.session.get(Roadmap, roadmap_id), request_data["since_revision"])
        presence.enter(request.sid, roadmap_id, actor.id)
        # A removal committed before the row was written is seen here; one committed
        # after it finds the row and takes this connection out (realtime/departures.py).
        if not permissions.may_edit(actor, access.map_access(roadmap_id, actor.id)):
            _leave_joined_map()
            raise EditRejected("forbidden")
        if previous is not None and previous != roadmap_id:
            _publish_presence(previous)
        people = _publish_presence(roadmap_id, target.group_id)
        members = (
            caught_up["snapshot"]["members"] if "snapshot" in caught_up else snapshots.members_data(target.group_id)
        )
        return {
            "ok": True,
            **caught_up,
            "presence": people,
            "members": members,
            "me": {"id": actor.id, "name": actor.display_name},
            "unread_comments": comments.unread_counts(actor.id, roadmap_id),
            "facilitation": _facilitation_state(target, actor),
        }

    @acked
    def on_catch_up(self, actor: Actor, payload):
        request_data = parse_message("catch_up", payload)
        target = _access_to(actor, request_data["roadmap_id"])
        roadmap = db.session.get(Roadmap, target.roadmap_id)
        return {"ok": True, **snapshots.catch_up(roadmap, request_data["since_revision"])}

    @acked
    def on_op(self, actor: Actor, payload):
        applied = editing.apply(payload, actor=actor)
        return {"ok": True, "revision": applied.revision, "duplicate": applied.duplicate}

    @acked
    def on_focus(self, actor: Actor, payload):
        focus = parse_message("focus", payload)["focus"]
        roadmap_id = presence.set_focus(request.sid, focus)
        if roadmap_id is None:
            raise EditRejected("invalid_op", "join a map first")
        _publish_presence(roadmap_id)
        return {"ok": True}

    @acked
    def on_watch(self, actor: Actor, payload):
        """A moderator's dashboard or projector view follows a training."""
        training_id = parse_message("watch", payload)["training_id"]
        training = db.session.get(Training, training_id)
        if training is None or not permissions.moderates(actor, training):
            raise EditRejected("forbidden")
        join_room(publisher.dashboard_room(training.id))
        return {
            "ok": True,
            "groups": dashboard.training_summaries(training),
            "projector": facilitation.projector_data(training),
            "timer": facilitation.timer_data(facilitation.current_timer(training.id, None)),
            "group_timers": facilitation.group_timers(training),
            "vote": voting.public_data(voting.current_vote(training.id)),
            "server_now": facilitation.iso(utcnow()),
        }

    @acked
    def on_dot(self, actor: Actor, payload):
        """Place or take back one dot in a vote."""
        request_data = parse_message("dot", payload)
        change = voting.place_dot if request_data["action"] == "add" else voting.remove_dot
        return {"ok": True, "vote": change(request_data["vote_id"], request_data["step_id"], actor)}

    @acked
    def on_comments(self, actor: Actor, payload):
        """A step's comments, loaded when its thread opens; from then on they are read."""
        request_data = parse_message("comments", payload)
        target = _access_to(actor, request_data["roadmap_id"])
        shown = comments.thread(target.roadmap_id, request_data["step_id"], permissions.moderates_map(actor, target))
        comments.mark_read(actor.id, target.roadmap_id, request_data["step_id"])
        return {"ok": True, **shown}

    @acked
    def on_comments_read(self, actor: Actor, payload):
        """The open thread showed a new comment: it is read."""
        request_data = parse_message("comments_read", payload)
        target = _access_to(actor, request_data["roadmap_id"])
        comments.mark_read(actor.id, target.roadmap_id, request_data["step_id"])
        return {"ok": True}

    @acked
    def on_leave(self, actor: Actor, payload):
        """Leave the map this connection joined, then answer for the payload.

        A payload whose roadmap_id reads leaves even when it is refused, so a
        client that got leave slightly wrong is not left hearing the map."""
        if readable_field("leave", "roadmap_id", payload) is not None:
            _leave_joined_map()
        _access_to(actor, parse_message("leave", payload)["roadmap_id"])
        return {"ok": True}


def _leave_joined_map() -> None:
    joined = session.pop("roadmap_id", None)
    if joined is not None:
        leave_room(publisher.room_for(joined))
        leave_room(publisher.training_room(session.pop("training_id")))
    left = presence.leave(request.sid)
    if left is not None:
        _publish_presence(left)


def _facilitation_state(target: MapAccess, actor: Actor) -> dict:
    """What the moderator is running for this map's group: timers, announcements, the vote."""
    return {
        "timers": facilitation.timers_for_group(target.training_id, target.group_id),
        "announcements": facilitation.recent_announcements(target.training_id, target.group_id),
        "vote": voting.state_for(voting.current_vote_for(target.training_id, target.roadmap_id), actor.id),
        "group_id": target.group_id,
        "server_now": facilitation.iso(utcnow()),
    }


def _publish_presence(roadmap_id: int, group_id: int | None = None) -> list[dict]:
    if group_id is None:
        roadmap = db.session.get(Roadmap, roadmap_id)
        if roadmap is None:
            return []
        group_id = roadmap.group_id
    people = presence.people_in(roadmap_id, group_id)
    publisher.presence_changed(roadmap_id, people)
    return people
