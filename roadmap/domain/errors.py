"""Errors a user can cause, as values with a code and a translatable message."""


def N_(message: str) -> str:
    """Mark a string for translation; it is translated at the edge (gettext)."""
    return message


MESSAGES = {
    "invalid_op": N_("The change is malformed."),
    "unknown_op": N_("Unknown kind of change."),
    "unknown_event": N_("Unknown request."),
    "invalid_field": N_("This field cannot be changed."),
    "invalid_value": N_("The value is not valid for this field."),
    "too_long": N_("The text is too long."),
    "not_found": N_("The road map was not found."),
    "forbidden": N_("You cannot edit this road map."),
    "step_not_found": N_("This step no longer exists."),
    "step_deleted": N_("This step was deleted."),
    "stakeholder_not_found": N_("This stakeholder no longer exists."),
    "member_not_found": N_("This person is not a member of the group."),
    "id_taken": N_("This id is already in use."),
    "not_deleted": N_("This item is not deleted."),
    "not_authenticated": N_("Please join the training first."),
    "locked": N_("The moderator has locked this road map; it cannot be changed until it is unlocked."),
    "conflict": N_("Someone else changed this field after you saw it, so your change was not saved."),
    "moderators_only": N_("Only the moderator can do this."),
    "no_timer": N_("No timer is running."),
    "timer_not_finished": N_("The time is not up yet: stop the timer instead."),
    "vote_not_found": N_("This vote does not exist."),
    "vote_closed": N_("Voting is over."),
    "no_dots_left": N_("You have used all your dots. Take one back to place it elsewhere."),
    "rate_limited": N_("Too many requests at once; slow down a little. Nothing is lost: try again in a moment."),
    "too_many_steps": N_("This road map has as many steps as it can hold. Delete a step to add another."),
    "too_many_stakeholders": N_(
        "This road map has as many stakeholders as it can hold. Delete a stakeholder to add another."
    ),
    "too_many_links": N_("This road map has as many links between steps and stakeholders as it can hold."),
    "too_many_dependencies": N_("This road map has as many dependencies between steps as it can hold."),
    "too_many_comments": N_("This step or road map has as many comments as it can hold."),
    "comment_not_found": N_("This comment no longer exists."),
    "not_author": N_("Only the author of a comment can change or delete it."),
    "dependency_cycle": N_(
        "This dependency would make a circle: a step would wait for itself. "
        "Remove one of the dependencies in the circle first."
    ),
}


class EditRejected(Exception):
    """An edit the server refuses; carries a stable code for clients.

    `extra` is JSON-safe data a client needs to act on this code (e.g. what an
    edit conflicts with); it is sent in the error object next to code and message.
    """

    def __init__(self, code: str, detail: str | None = None, extra: dict | None = None):
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.extra = dict(extra or {})
        clashing = sorted(self.extra.keys() & {"code", "message", "detail"})
        if clashing:
            raise ValueError(f"extra data may not replace {clashing}")

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, MESSAGES["invalid_op"])

    def error_object(self, message: str) -> dict:
        """The error as the socket's ack and the HTTP API send it; `message` is the translated one."""
        error = {"code": self.code, "message": message}
        if self.detail:
            error["detail"] = self.detail
        return {**error, **self.extra}


class Unreadable:
    """Stands for JSON the decoder could not turn into values (roadmap/tolerant_json.py).

    Every schema refuses it as invalid_op, with `reason` as the detail.
    """

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unreadable({self.reason!r})"
