"""What the moderator's actions share, on the dashboard and its facilitation tools: the training
acted on, the submitted form, and the answer (JSON for the dashboard's scripts, a redirect for a
plain form post)."""

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from roadmap.domain import permissions
from roadmap.extensions import db
from roadmap.models import Training


def own_training(training_id: int) -> Training:
    training = db.session.get(Training, training_id)
    if training is None or not permissions.moderates(current_user, training):
        abort(404)
    return training


def wants_json() -> bool:
    """The dashboard's scripts ask for JSON; a plain form post gets a redirect."""
    return request.headers.get("X-Requested-With") == "fetch"


def done(training: Training, message: str, **extra):
    if wants_json():
        return jsonify({"ok": True, "message": message, **extra})
    flash(message, "success")
    return redirect(url_for("moderate.training", training_id=training.id))


def failed(training: Training, message: str, status: int = 400):
    if wants_json():
        return jsonify({"ok": False, "message": message}), status
    flash(message, "error")
    return redirect(url_for("moderate.training", training_id=training.id))


def form_errors(form: FlaskForm) -> str:
    return " ".join(
        f"{field.label.text}: {error}" if field.label.text else error for field in form for error in field.errors
    ) or _("The form has expired. Reload the page.")


class FormRejected(Exception):
    """A tool's form did not validate; answered by `failed` (see moderate's error handlers)."""

    def __init__(self, training: Training, message: str):
        super().__init__(message)
        self.training = training
        self.message = message


def submitted(form: FlaskForm, training: Training) -> FlaskForm:
    """The form, validated; FormRejected otherwise."""
    if not form.validate_on_submit():
        raise FormRejected(training, form_errors(form))
    return form
