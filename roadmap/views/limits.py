"""Rate limits per client address on the requests that try a secret: a join code, a password or a
code from another device.

Every such request is counted before its work is done, with the storage's atomic increment, so
a hundred requests sent at once are a hundred attempts, not one check each against the same
count. Successes count too: a venue's room shares one address, and the budget
(`JOIN_RATE_LIMIT`) is sized for it, while new people get a cap of their own
(`JOIN_SUCCESS_RATE_LIMIT`)."""

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import parse_many

from roadmap.extensions import limiter


def _setting(name: str):
    return lambda: current_app.config[name]


# One budget for every route that tries a secret, so spreading guesses over several routes gains nothing.
tries_a_secret = limiter.shared_limit(_setting("JOIN_RATE_LIMIT"), scope="secrets", methods=["POST"])
# GET /join/<code> answers whether a code exists, so reading it counts as well.
looks_up_a_join_code = limiter.shared_limit(_setting("JOIN_RATE_LIMIT"), scope="secrets")
# Passwords (sign-in, first-run setup, the current password on /account) get a tighter budget too.
tries_a_password = limiter.shared_limit(_setting("SIGN_IN_RATE_LIMIT"), scope="passwords", methods=["POST"])
tries_a_device_code = limiter.limit(_setting("DEVICE_CODE_RATE_LIMIT"), methods=["POST"])
# «Забыли пароль?» mails a link: limited per client address and per e-mail address asked about.
asks_for_a_reset = limiter.limit(_setting("PASSWORD_RESET_RATE_LIMIT"), methods=["POST"])


def _requested_address() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


asks_for_a_reset_of_this_address = limiter.limit(
    _setting("PASSWORD_RESET_ADDRESS_RATE_LIMIT"), methods=["POST"], key_func=_requested_address
)


def admit_new_person() -> bool:
    """Count one new person joining from this address; False once `JOIN_SUCCESS_RATE_LIMIT` is used up."""
    identifiers = (current_app.config["RATELIMIT_KEY_PREFIX"], get_remote_address(), "new-people")
    return all(
        limiter.limiter.hit(item, *identifiers) for item in parse_many(current_app.config["JOIN_SUCCESS_RATE_LIMIT"])
    )
