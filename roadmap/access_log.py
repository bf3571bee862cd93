"""The server's access log, without the secrets some URLs carry.

A read-only link, a calendar feed, a personal sign-in link, a password reset, an
unsubscribe link and a device code each let in whoever has the URL. The log
keeps the first four characters of such a secret (enough to tell two apart) and
drops the rest: `/shared/abcd…`.

Which path segments are secrets comes from the app's own URL rules: every
argument named `token` or `…_token`, so a new route that follows the naming is
masked without listing it here.
"""

from __future__ import annotations

import logging
import re

from werkzeug.routing import Map

SECRET_ARGUMENT = re.compile(r"(?:^|_)token$")
SECRET_QUERY = re.compile(r"([?&](?:code|token)=)([^&#\s\"]+)")
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_SEGMENT = r"[^/?#\s\"]+"
KEPT_CHARACTERS = 4


def masked(secret: str) -> str:
    """`abcd…` of a long secret; a short one (a six-character device code) goes whole."""
    if secret.endswith("…"):
        return secret  # masked already, by the rule of a shorter path
    return secret[:KEPT_CHARACTERS] + "…" if len(secret) >= 16 else "…"


def secret_paths(url_map: Map) -> list[re.Pattern]:
    """For each URL rule with a secret in its path, a pattern whose groups are the secrets."""
    patterns = []
    for rule in url_map.iter_rules():
        if not any(SECRET_ARGUMENT.search(name) for name in rule.arguments):
            continue
        pattern, position = "", 0
        for argument in _ARGUMENT.finditer(rule.rule):
            pattern += re.escape(rule.rule[position : argument.start()])
            secret = SECRET_ARGUMENT.search(argument.group(1))
            pattern += f"({_SEGMENT})" if secret else _SEGMENT
            position = argument.end()
        patterns.append(re.compile(pattern + re.escape(rule.rule[position:])))
    return patterns


class SecretsMasked(logging.Filter):
    """Masks the secrets in every record's message that passes the logger it is on."""

    def __init__(self, url_map: Map):
        super().__init__()
        self.patterns = secret_paths(url_map)

    def mask(self, line: str) -> str:
        for pattern in self.patterns:
            line = pattern.sub(_masking_groups, line)
        return SECRET_QUERY.sub(lambda match: match.group(1) + masked(match.group(2)), line)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.mask(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _masking_groups(match: re.Match) -> str:
    text, start = "", match.start()
    for group in range(1, (match.re.groups or 0) + 1):
        text += match.string[start : match.start(group)] + masked(match.group(group))
        start = match.end(group)
    return text + match.string[start : match.end()]


def mask_secrets(url_map: Map) -> None:
    """Masks secrets in the lines gunicorn writes to its access log (the logger its docs name)."""
    logger = logging.getLogger("gunicorn.access")
    if not any(isinstance(existing, SecretsMasked) for existing in logger.filters):
        logger.addFilter(SecretsMasked(url_map))
