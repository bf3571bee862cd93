"""The only module that emits to Socket.IO clients.

Through Flask-SocketIO's message queue (Redis) the same calls reach clients
connected to any server process.
"""
import threading

from roadmap.extensions import socketio

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


def room_for(roadmap_id: int) -> str:
    return f"map:{roadmap_id}"


def viewers_room_for(roadmap_id: int) -> str:
    """Read-only link viewers of a map: they hear its changes and nothing else."""
    return f"view:{roadmap_id}"


def edit_applied(change: dict) -> None:
    roadmap_id = change["roadmap_id"]
    socketio.emit("change", change, to=[room_for(roadmap_id), viewers_room_for(roadmap_id)], namespace=NAMESPACE)
    note_change(change["roadmap_id"])


def presence_changed(roadmap_id: int, people: list[dict]) -> None:
    socketio.emit(
        "presence", {"roadmap_id": roadmap_id, "people": people},
        to=room_for(roadmap_id), namespace=NAMESPACE,
    )
    note_change(roadmap_id)


def members_changed(roadmap_id: int, members: list[dict]) -> None:
    socketio.emit(
        "members", {"roadmap_id": roadmap_id, "members": members},
        to=room_for(roadmap_id), namespace=NAMESPACE,
    )
    note_change(roadmap_id)



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
        "training_id": training_id, "scope": "all" if roadmap_id is None else "group",
        "roadmap_id": roadmap_id, "timer": timer,
    }
    socketio.emit("timer", payload, to=_scoped_rooms(training_id, roadmap_id), namespace=NAMESPACE)


def announced(training_id: int, roadmap_id: int | None, announcement: dict) -> None:
    socketio.emit(
        "announcement", {"training_id": training_id, "announcement": announcement},
        to=_scoped_rooms(training_id, roadmap_id), namespace=NAMESPACE,
    )


def announcements_cleared(training_id: int) -> None:
    """The training is over: every editor drops the announcements it shows."""
    socketio.emit(
        "announcement", {"training_id": training_id, "announcement": None},
        to=_scoped_rooms(training_id, None), namespace=NAMESPACE,
    )


def projector_changed(training_id: int, projector: dict) -> None:
    """What the projector shows: {"mode", "group_id"} (facilitation.projector_data)."""
    socketio.emit(
        "projector", {"training_id": training_id, **projector},
        to=dashboard_room(training_id), namespace=NAMESPACE,
    )


def vote_changed(training_id: int, vote: dict, to_editors: bool = True) -> None:
    """A vote opened, closed or showed a new tally: to the editors of the maps it is about
    (unless to_editors is false: a hidden vote's turnout is for the moderator's views alone)."""
    rooms = _scoped_rooms(training_id, vote["roadmap_id"]) if to_editors else [dashboard_room(training_id)]
    socketio.emit("vote", {"training_id": training_id, "vote": vote}, to=rooms, namespace=NAMESPACE)


def vote_cleared(training_id: int, roadmap_id: int | None) -> None:
    """No vote is on screen any more for the editors of one map (roadmap_id) or of every map."""
    socketio.emit(
        "vote", {"training_id": training_id, "roadmap_id": roadmap_id, "vote": None},
        to=_scoped_rooms(training_id, roadmap_id), namespace=NAMESPACE,
    )


def dashboard_changed(training_id: int, summaries: list[dict]) -> None:
    socketio.emit(
        "dashboard", {"training_id": training_id, "groups": summaries},
        to=dashboard_room(training_id), namespace=NAMESPACE,
    )


def readiness_changed(roadmap_id: int, readiness: dict, progress: dict) -> None:
    """The map's checklist and progress, recomputed by the dashboard feed after its changes."""
    socketio.emit(
        "readiness", {"roadmap_id": roadmap_id, **readiness, "progress": progress},
        to=room_for(roadmap_id), namespace=NAMESPACE,
    )


def sent_away(sid: str, roadmap_id: int, training_id: int, notice: dict) -> None:
    """Tell one connection, on whichever process holds it, why it no longer hears a map, and take
    it out of the map's and the training's rooms: through the message queue when it runs on
    another process, and ahead of anything published after this call."""
    socketio.emit("left_group", notice, to=sid, namespace=NAMESPACE)
    for room in (room_for(roadmap_id), training_room(training_id)):
        socketio.server.leave_room(sid, room, namespace=NAMESPACE)
