"""The only module that emits to Socket.IO clients.

Through Flask-SocketIO's message queue (Redis) the same calls reach clients
connected to any server process.
"""
from roadmap.extensions import socketio

NAMESPACE = "/"


def room_for(roadmap_id: int) -> str:
    return f"map:{roadmap_id}"


def edit_applied(change: dict) -> None:
    socketio.emit("change", change, to=room_for(change["roadmap_id"]), namespace=NAMESPACE)


def presence_changed(roadmap_id: int, people: list[dict]) -> None:
    socketio.emit(
        "presence", {"roadmap_id": roadmap_id, "people": people},
        to=room_for(roadmap_id), namespace=NAMESPACE,
    )


def members_changed(roadmap_id: int, members: list[dict]) -> None:
    socketio.emit(
        "members", {"roadmap_id": roadmap_id, "members": members},
        to=room_for(roadmap_id), namespace=NAMESPACE,
    )
