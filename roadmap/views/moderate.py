"""Moderators: trainings, their working groups and join codes."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from roadmap.domain import permissions
from roadmap.domain.vocabulary import THEMES
from roadmap.extensions import db
from roadmap.models import Training
from roadmap.services import trainings

bp = Blueprint("moderate", __name__, url_prefix="/moderate")


class TrainingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=120)])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(_l("Last day"), validators=[DataRequired()])

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The last day cannot be before the first."))


class GroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120)])
    theme = SelectField(_l("Theme"), choices=[SelectChoice(key, _l(label)) for key, label in THEMES.items()])


@bp.before_request
@login_required
def require_moderator():
    if not current_user.is_moderator:
        abort(403)


@bp.route("/", methods=["GET", "POST"], endpoint="trainings")
def trainings_page():
    """The moderator's home: their trainings and a form for a new one."""
    form = TrainingForm()
    if form.validate_on_submit():
        training = trainings.create_training(
            current_user, form.title.data, form.city.data, form.venue.data or "",
            form.starts_on.data, form.ends_on.data,
        )
        flash(_("Training created. Now add its working groups."), "success")
        return redirect(url_for("moderate.training", training_id=training.id))
    return render_template(
        "moderate/trainings.html", form=form, trainings=trainings.trainings_of(current_user)
    )


@bp.route("/trainings/<int:training_id>", methods=["GET", "POST"])
def training(training_id: int):
    training = _own_training(training_id)
    form = GroupForm()
    if form.validate_on_submit():
        trainings.create_group(training, form.name.data, form.theme.data)
        flash(_("Group added."), "success")
        return redirect(url_for("moderate.training", training_id=training.id))
    return render_template("moderate/training.html", training=training, form=form)


def _own_training(training_id: int) -> Training:
    training = db.session.get(Training, training_id)
    if training is None or not permissions.moderates(current_user, training):
        abort(404)
    return training
