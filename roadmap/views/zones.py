"""Times on a page are in the zone of the training the page is about.

Before each request whose URL names a map, a training, a group or a membership,
Flask-Babel is told that training's zone (i18n.show_times_in), so every
format_datetime/format_date of a stored moment on the page shows it there.
Pages reached by a secret token (the read-only link, the calendar feed) call
show_times_of(training) themselves.
"""

from __future__ import annotations

from flask import Flask, request
from sqlalchemy import Select, bindparam, select

from roadmap.extensions import db
from roadmap.i18n import show_times_in
from roadmap.models import Group, Membership, Roadmap, Training

# One query from the id in the URL to the training's zone.
_ZONE_BY_URL_ARGUMENT: dict[str, Select] = {
    "roadmap_id": select(Training.timezone)
    .join(Group, Group.training_id == Training.id)
    .join(Roadmap, Roadmap.group_id == Group.id)
    .where(Roadmap.id == bindparam("item_id")),
    "training_id": select(Training.timezone).where(Training.id == bindparam("item_id")),
    "group_id": select(Training.timezone)
    .join(Group, Group.training_id == Training.id)
    .where(Group.id == bindparam("item_id")),
    "membership_id": select(Training.timezone)
    .join(Group, Group.training_id == Training.id)
    .join(Membership, Membership.group_id == Group.id)
    .where(Membership.id == bindparam("item_id")),
}


def show_times_of(training: Training) -> None:
    show_times_in(training.timezone)


def _show_times_of_the_requested_training() -> None:
    url_arguments = request.view_args or {}
    for argument, zone_query in _ZONE_BY_URL_ARGUMENT.items():
        if argument in url_arguments:
            zone_name = db.session.scalar(zone_query, {"item_id": url_arguments[argument]})
            if zone_name:
                show_times_in(zone_name)
            return


def init_app(app: Flask) -> None:
    app.before_request(_show_times_of_the_requested_training)
