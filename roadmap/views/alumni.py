"""The alumni's part, what people use after the training: my road maps, securing access,
history, "since the training", sharing, and the public read-only views behind secret links."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import segno
from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, IntegerField, PasswordField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from roadmap.domain import permissions
from roadmap.domain.errors import EditRejected
from roadmap.domain.progress import CHANGE_LABELS, compare, differences, progress
from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.models.share_links import SHARE_KINDS
from roadmap.services import (
    accounts,
    baselines,
    editing,
    export_files,
    exports,
    history_words,
    my_steps,
    share_links,
    sign_in_links,
    snapshots,
)
from roadmap.timeutil import local, local_today
from roadmap.views import limits, signing_in
from roadmap.views.map_view import map_view_context
from roadmap.views.redirects import public_url
from roadmap.views.throttles import throttled_calendar_feed
from roadmap.views.validators import PASSWORD_PROBLEMS, NoControlCharacters, StrongPassword
from roadmap.views.zones import show_times_of

bp = Blueprint("alumni", __name__)
ACCOUNT_ERRORS = {
    "wrong_password": _l("The current password is not right."),
    "nothing_to_save": _l("Type a new password or a new e-mail."),
    **PASSWORD_PROBLEMS,
}
# A step's fields as a past revision names them: «Позже изменено: срок, ответственный».
LATER_CHANGED = {
    "title": _l("title"),
    "description": _l("description"),
    "owner": _l("owner"),
    "starts_on": _l("start date"),
    "due_on": _l("due date"),
    "status": _l("status"),
    "progress": _l("percent done"),
    "resources": _l("resources"),
    "success_measure": _l("how success is measured"),
    "stakeholder_ids": _l("stakeholders involved"),
}


class SecureAccountForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[Optional(), Length(max=200)])
    email = EmailField(
        _l("E-mail"), validators=[Optional(), Email(check_deliverability=False), Length(max=254), NoControlCharacters()]
    )
    password = PasswordField(
        _l("Password (at least 10 characters)"), validators=[Optional(), Length(max=200), StrongPassword()]
    )
    confirm = PasswordField(
        _l("Repeat the password"), validators=[EqualTo("password", message=_l("Passwords differ."))]
    )


class ResendAddressForm(FlaskForm):
    resend = HiddenField(validators=[DataRequired(), Length(max=1), NoControlCharacters()])


class UseLinkForm(FlaskForm):
    pass


class RestoreForm(FlaskForm):
    pass


class StepDoneForm(FlaskForm):
    pass


class ShareForm(FlaskForm):
    action = SelectField(choices=[SelectChoice(action, action) for action in ("create", "revoke", "renew")])


class HistoryFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    person = SelectField(_l("Who"), validators=[Optional()])
    step = SelectField(_l("Step"), validators=[Optional()])
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**31 - 1)])


def _viewable_roadmap(roadmap_id: int) -> Roadmap:
    roadmap = db.session.get(Roadmap, roadmap_id)
    if roadmap is None or not permissions.may_view_group_map(current_user, roadmap.group):
        abort(404)
    return roadmap


def _today(roadmap: Roadmap):
    """Today where the map's training is: a step is overdue from the day after its due date there."""
    return local_today(roadmap.group.training.timezone)


# --- my road maps and my account ---------------------------------------------------


@bp.get("/me")
@login_required
def my_maps():
    """Every map I belong to, across trainings, with its progress."""
    if current_user.is_moderator:
        return redirect(url_for("moderate.trainings"))
    maps = []
    for membership in sorted(current_user.memberships, key=lambda m: m.joined_at, reverse=True):
        if membership.group.archived:
            continue
        roadmap = membership.group.roadmap
        map_data = snapshots.snapshot(roadmap, with_members=False)
        maps.append(
            {
                "group": membership.group,
                "roadmap": roadmap,
                "map": map_data,
                "progress": progress(map_data, _today(roadmap)),
            }
        )
    return render_template(
        "alumni/my_maps.html",
        maps=maps,
        secured=bool(current_user.password_hash),
        steps=my_steps.my_steps(current_user),
        done_form=StepDoneForm(),
    )


@bp.post("/maps/<int:roadmap_id>/steps/<step_id>/done")
@login_required
def mark_step_done(roadmap_id: int, step_id: str):
    """«Готово» in «Мои шаги»: a plain form, or the page's script asking for JSON to update in place."""
    wants_json = request.headers.get("X-Requested-With") == "fetch"
    if not StepDoneForm().validate_on_submit():
        abort(400)
    try:
        my_steps.mark_done(current_user._get_current_object(), roadmap_id, step_id)
    except EditRejected as rejected:
        message = _("Not marked done: %(reason)s", reason=_(rejected.message))
        if wants_json:
            return jsonify({"ok": False, "message": message}), 409 if rejected.code == "locked" else 400
        flash(message, "error")
        return redirect(url_for("alumni.my_maps"))
    if wants_json:
        return jsonify({"ok": True, "message": _("Marked done.")})
    flash(_("Marked done."), "success")
    return redirect(url_for("alumni.my_maps"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limits.tries_a_secret
@limits.tries_a_password
def secure_account():
    """Keep access after the training: a password, and an e-mail that a mailed link confirms.

    The answer is the same whether or not someone else has the address typed, so nobody learns
    which addresses are registered here."""
    person = current_user._get_current_object()
    form, resend_form = SecureAccountForm(email=person.email or None), ResendAddressForm(resend="1")
    if request.method == "POST" and "resend" in request.form:
        if resend_form.validate_on_submit():
            _say_mail_sent(accounts.resend_address_mail(person, _confirm_link))
        return redirect(url_for("alumni.secure_account"))
    if form.validate_on_submit():
        try:
            saved = accounts.save_account(
                person, form.email.data or "", form.password.data or "", form.current_password.data, _confirm_link
            )
        except accounts.AccountError as error:
            field = form.current_password if error.code == "wrong_password" else form.password
            field.errors.append(str(ACCOUNT_ERRORS[error.code]))
        else:
            if saved.password_changed:
                signing_in.sign_in(saved.person)  # the new sign-in generation: this browser stays in
                flash(
                    _("The password is saved; every other device is signed out.")
                    if saved.person.email
                    else _("The password is saved. You can sign in with it once you confirm an e-mail."),
                    "success",
                )
            _say_mail_sent(saved.mailed_to)
            return redirect(url_for("alumni.secure_account"))
    return render_template(
        "alumni/account.html", form=form, resend_form=resend_form, pending_address=accounts.pending_address(person)
    )


def _confirm_link(token: str) -> str:
    return public_url("alumni.confirm_address", confirm_token=token)


def _say_mail_sent(address: str | None) -> None:
    if address:
        flash(
            _("We sent a mail to %(email)s. Open the link in it to sign in with this address.", email=address),
            "success",
        )


@bp.route("/account/confirm/<confirm_token>", methods=["GET", "POST"])
def confirm_address(confirm_token: str):
    """The link in the confirmation mail; a button press spends it, so mail scanners' previews do not."""
    if not accounts.verify_link_is_live(confirm_token):
        return render_template("alumni/confirm_address.html", problem="link_spent"), 404
    form = UseLinkForm()
    if form.validate_on_submit():
        try:
            person = accounts.confirm_address(confirm_token)
        except accounts.AccountError as error:
            return render_template(
                "alumni/confirm_address.html", problem=error.code
            ), 409 if error.code == "email_taken" else 404
        flash(_("The e-mail %(email)s is confirmed: sign in with it from any device.", email=person.email), "success")
        return redirect(url_for("alumni.secure_account" if current_user.is_authenticated else "auth.sign_in"))
    return render_template("alumni/confirm_address.html", form=form, problem=None)


@bp.route("/sign-in/link/<link_token>", methods=["GET", "POST"])
def use_sign_in_link(link_token: str):
    """A moderator's personal link; a button press spends it, so link previews in chats do not."""
    form = UseLinkForm()
    if sign_in_links.sign_in_link(link_token) is None:
        return _link_spent(link_token)
    if form.validate_on_submit():
        person = sign_in_links.use_sign_in_link(link_token)
        if person is None:
            return _link_spent(link_token)
        signing_in.sign_in(person)
        flash(_("You are signed in. Set an e-mail and a password to come back without a link."), "success")
        return redirect(url_for("alumni.secure_account"))
    return render_template("alumni/use_link.html", form=form)


def _link_spent(link_token: str):
    """Whom to ask for a new link: the moderator who handed this one out."""
    return render_template("alumni/link_spent.html", moderator=sign_in_links.whom_to_ask(link_token)), 404


# --- history ------------------------------------------------------------------------


@bp.get("/maps/<int:roadmap_id>/history")
@login_required
def map_history(roadmap_id: int):
    """The history in words, a page of sittings at a time, filtered by person or step."""
    roadmap = _viewable_roadmap(roadmap_id)
    names = history_words.names_for(roadmap.id)
    filters = HistoryFilterForm(request.args)
    filters.person.choices = [SelectChoice("", _("Everyone"))] + [
        SelectChoice(str(person_id), name) for person_id, name in sorted(names.people.items(), key=lambda item: item[1])
    ]
    map_now = snapshots.snapshot(roadmap, with_members=False)
    filters.step.choices = [SelectChoice("", _("Every step"))] + [
        SelectChoice(step["id"], step["title"] or _("Untitled step")) for step in map_now["steps"]
    ]
    chosen_person = filters.person.data or ""
    person_id = int(chosen_person) if chosen_person.isdecimal() and len(chosen_person) < 10 else None
    person_id = person_id if person_id in names.people else None
    step_id = filters.step.data if filters.step.data in {step["id"] for step in map_now["steps"]} else None
    before = filters.before.data if filters.before.validate(filters) and filters.before.data else None
    page = export_files.history_page(
        roadmap,
        str(get_locale()),
        roadmap.group.training.timezone,
        person_id=person_id,
        step_id=step_id,
        before_revision=before,
    )
    return render_template(
        "alumni/history.html",
        roadmap=roadmap,
        group=roadmap.group,
        page=page,
        filters=filters,
        person_id=person_id,
        step_id=step_id,
        restore_form=RestoreForm(),
    )


@bp.get("/maps/<int:roadmap_id>/history/<int:revision>")
@login_required
def map_at_revision(roadmap_id: int, revision: int):
    """The map as it was after one change: who made it and when, and what differs from the map now."""
    roadmap = _viewable_roadmap(roadmap_id)
    if not 0 <= revision <= roadmap.revision:
        abort(404)
    map_data = export_files.map_at(roadmap, revision)
    members = snapshots.members_data(roadmap.group_id)
    made_by = history_words.history(roadmap, limit=1, before_revision=revision + 1) if revision else []
    since = differences(map_data, snapshots.snapshot(roadmap, with_members=False))
    return render_template(
        "alumni/at_revision.html",
        roadmap=roadmap,
        revision=revision,
        restore_form=RestoreForm(),
        change=made_by[0] if made_by else None,
        differences=since,
        later_changed={
            step_id: ", ".join(str(LATER_CHANGED[name]) for name in names)
            for step_id, names in since.changed_fields.items()
        },
        **map_view_context(roadmap.group, map_data, members=members),
    )


@bp.post("/maps/<int:roadmap_id>/history/<int:revision>/restore")
@login_required
def restore_revision(roadmap_id: int, revision: int):
    """Bring a past revision back as a new change: history itself is never rewritten."""
    roadmap = _viewable_roadmap(roadmap_id)
    if not RestoreForm().validate_on_submit():
        abort(400)
    operation = {"op_id": uuid.uuid4().hex, "roadmap_id": roadmap.id, "type": "map.restore", "revision": revision}
    try:
        applied = editing.apply(operation, actor=current_user._get_current_object())
    except EditRejected as rejected:
        flash(_(rejected.message), "error")
        return redirect(url_for("alumni.map_at_revision", roadmap_id=roadmap.id, revision=revision))
    flash(
        _(
            "The map is back as it was at revision %(revision)s (saved as revision %(new)s).",
            revision=revision,
            new=applied.revision,
        ),
        "success",
    )
    return redirect(url_for("editor.edit", roadmap_id=roadmap.id))


# --- since the training -----------------------------------------------------------------


@bp.get("/maps/<int:roadmap_id>/since-training")
@login_required
def since_training(roadmap_id: int):
    roadmap = _viewable_roadmap(roadmap_id)
    baseline = baselines.baseline_of(roadmap.id)
    current = snapshots.snapshot(roadmap)
    context = {
        "roadmap": roadmap,
        "group": roadmap.group,
        "baseline": baseline,
        "progress": progress(current, _today(roadmap)),
        "members": {m["id"]: m["name"] for m in current["members"]},
        "stakeholders": {item["id"]: item for item in current["stakeholders"]},
    }
    if baseline is not None:
        context["comparison"] = compare(baseline.data, current)
        context["progress_then"] = progress(
            baseline.data, local(baseline.created_at, roadmap.group.training.timezone).date()
        )
        context["stakeholders"] = {
            **{item["id"]: item for item in baseline.data["stakeholders"]},
            **context["stakeholders"],
        }
    return render_template("alumni/since_training.html", change_labels=CHANGE_LABELS, **context)


# --- sharing ---------------------------------------------------------------------------------


@bp.get("/maps/<int:roadmap_id>/share")
@login_required
def share(roadmap_id: int):
    """Read-only link (with its QR code) and calendar feed (with how to subscribe), and the export formats."""
    roadmap = _viewable_roadmap(roadmap_id)
    links = {kind: share_links.active_link(roadmap.id, kind) for kind in SHARE_KINDS}
    tokens = {kind: share_links.link_token(link) if link else None for kind, link in links.items()}
    view_url = public_url("alumni.shared_view", share_token=tokens["view"]) if tokens["view"] else None
    calendar_url = public_url("alumni.calendar_feed", calendar_token=tokens["calendar"]) if tokens["calendar"] else None
    return render_template(
        "alumni/share.html",
        roadmap=roadmap,
        group=roadmap.group,
        links=links,
        form=ShareForm(),
        urls={"view": view_url, "calendar": calendar_url},
        view_qr=segno.make(view_url, error="m").svg_data_uri(scale=5, border=2, dark="#1b1f24") if view_url else None,
        subscribe=_subscribe_links(calendar_url) if calendar_url else None,
    )


def _subscribe_links(calendar_url: str) -> dict:
    """webcal:// opens a phone's calendar app on the feed; Google Calendar's cid= offers to add it."""
    webcal_url = "webcal://" + calendar_url.split("://", 1)[1]
    return {"webcal": webcal_url, "google": "https://calendar.google.com/calendar/r?cid=" + quote(webcal_url, safe="")}


@bp.post("/maps/<int:roadmap_id>/share/<kind>")
@login_required
def change_link(roadmap_id: int, kind: str):
    """Make, revoke or renew the read-only link or the calendar feed."""
    roadmap = _viewable_roadmap(roadmap_id)
    form = ShareForm()
    if kind not in SHARE_KINDS or not form.validate_on_submit():
        abort(400)
    person = current_user._get_current_object()
    if form.action.data == "create":
        share_links.share(roadmap, person, kind)
    elif form.action.data == "renew":
        share_links.renew(roadmap, person, kind)
        flash(_("A new link is made; the old one no longer works."), "success")
    else:
        share_links.revoke(roadmap, kind)
        flash(_("The link no longer works."), "success")
    return redirect(url_for("alumni.share", roadmap_id=roadmap.id))


@bp.get("/shared/<share_token>")
def shared_view(share_token: str):
    link = share_links.link_for_token(share_token, "view")
    if link is None:
        abort(404)
    return render_template("alumni/shared.html", token=share_token, **_shared_context(link))


@bp.get("/shared/<share_token>/map")
def shared_map(share_token: str):
    link = share_links.link_for_token(share_token, "view")
    if link is None:
        abort(404)
    return render_template("maps/_map_view.html", **_shared_context(link))


def _shared_context(link) -> dict:
    roadmap = link.roadmap
    show_times_of(roadmap.group.training)
    return {
        "training": roadmap.group.training,
        **map_view_context(roadmap.group, snapshots.snapshot(roadmap), with_progress=True),
    }


@bp.get("/calendar/<calendar_token>.ics")
@throttled_calendar_feed
def calendar_feed(calendar_token: str):
    link = share_links.link_for_token(calendar_token, "calendar")
    if link is None:
        abort(404)
    map_url = url_for("editor.edit", roadmap_id=link.roadmap.id, _external=True)
    return Response(
        exports.calendar_for(link.roadmap, map_url=map_url),
        mimetype="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
