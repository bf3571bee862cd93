"""How much one road map may hold.

A real group's map has tens of steps and stakeholders; these caps are far above
that and exist to bound the work one map can cause: every step.add reads the
positions of every live step, and exports, snapshots and the PDF render all of
them. Only live items count: a deleted step or stakeholder frees its place, and
restoring it needs a free place again. Links and dependencies count whether or not their step or
stakeholder is deleted, since a restore brings a deleted item's links back.
The import of a file (services/exports/importing.py) uses the same caps.
"""

from roadmap.domain.errors import EditRejected

MAX_STEPS_PER_MAP = 300
MAX_STAKEHOLDERS_PER_MAP = 150
MAX_LINKS_PER_MAP = 1000
MAX_DEPENDENCIES_PER_MAP = 1000
# Comments count while not deleted (a hidden one too: a moderator may show it again).
MAX_COMMENTS_PER_MAP = 3000
MAX_COMMENTS_PER_STEP = 200

_CAPS = {
    "steps": ("too_many_steps", MAX_STEPS_PER_MAP),
    "stakeholders": ("too_many_stakeholders", MAX_STAKEHOLDERS_PER_MAP),
    "links": ("too_many_links", MAX_LINKS_PER_MAP),
    "dependencies": ("too_many_dependencies", MAX_DEPENDENCIES_PER_MAP),
    "comments": ("too_many_comments", MAX_COMMENTS_PER_MAP),
    "comments_on_step": ("too_many_comments", MAX_COMMENTS_PER_STEP),
}


def check_room_for(kind: str, held: int, adding: int = 1) -> None:
    """Refuse an edit that would take a map holding `held` items of `kind` past its cap."""
    code, cap = _CAPS[kind]
    if held + adding > cap:
        raise EditRejected(code, extra={"max": cap})
