"""The JSON export: the portable document (reading.document_of), as UTF-8 text."""

from __future__ import annotations

import json

from roadmap.models import Roadmap
from roadmap.services.exports.reading import document_of


def json_of(roadmap: Roadmap) -> bytes:
    return json.dumps(document_of(roadmap), ensure_ascii=False, indent=2).encode("utf-8")
