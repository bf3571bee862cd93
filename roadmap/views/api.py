"""JSON endpoints for non-browser clients; authenticated by a bearer token."""

import functools

from flask import Blueprint, jsonify, request
from flask_babel import gettext

from roadmap.domain import permissions
from roadmap.domain.errors import EditRejected
from roadmap.domain.messages import parse_message
from roadmap.extensions import csrf, db
from roadmap.models import Roadmap
from roadmap.services import accounts, editing, snapshots, trainings
from roadmap.views import limits
from roadmap.views.main import JOIN_ERRORS

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # no cookies are read here: a bearer token authenticates every call


@bp.errorhandler(500)
def server_error(_exception):
    db.session.rollback()
    return _error("server_error", gettext("Something went wrong on the server."), 500)


def _error(code: str, message: str, status: int, detail: str | None = None):
    error = {"code": code, "message": message}
    if detail:
        error["detail"] = detail
    return jsonify({"ok": False, "error": error}), status


def _bearer_person():
    header = request.headers.get("Authorization", "")
    return accounts.person_for_token(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None


def token_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        person = _bearer_person()
        if person is None:
            return _error("not_authenticated", gettext("Please join the training first."), 401)
        return view(person, *args, **kwargs)

    return wrapper


# A join's answer for each refusal of trainings.join_group: (status, error code).
JOIN_STATUSES = {
    "joining_closed": (403, "joining_closed"),
    "join_blocked": (403, "join_blocked"),
    "name_taken": (409, "name_taken"),
    "too_many_new_people": (429, "rate_limited"),
}


@bp.post("/join")
@limits.tries_a_secret
def join():
    """Join a group with the training's code; returns a token for the socket and the API.

    With a participant's token the join is theirs; without one it makes a new person."""
    try:
        body = parse_message("api.join", request.get_json(silent=True))
    except EditRejected as rejected:
        return _error("invalid_request", gettext("join_code and display_name are required."), 400, rejected.detail)
    join_code, display_name, group_id = body["join_code"], body["display_name"], body["group_id"]
    different_person = bool(body["different_person"])
    training = trainings.training_for_code(join_code)
    if training is None:
        return _error("unknown_code", gettext("No training has this code. Check it with your moderator."), 404)
    person = _bearer_person()
    if refusal := trainings.refusal_to_join(training, person):
        return _join_refused(refusal)
    groups = training.active_groups
    if group_id is None and len(groups) == 1:
        group_id = groups[0].id
    if group_id is None:
        return jsonify(
            {
                "ok": False,
                "error": {"code": "pick_group", "message": gettext("Pick a working group.")},
                "groups": [{"id": group.id, "name": group.name} for group in groups],
            }
        ), 400
    try:
        person = trainings.join_group(
            training, group_id, display_name, person, different_person, admit_new_person=limits.admit_new_person
        )
    except trainings.JoinError as error:
        return _join_refused(error.code)
    group = next(group for group in groups if group.id == group_id)
    return jsonify(
        {
            "ok": True,
            "token": accounts.issue_token(person),
            "person_id": person.id,
            "roadmap_id": group.roadmap.id,
            "group": {"id": group.id, "name": group.name},
        }
    )


def _join_refused(refusal: str):
    status, code = JOIN_STATUSES.get(refusal, (400, refusal))
    return _error(code, str(JOIN_ERRORS[refusal]), status)


def _readable_roadmap(person, roadmap_id: int) -> Roadmap | None:
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None or not permissions.may_view_group_map(person, roadmap.group):
        return None
    return roadmap


@bp.get("/maps/<int:roadmap_id>")
@token_required
def roadmap_snapshot(person, roadmap_id: int):
    roadmap = _readable_roadmap(person, roadmap_id)
    if roadmap is None:
        return _error("not_found", gettext("The road map was not found."), 404)
    return jsonify({"ok": True, "snapshot": snapshots.snapshot(roadmap)})


@bp.post("/maps/<int:roadmap_id>/ops")
@token_required
def apply_op(person, roadmap_id: int):
    """The same operation the socket's `op` event takes, over HTTP."""
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        payload = {**payload, "roadmap_id": roadmap_id}
    try:
        applied = editing.apply(payload, actor=person)
    except EditRejected as rejected:
        db.session.rollback()
        status = {"not_found": 404, "forbidden": 403, "conflict": 409}.get(rejected.code, 422)
        return jsonify({"ok": False, "error": rejected.error_object(gettext(rejected.message))}), status
    return jsonify({"ok": True, "revision": applied.revision, "duplicate": applied.duplicate})
