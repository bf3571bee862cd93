"""Every member's marker colour carries white initials at WCAG AA contrast (4.5:1 for small
text); axe sees only the colours of the people in its pages, this sees them all."""

import pytest

from roadmap.models.people import MEMBER_COLORS


def relative_luminance(hex_color: str) -> float:
    channels = [int(hex_color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("color", MEMBER_COLORS)
def test_white_initials_are_readable_on_every_member_color(color):
    contrast_with_white = 1.05 / (relative_luminance(color) + 0.05)
    assert contrast_with_white >= 4.5


def test_member_colors_are_distinct():
    assert len(set(MEMBER_COLORS)) == len(MEMBER_COLORS) == 12
