"""The only module that emits to Socket.IO clients.

Through Flask-SocketIO's message queue (Redis) the same calls reach clients
connected to any server process. Called inside a `writing()` block, an event
waits for the block's commit and is dropped if it rolls back
(transactions.after_commit); called outside one, it goes out at once.
"""

import threading

from roadmap.extensions import socketio
from roadmap.services.transactions import after_commit

NAMESPACE = "/"

# Maps something was published about since the dashboard feed last looked
# (realtime/dashboard_feed.py): the dashboard is updated from these, throttled.
_changed_maps: set[int] = set()
_changed_maps_lock = threading.Lock()


def note_change(roadmap_id: int) -> None:
    with _changed_maps_lock:
        _changed_maps.add(roadmap_id)


def take_changed_maps() -> set[int]:
    global _changed_maps
    with _changed_maps_lock:
        taken, _changed_maps = _changed_maps, set()
    return taken


def _emit(event: str, payload: dict, to, changed_map: int | None = None) -> None:
    """Send once the write around this call commits (at once outside one), noting `changed_map`
    for the dashboard feed."""

    def send():
        socketio.emit(event, payload, to=to)
        if changed_map is not None:
            note_change(changed_map)

    after_commit(send)


def room_for(roadmap_id: int) -> str:
    return f"map:{roadmap_id}"


def viewers_room_for(roadmap_id: int) -> str:
    """Read-only link viewers of a map: they hear its changes and nothing else."""
    return f"view:{roadmap_id}"


# What a read-only link's viewer hears of a comment op: its place in the revisions and the
# step's count of comments, not the group's words.
_VIEWER_COMMENT_KEYS = ("type", "comment_id", "step_id", "count_change")


def edit_applied(change: dict) -> None:
    roadmap_id = change["roadmap_id"]
    if not change["op"]["type"].startswith("comment."):
        _emit("change", change, to=[room_for(roadmap_id), viewers_room_for(roadmap_id)], changed_map=roadmap_id)
        return
    _emit("change", change, to=room_for(roadmap_id), changed_map=roadmap_id)
    op = {key: change["op"][key] for key in _VIEWER_COMMENT_KEYS if key in change["op"]}
    _emit("change", {**change, "author": {"id": None, "name": ""}, "op": op}, to=viewers_room_for(roadmap_id))


def person_room(person_id: int) -> str:
    """Every live connection of one person, whatever page it is on."""
    return f"person:{person_id}"


def mentioned(person_id: int, mention: dict) -> None:
    _emit("mention", mention, to=person_room(person_id))


def presence_changed(roadmap_id: int, people: list[dict]) -> None:
    _emit(
        "presence",
        {"roadmap_id": roadmap_id, "people": people},
        to=room_for(roadmap_id),
        changed_map=roadmap_id,
    )


def members_changed(roadmap_id: int, members: list[dict]) -> None:
    _emit(
        "members",
        {"roadmap_id": roadmap_id, "members": members},
        to=room_for(roadmap_id),
        changed_map=roadmap_id,
    )


def training_room(training_id: int) -> str:
    """Every open editor of a training's maps."""
    return f"training:{training_id}"


def dashboard_room(training_id: int) -> str:
    """The moderator's dashboard and projector views of a training."""
    return f"dashboard:{training_id}"


def _scoped_rooms(training_id: int, roadmap_id: int | None) -> list[str]:
    """One group's editors (roadmap_id) or every group's, and the dashboards either way."""
    editors = training_room(training_id) if roadmap_id is None else room_for(roadmap_id)
    return [editors, dashboard_room(training_id)]


def timer_changed(training_id: int, roadmap_id: int | None, timer: dict | None) -> None:
    """The timer for every group (roadmap_id None) or for one group's map."""
    payload = {
        "training_id": training_id,
        "scope": "all" if roadmap_id is None else "group",
        "roadmap_id": roadmap_id,
        "timer": timer,
    }
    _emit("timer", payload, to=_scoped_rooms(training_id, roadmap_id))


def announced(training_id: int, roadmap_id: int | None, announcement: dict) -> None:
    _emit(
        "announcement",
        {"training_id": training_id, "announcement": announcement},
        to=_scoped_rooms(training_id, roadmap_id),
    )


def announcements_cleared(training_id: int) -> None:
    """The training is over: every editor drops the announcements it shows."""
    _emit(
        "announcement",
        {"training_id": training_id, "announcement": None},
        to=_scoped_rooms(training_id, None),
    )


def projector_changed(training_id: int, projector: dict) -> None:
    """What the projector shows: {"mode", "group_id"} (facilitation.projector_data)."""
    _emit(
        "projector",
        {"training_id": training_id, **projector},
        to=dashboard_room(training_id),
    )


def vote_changed(training_id: int, vote: dict, to_editors: bool = True) -> None:
    """A vote opened, closed or showed a new tally: to the editors of the maps it is about
    (unless to_editors is false: a hidden vote's turnout is for the moderator's views alone)."""
    rooms = _scoped_rooms(training_id, vote["roadmap_id"]) if to_editors else [dashboard_room(training_id)]
    _emit("vote", {"training_id": training_id, "vote": vote}, to=rooms)


def vote_cleared(training_id: int, roadmap_id: int | None) -> None:
    """No vote is on screen any more for the editors of one map (roadmap_id) or of every map."""
    _emit(
        "vote",
        {"training_id": training_id, "roadmap_id": roadmap_id, "vote": None},
        to=_scoped_rooms(training_id, roadmap_id),
    )


def dashboard_changed(training_id: int, summaries: list[dict]) -> None:
    _emit(
        "dashboard",
        {"training_id": training_id, "groups": summaries},
        to=dashboard_room(training_id),
    )


def readiness_changed(roadmap_id: int, readiness: dict, progress: dict) -> None:
    """The map's checklist and progress, recomputed by the dashboard feed after its changes."""
    _emit(
        "readiness",
        {"roadmap_id": roadmap_id, **readiness, "progress": progress},
        to=room_for(roadmap_id),
    )


def sent_away(sid: str, roadmap_id: int, training_id: int, notice: dict) -> None:
    """Take one connection, on whichever process holds it, out of the map's and the training's
    rooms, then tell it why: both through the message queue when it runs on another process,
    which handles them in this order, ahead of anything published after this call."""

    def send():
        for room in (room_for(roadmap_id), training_room(training_id)):
            socketio.server.leave_room(sid, room, namespace=NAMESPACE)
        socketio.emit("left_group", notice, to=sid, namespace=NAMESPACE)

    after_commit(send)


def disconnect(sids: list[str]) -> None:
    """Close these connections, on whichever server process holds each."""

    def send():
        if socketio.server is None:
            return
        for sid in sids:
            socketio.server.disconnect(sid, namespace=NAMESPACE)

    after_commit(send)
