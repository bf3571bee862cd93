"""Form validators shared by every area's forms."""
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from roadmap.domain.text import has_control_characters


class NoControlCharacters:
    """Refuses control characters, as ops do (roadmap/domain/text.py); on every text field but passwords."""

    message = _l("Remove the control characters from this text.")

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data):
            raise ValidationError(self.message)
