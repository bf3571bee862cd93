"""History in words: every logged change told as one sentence in the reader's language.

Sentence style. A Russian past-tense verb agrees with its subject's gender
("перенёс", "перенесла") and the app does not know the author's gender. So a
Russian sentence names the author, then a colon, then says what happened with a
passive or impersonal form that agrees with the thing changed, never with the
person: «Мария: срок шага «Встреча с жителями» перенесён с 10 мая на 17 мая.»
The same goes for owners ("за шаг … теперь отвечает Олег", present tense).
English keeps the plain active voice: "Maria moved the due date of step
“Meeting residents” from 10 May to 17 May."

Each sentence is one whole catalog message with named placeholders, so a
translator sees and can reorder the full sentence. Only data goes into the
placeholders: names, titles (shortened), formatted dates and percents, and the
translated labels of the vocabulary. A date shows its year only when it falls
in another year than the change itself (in the shown time zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from flask_babel import format_date, format_percent, gettext, to_user_timezone
from sqlalchemy import or_, select

from roadmap.domain.errors import N_
from roadmap.domain.operations import FIELDS_BY_TARGET, Choice, Day, Owner, Percent, Score, TextField
from roadmap.domain.vocabulary import ENGAGEMENT_LEVELS, SECTORS, STEP_STATUSES, THEMES
from roadmap.extensions import db
from roadmap.models import Change, Membership, Person, Roadmap, Stakeholder
from roadmap.timeutil import utcnow

QUOTE_LIMIT = 60  # characters of a title or text quoted in a sentence
_LABELS = {"theme": THEMES, "status": STEP_STATUSES, "sector": SECTORS, "engagement": ENGAGEMENT_LEVELS}


@dataclass(frozen=True)
class Names:
    """The names a map's history refers to: people by id, stakeholders by id."""

    people: dict[int, str] = field(default_factory=dict)
    stakeholders: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """One change of the history, told in words. `at` is naive UTC, as logged."""

    revision: int
    at: datetime
    author_id: int | None
    author_name: str
    sentence: str
    step_id: str | None = None
    stakeholder_id: str | None = None


def names_for(roadmap_id: int) -> Names:
    """Everyone who belongs to the map's group or ever edited the map, and every
    stakeholder of the map, deleted ones included; two queries."""
    group_id = select(Roadmap.group_id).where(Roadmap.id == roadmap_id).scalar_subquery()
    members = select(Membership.person_id).where(Membership.group_id == group_id)
    authors = select(Change.author_id).where(Change.roadmap_id == roadmap_id, Change.author_id.is_not(None))
    people = db.session.execute(
        select(Person.id, Person.display_name).where(or_(Person.id.in_(members), Person.id.in_(authors)))
    ).all()
    stakeholders = db.session.execute(
        select(Stakeholder.id, Stakeholder.name).where(Stakeholder.roadmap_id == roadmap_id)
    ).all()
    return Names(people=dict(people), stakeholders=dict(stakeholders))


def history(
    roadmap: Roadmap,
    person_id: int | None = None,
    step_id: str | None = None,
    limit: int = 200,
    before_revision: int | None = None,
) -> list[Entry]:
    """The map's changes as sentences, newest first, in three queries however many there are.

    `person_id` keeps one author's changes. `step_id` keeps the changes of one
    step, its links included, and every map.restore, which may change any
    step. `before_revision` pages back: pass the last entry's revision.
    """
    names = names_for(roadmap.id)
    query = select(Change).where(Change.roadmap_id == roadmap.id)
    if person_id is not None:
        query = query.where(Change.author_id == person_id)
    if step_id is not None:
        query = query.where(
            or_(
                Change.op["step_id"].as_string() == step_id,
                Change.op["type"].as_string() == "map.restore",
            )
        )
    if before_revision is not None:
        query = query.where(Change.revision < before_revision)
    changes = db.session.scalars(query.order_by(Change.revision.desc()).limit(limit)).all()
    return [
        Entry(
            revision=change.revision,
            at=change.created_at,
            author_id=change.author_id,
            author_name=_author(change, names),
            sentence=describe(change, names),
            step_id=(change.op or {}).get("step_id"),
            stakeholder_id=(change.op or {}).get("stakeholder_id"),
        )
        for change in changes
    ]


def describe(change: Change, names: Names) -> str:
    """One sentence, in the current locale, saying who did what in this change."""
    op = change.op or {}
    describer = _DESCRIBERS.get(op.get("type"))
    told = _Telling(change, names)
    if describer is None:
        return gettext("%(who)s changed the road map.", who=told.who)
    return describer(told, op, change.before or {})


class _Telling:
    """What every sentence of one change needs: the author, names, and how to render values."""

    def __init__(self, change: Change, names: Names):
        self.names = names
        self.who = _author(change, names)
        # The year where the change was made: the shown zone (i18n.show_times_in), not UTC.
        self.year = to_user_timezone(change.created_at or utcnow()).year

    def step(self, op: dict, before: dict) -> str:
        if "step_title" in before:
            title = before["step_title"]
        else:
            title = (op.get("fields") or op.get("step") or {}).get("title", "")
        return _title(title)

    def stakeholder(self, op: dict, before: dict) -> str:
        if "stakeholder_name" in before:
            name = before["stakeholder_name"]
        elif "fields" in op or "stakeholder" in op:
            name = (op.get("fields") or op.get("stakeholder") or {}).get("name", "")
        else:
            name = self.names.stakeholders.get(op.get("stakeholder_id"), "")
        return _title(name)

    def value(self, spec, field_name: str, value: Any) -> str:
        """A field value as the reader sees it on the page."""
        if _is_empty(value):
            return ""
        if isinstance(spec, Choice):
            label = _LABELS.get(field_name, {}).get(value)
            return gettext(label) if label else str(value)
        if isinstance(spec, Percent):
            return format_percent(value / 100)
        if isinstance(spec, Day):
            return self.day(value)
        if isinstance(spec, Owner):
            return self.owner(value)
        if isinstance(spec, Score):
            return str(value)
        return shorten(str(value))

    def day(self, iso: str) -> str:
        day = date.fromisoformat(iso)
        return format_date(day, "d MMMM" if day.year == self.year else "d MMMM y")

    def owner(self, owner: dict) -> str:
        if "member" in owner:
            return self.names.people.get(owner["member"]) or gettext("a former member")
        if "stakeholder" in owner:
            return shorten(self.names.stakeholders.get(owner["stakeholder"], "")) or gettext("a stakeholder")
        return shorten(owner.get("text", ""))


def _author(change: Change, names: Names) -> str:
    name = names.people.get(change.author_id) if change.author_id is not None else None
    return name or gettext("Someone")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """One line of at most `limit` characters, cut at a word where it can be."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:—-") + "…"


def _title(title: str) -> str:
    return shorten(title) or gettext("untitled")


# --- the sentences ----------------------------------------------------------------


class _Wording(NamedTuple):
    """The sentences for one field: changed from one value to another, first set, cleared."""

    changed: str
    set: str | None = None
    cleared: str | None = None


_SET_WORDING = {
    ("map", "title"): _Wording(
        changed=N_("%(who)s renamed the project from “%(old)s” to “%(new)s”."),
        set=N_("%(who)s named the project “%(new)s”."),
        cleared=N_("%(who)s deleted the title of the project “%(old)s”."),
    ),
    ("map", "problem"): _Wording(
        changed=N_("%(who)s edited the description of the problem: “%(new)s”."),
        set=N_("%(who)s described the problem: “%(new)s”."),
        cleared=N_("%(who)s deleted the description of the problem."),
    ),
    ("map", "goal"): _Wording(
        changed=N_("%(who)s edited the project goal: “%(new)s”."),
        set=N_("%(who)s set the project goal: “%(new)s”."),
        cleared=N_("%(who)s deleted the project goal."),
    ),
    ("map", "territory"): _Wording(
        changed=N_("%(who)s changed the territory to “%(new)s”."),
        set=N_("%(who)s set the territory: “%(new)s”."),
        cleared=N_("%(who)s deleted the territory."),
    ),
    ("map", "theme"): _Wording(
        changed=N_("%(who)s changed the project theme from “%(old)s” to “%(new)s”."),
    ),
    ("map", "expected_results"): _Wording(
        changed=N_("%(who)s edited the expected results: “%(new)s”."),
        set=N_("%(who)s described the expected results: “%(new)s”."),
        cleared=N_("%(who)s deleted the expected results."),
    ),
    ("step", "title"): _Wording(
        changed=N_("%(who)s renamed step “%(old)s” to “%(new)s”."),
        set=N_("%(who)s gave an untitled step the title “%(new)s”."),
        cleared=N_("%(who)s deleted the title of step “%(old)s”."),
    ),
    ("step", "description"): _Wording(
        changed=N_("%(who)s edited the description of step “%(step)s”: “%(new)s”."),
        set=N_("%(who)s described step “%(step)s”: “%(new)s”."),
        cleared=N_("%(who)s deleted the description of step “%(step)s”."),
    ),
    ("step", "owner"): _Wording(
        changed=N_("%(who)s changed the owner of step “%(step)s” from %(old)s to %(new)s."),
        set=N_("%(who)s made %(new)s the owner of step “%(step)s”."),
        cleared=N_("%(who)s removed the owner of step “%(step)s”."),
    ),
    ("step", "starts_on"): _Wording(
        changed=N_("%(who)s moved the start date of step “%(step)s” from %(old)s to %(new)s."),
        set=N_("%(who)s set the start date of step “%(step)s” to %(new)s."),
        cleared=N_("%(who)s removed the start date of step “%(step)s”."),
    ),
    ("step", "due_on"): _Wording(
        changed=N_("%(who)s moved the due date of step “%(step)s” from %(old)s to %(new)s."),
        set=N_("%(who)s set the due date of step “%(step)s” to %(new)s."),
        cleared=N_("%(who)s removed the due date of step “%(step)s”."),
    ),
    ("step", "status"): _Wording(
        changed=N_("%(who)s changed the status of step “%(step)s” from “%(old)s” to “%(new)s”."),
    ),
    ("step", "progress"): _Wording(
        changed=N_("%(who)s changed the progress of step “%(step)s” from %(old)s to %(new)s."),
        set=N_("%(who)s marked step “%(step)s” as %(new)s done."),
        cleared=N_("%(who)s removed the progress of step “%(step)s”."),
    ),
    ("step", "resources"): _Wording(
        changed=N_("%(who)s edited the resources for step “%(step)s”: “%(new)s”."),
        set=N_("%(who)s listed the resources for step “%(step)s”: “%(new)s”."),
        cleared=N_("%(who)s deleted the resources for step “%(step)s”."),
    ),
    ("step", "success_measure"): _Wording(
        changed=N_("%(who)s edited how the success of step “%(step)s” is measured: “%(new)s”."),
        set=N_("%(who)s wrote how the success of step “%(step)s” is measured: “%(new)s”."),
        cleared=N_("%(who)s deleted how the success of step “%(step)s” is measured."),
    ),
    ("stakeholder", "name"): _Wording(
        changed=N_("%(who)s renamed stakeholder “%(old)s” to “%(new)s”."),
        set=N_("%(who)s gave an unnamed stakeholder the name “%(new)s”."),
        cleared=N_("%(who)s deleted the name of stakeholder “%(old)s”."),
    ),
    ("stakeholder", "sector"): _Wording(
        changed=N_("%(who)s changed the sector of stakeholder “%(stakeholder)s” from “%(old)s” to “%(new)s”."),
        set=N_("%(who)s set the sector of stakeholder “%(stakeholder)s”: “%(new)s”."),
        cleared=N_("%(who)s marked the sector of stakeholder “%(stakeholder)s” as not chosen."),
    ),
    ("stakeholder", "contact"): _Wording(
        changed=N_("%(who)s changed the contact person of stakeholder “%(stakeholder)s” to “%(new)s”."),
        set=N_("%(who)s added a contact person for stakeholder “%(stakeholder)s”: “%(new)s”."),
        cleared=N_("%(who)s deleted the contact person of stakeholder “%(stakeholder)s”."),
    ),
    ("stakeholder", "interest"): _Wording(
        changed=N_("%(who)s changed the interest of stakeholder “%(stakeholder)s” from %(old)s to %(new)s (out of 5)."),
        set=N_("%(who)s rated the interest of stakeholder “%(stakeholder)s” %(new)s out of 5."),
        cleared=N_("%(who)s marked the interest of stakeholder “%(stakeholder)s” as not rated."),
    ),
    ("stakeholder", "influence"): _Wording(
        changed=N_(
            "%(who)s changed the influence of stakeholder “%(stakeholder)s” from %(old)s to %(new)s (out of 5)."
        ),
        set=N_("%(who)s rated the influence of stakeholder “%(stakeholder)s” %(new)s out of 5."),
        cleared=N_("%(who)s marked the influence of stakeholder “%(stakeholder)s” as not rated."),
    ),
    ("stakeholder", "engagement"): _Wording(
        changed=N_("%(who)s changed how the group engages stakeholder “%(stakeholder)s” from “%(old)s” to “%(new)s”."),
    ),
}


def _field_set(told: _Telling, op: dict, before: dict) -> str:
    target = op["type"].split(".", 1)[0]
    field_name = op.get("field")
    wording = _SET_WORDING.get((target, field_name))
    if wording is None:
        return gettext("%(who)s changed the road map.", who=told.who)
    spec = FIELDS_BY_TARGET[target][field_name]
    old, new = before.get("value"), op.get("value")
    if _is_empty(new) and wording.cleared:
        sentence = wording.cleared
    elif _is_empty(old) and wording.set:
        sentence = wording.set
    else:
        sentence = wording.changed
    if isinstance(spec, TextField) and not spec.multiline:
        old_text, new_text = _title(old or ""), _title(new or "")  # titles and names
    else:
        old_text, new_text = told.value(spec, field_name, old), told.value(spec, field_name, new)
    items = {}
    if target == "step":
        items["step"] = told.step(op, before)
    elif target == "stakeholder":
        items["stakeholder"] = told.stakeholder(op, before)
    return gettext(sentence, who=told.who, old=old_text, new=new_text, **items)


def _map_lock(told: _Telling, op: dict, before: dict) -> str:
    if op.get("locked"):
        return gettext("%(who)s locked the road map.", who=told.who)
    return gettext("%(who)s unlocked the road map.", who=told.who)


def _map_restore(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s restored the road map as it was at revision %(revision)s.", who=told.who, revision=op.get("revision")
    )


def _step_add(told: _Telling, op: dict, before: dict) -> str:
    return gettext("%(who)s added step “%(step)s”.", who=told.who, step=told.step(op, before))


def _step_move(told: _Telling, op: dict, before: dict) -> str:
    step = told.step(op, before)
    old, new = before.get("position"), op.get("position")
    if old is None or new is None or old == new:
        return gettext("%(who)s moved step “%(step)s”.", who=told.who, step=step)
    if new < old:  # the other steps keep their keys, so key order tells the way
        return gettext("%(who)s moved step “%(step)s” up.", who=told.who, step=step)
    return gettext("%(who)s moved step “%(step)s” down.", who=told.who, step=step)


def _step_delete(told: _Telling, op: dict, before: dict) -> str:
    return gettext("%(who)s deleted step “%(step)s”.", who=told.who, step=told.step(op, before))


def _step_restore(told: _Telling, op: dict, before: dict) -> str:
    return gettext("%(who)s restored step “%(step)s”.", who=told.who, step=told.step(op, before))


def _step_link(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s involved stakeholder “%(stakeholder)s” in step “%(step)s”.",
        who=told.who,
        step=told.step(op, before),
        stakeholder=told.stakeholder(op, before),
    )


def _step_unlink(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s removed stakeholder “%(stakeholder)s” from step “%(step)s”.",
        who=told.who,
        step=told.step(op, before),
        stakeholder=told.stakeholder(op, before),
    )


def _step_depend(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s made step “%(step)s” wait for step “%(predecessor)s”.",
        who=told.who,
        step=told.step(op, before),
        predecessor=_title(before.get("predecessor_title", "")),
    )


def _step_undepend(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s let step “%(step)s” no longer wait for step “%(predecessor)s”.",
        who=told.who,
        step=told.step(op, before),
        predecessor=_title(before.get("predecessor_title", "")),
    )


# Comments are told without their words: a moderator may hide them later.
def _comment_add(told: _Telling, op: dict, before: dict) -> str:
    if op.get("parent_id"):
        return gettext("%(who)s replied to a comment on step “%(step)s”.", who=told.who, step=told.step(op, before))
    return gettext("%(who)s commented on step “%(step)s”.", who=told.who, step=told.step(op, before))


def _comment_edit(told: _Telling, op: dict, before: dict) -> str:
    return gettext("%(who)s edited their comment on step “%(step)s”.", who=told.who, step=told.step(op, before))


def _comment_delete(told: _Telling, op: dict, before: dict) -> str:
    return gettext("%(who)s deleted their comment on step “%(step)s”.", who=told.who, step=told.step(op, before))


def _comment_hide(told: _Telling, op: dict, before: dict) -> str:
    if op.get("hidden"):
        return gettext("%(who)s hid a comment on step “%(step)s”.", who=told.who, step=told.step(op, before))
    return gettext(
        "%(who)s showed a hidden comment on step “%(step)s” again.", who=told.who, step=told.step(op, before)
    )


def _stakeholder_add(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s added stakeholder “%(stakeholder)s”.", who=told.who, stakeholder=told.stakeholder(op, before)
    )


def _stakeholder_delete(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s deleted stakeholder “%(stakeholder)s”.", who=told.who, stakeholder=told.stakeholder(op, before)
    )


def _stakeholder_restore(told: _Telling, op: dict, before: dict) -> str:
    return gettext(
        "%(who)s restored stakeholder “%(stakeholder)s”.", who=told.who, stakeholder=told.stakeholder(op, before)
    )


_DESCRIBERS = {
    "map.set": _field_set,
    "map.lock": _map_lock,
    "map.restore": _map_restore,
    "step.add": _step_add,
    "step.set": _field_set,
    "step.move": _step_move,
    "step.delete": _step_delete,
    "step.restore": _step_restore,
    "step.link": _step_link,
    "step.unlink": _step_unlink,
    "step.depend": _step_depend,
    "step.undepend": _step_undepend,
    "stakeholder.add": _stakeholder_add,
    "stakeholder.set": _field_set,
    "stakeholder.delete": _stakeholder_delete,
    "stakeholder.restore": _stakeholder_restore,
    "comment.add": _comment_add,
    "comment.edit": _comment_edit,
    "comment.delete": _comment_delete,
    "comment.hide": _comment_hide,
}
