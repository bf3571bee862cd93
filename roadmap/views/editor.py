"""The road map editor page, and a plain-form fallback that goes through the same pipeline."""

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from roadmap.domain import permissions
from roadmap.domain.errors import EditRejected
from roadmap.domain.operations import browser_field_schema
from roadmap.domain.readiness import HINTS as READINESS_HINTS
from roadmap.domain.readiness import LABELS as READINESS_LABELS
from roadmap.domain.stakeholder_grid import HIGH as GRID_HIGH
from roadmap.domain.vocabulary import ENGAGEMENT_DESCRIPTIONS, ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES
from roadmap.extensions import db
from roadmap.models import Mention, Roadmap
from roadmap.services import comments, dashboard, editing, snapshots
from roadmap.timeutil import local_today
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("editor", __name__)


class AddStepForm(FlaskForm):
    title = StringField(_l("New step"), validators=[DataRequired(), Length(max=300), NoControlCharacters()])


def _editable_roadmap(roadmap_id: int) -> Roadmap:
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None or not permissions.may_view_group_map(current_user, roadmap.group):
        abort(404)
    return roadmap


@bp.get("/maps/<int:roadmap_id>")
@login_required
def edit(roadmap_id: int):
    roadmap = _editable_roadmap(roadmap_id)
    snapshot = snapshots.snapshot(roadmap)
    today = local_today(roadmap.group.training.timezone)
    return render_template(
        "editor/editor.html",
        roadmap=roadmap,
        group=roadmap.group,
        training=roadmap.group.training,
        snapshot=snapshot,
        readiness={**dashboard.readiness_data(snapshot, today), "progress": dashboard.progress_data(snapshot, today)},
        readiness_labels={code: gettext(label) for code, label in READINESS_LABELS.items()},
        readiness_hints={code: gettext(hint) for code, hint in READINESS_HINTS.items()},
        add_step_form=AddStepForm(),
        moderates=permissions.moderates(current_user, roadmap.group.training),
        field_schema=browser_field_schema(),
        grid_high=GRID_HIGH,
        vocabulary={
            "themes": THEMES,
            "statuses": STEP_STATUSES,
            "sectors": SECTORS,
            "engagement": ENGAGEMENT_LEVELS,
            "engagement_descriptions": ENGAGEMENT_DESCRIPTIONS,
        },
    )


@bp.post("/maps/<int:roadmap_id>/steps")
@login_required
def add_step(roadmap_id: int):
    """Add a step without JavaScript; the same operation the live editor sends."""
    roadmap = _editable_roadmap(roadmap_id)
    form = AddStepForm()
    if form.validate_on_submit():
        operation = {
            "op_id": uuid.uuid4().hex,
            "roadmap_id": roadmap.id,
            "type": "step.add",
            "step_id": uuid.uuid4().hex,
            "fields": {"title": form.title.data},
        }
        try:
            editing.apply(operation, actor=current_user._get_current_object())
        except EditRejected as rejected:
            flash(gettext(rejected.message), "error")
    return redirect(url_for("editor.edit", roadmap_id=roadmap.id))


@bp.get("/mentions/<int:mention_id>")
@login_required
def open_mention(mention_id: int):
    """A mention in the top bar: seen now; open the step's comments."""
    mention = db.session.get(Mention, mention_id)
    if mention is None or mention.person_id != current_user.id:
        abort(404)
    comments.mark_mention_seen(current_user.id, mention_id)
    return redirect(url_for("editor.edit", roadmap_id=mention.roadmap_id, _anchor=f"comments-{mention.step_id}"))
