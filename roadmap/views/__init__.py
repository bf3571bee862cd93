"""Blueprints, one per area."""

from datetime import date

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from roadmap.domain import stakeholder_grid
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES
from roadmap.extensions import login_manager
from roadmap.heavy_work import HeavyWorkFailed
from roadmap.services import accounts, comments

# Blueprints whose pages are for people who sign in with a password.
PASSWORD_AREAS = frozenset({"moderate", "alumni", "mail"})


def _unseen_mentions() -> list[dict]:
    """The top bar's mentions of the signed-in person (participants; moderators are not mentioned)."""
    from flask_login import current_user

    if not current_user.is_authenticated or current_user.is_moderator:
        return []
    return comments.unseen_mentions(current_user.id)


def init_app(app: Flask) -> None:
    from roadmap.views import alumni, api, auth, editor, exports, mail, main, moderate, zones

    for module in (main, auth, moderate, editor, alumni, exports, api, mail):
        app.register_blueprint(module.bp)
    zones.init_app(app)

    login_manager.login_message = _l("Please sign in first.")
    login_manager.login_message_category = "info"

    app.jinja_env.globals.update(
        current_locale=lambda: str(get_locale()),
        format_date=format_date,
        format_datetime=format_datetime,
        vocabulary_themes=THEMES,
        vocabulary_statuses=STEP_STATUSES,
        vocabulary_sectors=SECTORS,
        vocabulary_engagement=ENGAGEMENT_LEVELS,
        grid_rules=stakeholder_grid,
        unseen_mentions=_unseen_mentions,
    )
    app.jinja_env.filters.update(
        fromisodate=date.fromisoformat,
    )

    @app.errorhandler(429)
    def too_many_attempts(error):
        if error.response is not None:  # a limit that words its own answer (views/throttles.py)
            return error.response
        message = _("Too many attempts from your network. Wait a minute and try again.")
        if request.path.startswith("/api/"):
            return jsonify({"ok": False, "error": {"code": "rate_limited", "message": message}}), 429
        return render_template("errors/too_many.html", message=message), 429

    @app.errorhandler(HeavyWorkFailed)
    def heavy_work_failed(failure: HeavyWorkFailed):
        message = _(failure.message)
        if request.path.startswith("/api/"):
            return jsonify({"ok": False, "error": {"code": failure.code, "message": message}}), 503
        return render_template("errors/too_many.html", heading=_("The file could not be made"), message=message), 503

    @app.errorhandler(CSRFError)
    def form_expired(_error):
        message = _("The form has expired. Reload the page and try again.")
        if request.headers.get("X-Requested-With") == "fetch" or request.path.startswith("/api/"):
            return jsonify({"ok": False, "message": message, "error": {"code": "csrf", "message": message}}), 400
        return render_template("errors/expired.html", message=message), 400

    @login_manager.user_loader
    def load_person(session_id: str):
        return accounts.person_for_session_id(session_id)

    @login_manager.unauthorized_handler
    def send_to_start():
        # People who keep access sign in with a password; join-code people start over at the start page.
        # request.blueprints: a nested blueprint's parents too (moderate.facilitate is in moderate).
        if PASSWORD_AREAS.intersection(request.blueprints) or request.endpoint == "exports.import_map":
            return redirect(url_for("auth.sign_in", next=request.full_path))
        return redirect(url_for("main.start"))
