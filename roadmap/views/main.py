"""Start page: join a training with its code; language switch; browser assets."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from roadmap import PROJECT_ROOT
from roadmap.services import accounts, trainings
from roadmap.views import limits, signing_in
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
    "joining_closed": _l(
        "Joining this training is closed: the working groups are formed. If you should be in one, ask your moderator."
    ),
    "join_blocked": _l(
        "The moderator took you out of this training and does not let you back in with the code. "
        "If this is a mistake, ask your moderator."
    ),
    "too_many_new_people": _l("Many people have just joined from your network. Wait a minute and try again."),
}
JOIN_REFUSAL_HEADINGS = {
    "joining_closed": _l("Joining is closed"),
    "join_blocked": _l("You cannot join again"),
}


class JoinForm(FlaskForm):
    join_code = StringField(_l("Join code"), validators=[DataRequired(), Length(max=20), NoControlCharacters()])
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])


class PickGroupForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=80), NoControlCharacters()])
    group_id = RadioField(_l("Working group"), coerce=int, validators=[DataRequired()])
    # Set from «Это вы?»: the joiner is not the member who has the same name.
    different_person = BooleanField()


@bp.route("/", methods=["GET", "POST"])
@limits.tries_a_secret
def start():
    form = JoinForm()
    if request.method == "GET" and request.args.get("code"):
        form.join_code.data = request.args["code"]
    if form.validate_on_submit():
        training = trainings.training_for_code(form.join_code.data)
        if training is None:
            form.join_code.errors.append(_("No training has this code. Check it with your moderator."))
        elif refusal := trainings.refusal_to_join(training, _joining_person()):
            return _refused(training, refusal)
        elif len(training.active_groups) == 1:
            return _join(training, training.active_groups[0].id, form.display_name.data)
        elif not training.active_groups:
            flash(_("This training has no working groups yet. Ask your moderator."), "warning")
        else:
            session["joining_name"] = form.display_name.data
            return redirect(url_for("main.pick_group", code=training.join_code))
    return render_template("main/start.html", form=form, my_groups=_my_groups())


@bp.route("/join/<code>", methods=["GET", "POST"])
@limits.looks_up_a_join_code
def pick_group(code: str):
    training = trainings.training_for_code(code)
    if training is None:
        abort(404)
    if refusal := trainings.refusal_to_join(training, _joining_person()):
        return _refused(training, refusal)
    form = PickGroupForm()
    form.group_id.choices = [SelectChoice(str(group.id), group.name) for group in training.active_groups]
    if request.method == "GET":
        form.display_name.data = session.get("joining_name") or (
            current_user.display_name if current_user.is_authenticated and not current_user.is_moderator else ""
        )
    if form.validate_on_submit():
        return _join(training, form.group_id.data, form.display_name.data, form.different_person.data)
    return render_template("main/pick_group.html", form=form, training=training)


def _joining_person():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _join(training, group_id: int, display_name: str, different_person: bool = False):
    person = _joining_person()
    try:
        person = trainings.join_group(
            training, group_id, display_name, person, different_person, admit_new_person=limits.admit_new_person
        )
    except trainings.JoinError as error:
        if error.code == "name_taken":
            return _is_it_you(training, group_id, display_name, trainings.namesake_in(group_id, display_name, person))
        if error.code in JOIN_REFUSAL_HEADINGS:
            return _refused(training, error.code)
        if error.code == "too_many_new_people":
            return render_template("errors/too_many.html", message=JOIN_ERRORS[error.code]), 429
        flash(JOIN_ERRORS[error.code], "error")
        return redirect(url_for("main.start"))
    signing_in.sign_in(person)
    session.permanent = True
    session.pop("joining_name", None)
    group = next(group for group in training.groups if group.id == group_id)
    return redirect(url_for("editor.edit", roadmap_id=group.roadmap.id))


def _refused(training, refusal: str):
    """Joining is closed, or this person may not come back: said plainly, not as a missing page."""
    return render_template(
        "main/join_refused.html",
        training=training,
        heading=JOIN_REFUSAL_HEADINGS[refusal],
        message=JOIN_ERRORS[refusal],
    ), 403


def _is_it_you(training, group_id: int, display_name: str, namesake):
    """«Это вы?»: the name is taken in the group, most likely by this person on another device."""
    form = PickGroupForm(display_name=display_name, formdata=None)
    group = next(group for group in training.groups if group.id == group_id)
    return render_template(
        "main/is_it_you.html", form=form, training=training, group=group, display_name=namesake.display_name
    ), 409


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
