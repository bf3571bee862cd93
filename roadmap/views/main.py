"""Start page: join a training with its code; language switch; browser assets."""
from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, send_from_directory,
    session, url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from roadmap import PROJECT_ROOT
from roadmap.extensions import limiter
from roadmap.services import accounts, trainings
from roadmap.views import signing_in
from roadmap.views.redirects import safe_next
from roadmap.views.validators import NoControlCharacters

bp = Blueprint("main", __name__)

# Browser libraries served from node_modules: only these files, nothing else.
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "sortable.esm.js": "sortablejs/modular/sortable.esm.js",
    "diff-match-patch-es.mjs": "diff-match-patch-es/dist/index.mjs",
}
JOIN_ERRORS = {
    "group_not_found": _l("This group is not open for joining."),
    "name_required": _l("Please enter your name."),
    "invalid_value": _l("The name has control characters. Remove them."),
    "name_taken": _l("Someone in this group already goes by this name."),
}


class JoinForm(FlaskForm):
    join_code = StringField(_l("Join code"), validators=[DataRequired(), Length(max=20), NoControlCharacters()])
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])


class PickGroupForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])
    group_id = RadioField(_l("Working group"), coerce=int, validators=[DataRequired()])
    # Set from «Это вы?»: the joiner is not the member who has the same name.
    different_person = BooleanField()


def join_limit() -> str:
    return current_app.config["JOIN_RATE_LIMIT"]


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(join_limit, methods=["POST"], deduct_when=lambda response: response.status_code != 302)
def start():
    form = JoinForm()
    if request.method == "GET" and request.args.get("code"):
        form.join_code.data = request.args["code"]
    if form.validate_on_submit():
        training = trainings.training_for_code(form.join_code.data)
        if training is None:
            form.join_code.errors.append(_("No training has this code. Check it with your moderator."))
        elif len(training.active_groups) == 1:
            return _join(training, training.active_groups[0].id, form.display_name.data)
        elif not training.active_groups:
            flash(_("This training has no working groups yet. Ask your moderator."), "warning")
        else:
            session["joining_name"] = form.display_name.data
            return redirect(url_for("main.pick_group", code=training.join_code))
    return render_template("main/start.html", form=form, my_groups=_my_groups())


@bp.route("/join/<code>", methods=["GET", "POST"])
def pick_group(code: str):
    training = trainings.training_for_code(code)
    if training is None:
        abort(404)
    form = PickGroupForm()
    form.group_id.choices = [SelectChoice(str(group.id), group.name) for group in training.active_groups]
    if request.method == "GET":
        form.display_name.data = session.get("joining_name") or (
            current_user.display_name if current_user.is_authenticated and not current_user.is_moderator else ""
        )
    if form.validate_on_submit():
        return _join(training, form.group_id.data, form.display_name.data, form.different_person.data)
    return render_template("main/pick_group.html", form=form, training=training)


def _join(training, group_id: int, display_name: str, different_person: bool = False):
    person = current_user._get_current_object() if current_user.is_authenticated else None
    try:
        person = trainings.join_group(training, group_id, display_name, person, different_person)
    except trainings.JoinError as error:
        if error.code == "name_taken":
            return _is_it_you(training, group_id, display_name, trainings.namesake_in(group_id, display_name, person))
        flash(JOIN_ERRORS[error.code], "error")
        return redirect(url_for("main.start"))
    signing_in.sign_in(person)
    session.permanent = True
    session.pop("joining_name", None)
    group = next(group for group in training.groups if group.id == group_id)
    return redirect(url_for("editor.edit", roadmap_id=group.roadmap.id))


def _is_it_you(training, group_id: int, display_name: str, namesake):
    """«Это вы?»: the name is taken in the group, most likely by this person on another device."""
    form = PickGroupForm(display_name=display_name, formdata=None)
    group = next(group for group in training.groups if group.id == group_id)
    return render_template("main/is_it_you.html", form=form, training=training, group=group,
                           display_name=namesake.display_name), 409


def _my_groups():
    if not current_user.is_authenticated or current_user.is_moderator:
        return []
    return trainings.groups_of_member(current_user)


@bp.post("/lang/<lang>")
def set_language(lang: str):
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            accounts.set_locale(current_user._get_current_object(), lang)  # mails follow the language picked
    return redirect(safe_next(request.form.get("next")) or url_for("main.start"))


@bp.get("/vendor/<name>")
def vendor(name: str):
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    response = send_from_directory(PROJECT_ROOT / "node_modules", relative, mimetype="text/javascript")
    return response


@bp.get("/sw.js")
def service_worker():
    """Served from the root so it may cache the editor pages for offline reloads."""
    response = send_from_directory(PROJECT_ROOT / "static" / "js", "sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/healthz")
def health():
    return {"ok": True}
