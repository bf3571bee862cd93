"""Signing a person in or out on this browser: each time with a fresh session.

Nothing of a session survives a change of who is signed in, its CSRF secret included,
so whoever saw the session before (a shared computer, a planted cookie) holds nothing
of the new one. Only the chosen language stays."""

from flask import session
from flask_login import login_user, logout_user

KEPT_ACROSS_SIGN_IN = ("lang",)


def sign_in(person) -> None:
    """Sign `person` in on this browser, with a remember cookie, in a new session."""
    _start_new_session(keep=KEPT_ACROSS_SIGN_IN)
    login_user(person, remember=True)


def sign_out(forget_language: bool = False) -> None:
    """Sign out of this browser: the session and the remember cookie both go."""
    # Cleared before logout_user, which leaves its order to drop the remember cookie in the session.
    _start_new_session(keep=() if forget_language else KEPT_ACROSS_SIGN_IN)
    logout_user()


def _start_new_session(keep: tuple[str, ...]) -> None:
    kept = {key: session[key] for key in keep if key in session}
    session.clear()
    session.update(kept)
