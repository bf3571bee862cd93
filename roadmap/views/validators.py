"""Form validators shared by every area's forms."""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from roadmap.domain.text import has_control_characters
from roadmap.services import accounts


class NoControlCharacters:
    """Refuses control characters, as ops do (roadmap/domain/text.py); on every text field but passwords."""

    message = _l("Remove the control characters from this text.")

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data):
            raise ValidationError(self.message)


# Why a password is refused, by accounts.password_problem's codes.
PASSWORD_PROBLEMS = {
    "password_too_short": _l("The password needs at least 10 characters."),
    "password_common": _l(
        "This password is on the lists of the most common passwords, which are tried first "
        "when breaking into accounts. Choose another: a few words of your own are easy to "
        "remember and hard to guess."
    ),
    "password_repeats": _l(
        "This password repeats the same characters, so it is guessed at once. "
        "Choose another: a few words of your own are easy to remember and hard to guess."
    ),
    "password_guessable": _l(
        "This password is easy to guess: it is made of a common word, a name, a date, a "
        "sequence or a row of the keyboard. Choose another: a few words of your own are "
        "easy to remember and hard to guess."
    ),
}


class StrongPassword:
    """Refuses short, common and easily guessed passwords (accounts.password_problem), telling why."""

    def __call__(self, form, field) -> None:
        hints = [getattr(form, name).data for name in ("email", "display_name") if name in form]
        problem = accounts.password_problem(field.data or "", hints=[hint for hint in hints if isinstance(hint, str)])
        if problem:
            raise ValidationError(str(PASSWORD_PROBLEMS[problem]))
