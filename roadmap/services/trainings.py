"""Trainings, working groups and joining them with a code."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

from sqlalchemy import delete, select

from roadmap import timeutil
from roadmap.domain.text import has_control_characters, single_line
from roadmap.extensions import db
from roadmap.models import Group, JoinBlock, Membership, Person, Roadmap, Training, TrainingModerator
from roadmap.models.people import MEMBER_COLORS
from roadmap.realtime import departures, publisher
from roadmap.services import facilitation, snapshots
from roadmap.services.transactions import writing
from roadmap.timeutil import utcnow

# No 0/O, 1/I/L: codes are read off a projector and typed on phones.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


class JoinError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def normalise_join_code(raw: str) -> str:
    return "".join(raw.split()).upper().replace("-", "")


def _new_join_code() -> str:
    while True:
        code = "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
        if db.session.scalar(select(Training.id).where(Training.join_code == code)) is None:
            return code


def create_training(moderator: Person, title: str, city: str, venue: str, starts_on: date, ends_on: date) -> Training:
    with writing():
        training = Training(
            title=title.strip(),
            city=city.strip(),
            venue=venue.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
            moderator_id=moderator.id,
            join_code=_new_join_code(),
        )
        db.session.add(training)
    return training


def update_settings(training: Training, zone: str, digest_weekday: int, digest_hour: int) -> Training:
    if not timeutil.is_known_zone(zone) or not 0 <= digest_weekday <= 6 or not 0 <= digest_hour <= 23:
        raise ValueError("unknown time zone or digest time")
    with writing():
        training.timezone, training.digest_weekday, training.digest_hour = zone, digest_weekday, digest_hour
    return training


def create_group(training: Training, name: str, theme: str) -> Group:
    """A working group with its empty road map at revision 0."""
    with writing():
        group = Group(training_id=training.id, name=name.strip(), theme=theme)
        group.roadmap = Roadmap(theme=theme)
        db.session.add(group)
    return group


def trainings_of(moderator: Person) -> list[Training]:
    """The trainings the person made or co-moderates."""
    co_moderated = select(TrainingModerator.training_id).where(TrainingModerator.person_id == moderator.id)
    return db.session.scalars(
        select(Training)
        .where((Training.moderator_id == moderator.id) | Training.id.in_(co_moderated))
        .order_by(Training.starts_on.desc())
    ).all()


def add_co_moderator(training: Training, inviter: Person, email: str, display_name: str) -> Person:
    """Another moderator runs the training too. An e-mail without an account gets a moderator
    account without a password (its owner sets one through an invitation link)."""
    email = email.strip().lower()
    display_name = single_line(display_name, 80)
    if has_control_characters(email) or has_control_characters(display_name):
        raise JoinError("name_has_control_characters")
    with writing():
        db.session.execute(select(Training.id).where(Training.id == training.id).with_for_update())
        person = db.session.scalar(select(Person).where(Person.email == email))
        if person is None:
            person = Person(email=email, display_name=display_name or email, is_moderator=True)
            db.session.add(person)
            db.session.flush()
        elif not person.is_moderator:
            raise JoinError("participant_email")
        elif person.id in training.moderator_ids:
            raise JoinError("already_moderator")
        training.co_moderators.append(TrainingModerator(person_id=person.id, added_by_id=inviter.id))
    return person


def remove_co_moderator(training: Training, person_id: int) -> None:
    """The training's own moderator stays; a co-moderator's past edits stay theirs."""
    with writing():
        link = next((link for link in training.co_moderators if link.person_id == person_id), None)
        if link is not None:
            training.co_moderators.remove(link)


def training_for_code(raw_code: str) -> Training | None:
    code = normalise_join_code(raw_code or "")
    if len(code) != JOIN_CODE_LENGTH:
        return None
    return db.session.scalar(select(Training).where(Training.join_code == code))


def refusal_to_join(training: Training, person: Person | None) -> str | None:
    """Why the code lets this person in nowhere now: "joining_closed", "join_blocked", or None."""
    if training.joining_closed_at is not None:
        return "joining_closed"
    if person is not None and db.session.get(JoinBlock, (training.id, person.id)) is not None:
        return "join_blocked"
    return None


def join_group(
    training: Training,
    group_id: int,
    display_name: str,
    person: Person | None,
    different_person: bool = False,
    admit_new_person: Callable[[], bool] = lambda: True,
) -> Person:
    """Put a participant into a group, reusing the identity this browser already has.

    A name another member of the group already goes by is refused (name_taken) unless the
    joiner said they are a different person: it is most often the same person on a second
    device, who should carry their identity over with a device code instead. A new identity
    is made only if `admit_new_person()` says so, the last check before the write."""
    refusal = refusal_to_join(training, person)
    if refusal is not None:
        raise JoinError(refusal)
    group = db.session.get(Group, group_id)
    if group is None or group.training_id != training.id or group.archived:
        raise JoinError("group_not_found")
    if has_control_characters(display_name):
        raise JoinError("invalid_value")
    display_name = single_line(display_name, 80)
    if not display_name:
        raise JoinError("name_required")
    if not different_person and namesake_in(group.id, display_name, person) is not None:
        raise JoinError("name_taken")
    new_person = person is None or person.is_moderator
    if new_person and not admit_new_person():
        raise JoinError("too_many_new_people")
    with writing():
        if new_person:
            person = Person(display_name=display_name)
            db.session.add(person)
            db.session.flush()
        else:
            person = db.session.merge(person)
            person.display_name = display_name
        already = db.session.scalar(
            select(Membership).where(Membership.person_id == person.id, Membership.group_id == group.id)
        )
        if already is None:
            db.session.add(Membership(person_id=person.id, group_id=group.id, color=_free_color(group)))
            publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))
    return person


def renew_join_code(training: Training) -> str:
    """A new join code; the old one lets nobody in from now on. Members stay where they are."""
    with writing():
        training.join_code = _new_join_code()
        publisher.projector_changed(
            training.id, facilitation.projector_data(training)
        )  # its join screen shows the code
    return training.join_code


def set_joining_open(training: Training, joining_open: bool) -> Training:
    """Close joining once the groups are formed (the code then lets nobody in), or open it again."""
    with writing():
        if not joining_open and training.joining_closed_at is None:
            training.joining_closed_at = utcnow()
        elif joining_open:
            training.joining_closed_at = None
    return training


def blocked_people(training: Training) -> list[Person]:
    """The people the moderators keep from joining the training again, by name."""
    return list(
        db.session.scalars(
            select(Person)
            .join(JoinBlock, JoinBlock.person_id == Person.id)
            .where(JoinBlock.training_id == training.id)
            .order_by(Person.display_name)
        )
    )


def allow_rejoining(training: Training, person_id: int) -> None:
    """«Разрешить снова»: the person may join the training with its code again."""
    with writing():
        db.session.execute(
            delete(JoinBlock).where(JoinBlock.training_id == training.id, JoinBlock.person_id == person_id)
        )


def comparable_name(display_name: str) -> str:
    """A name as people tell names apart: case, spaces and ё/е do not count."""
    return " ".join(display_name.casefold().replace("ё", "е").split())


def namesake_in(group_id: int, display_name: str, person: Person | None) -> Person | None:
    """Another member of the group who goes by this name, or None."""
    wanted = comparable_name(display_name)
    members = db.session.scalars(
        select(Person).join(Membership, Membership.person_id == Person.id).where(Membership.group_id == group_id)
    )
    return next(
        (
            member
            for member in members
            if comparable_name(member.display_name) == wanted and (person is None or member.id != person.id)
        ),
        None,
    )


def _free_color(group: Group) -> str:
    used = [color for color in db.session.scalars(select(Membership.color).where(Membership.group_id == group.id))]
    for color in MEMBER_COLORS:
        if color not in used:
            return color
    return MEMBER_COLORS[len(used) % len(MEMBER_COLORS)]


def groups_of_member(person: Person) -> list[Group]:
    return [membership.group for membership in person.memberships if not membership.group.archived]


def rename_group(group: Group, name: str) -> Group:
    if has_control_characters(name):
        raise JoinError("invalid_value")
    name = single_line(name, 120)
    if not name:
        raise JoinError("name_required")
    with writing():
        group.name = name
        publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))  # refreshes the dashboard card
    return group


def set_archived(group: Group, archived: bool) -> Group:
    """An archived group disappears from the join page and the dashboard; its map stays readable to the moderator."""
    with writing():
        group.archived = archived
        publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))
    departures.send_away_who_lost(group, "archived")
    return group


def move_member(membership: Membership, to_group: Group) -> Membership:
    """Move a participant to another group of the same training; what they wrote stays where it is."""
    from_group, person_id = membership.group, membership.person_id
    if to_group.training_id != from_group.training_id or to_group.archived:
        raise JoinError("group_not_found")
    if to_group.id == from_group.id:
        return membership
    with writing():
        already = db.session.scalar(
            select(Membership).where(Membership.person_id == membership.person_id, Membership.group_id == to_group.id)
        )
        if already is None:
            membership.group_id = to_group.id
            membership.color = _free_color(to_group)
        else:
            db.session.delete(membership)
        db.session.flush()
        db.session.expire_all()
        for group in (from_group, to_group):
            publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))
    departures.send_away_who_lost(from_group, "moved", person_id, to_group)
    return already or membership


def remove_member(membership: Membership, blocked_by: Person | None = None) -> None:
    """Take a participant out of a group; the changes they made keep their name. With `blocked_by`
    (the moderator), the join code no longer lets them back into the training."""
    group, person_id = membership.group, membership.person_id
    with writing():
        if blocked_by is not None and db.session.get(JoinBlock, (group.training_id, membership.person_id)) is None:
            db.session.add(
                JoinBlock(training_id=group.training_id, person_id=membership.person_id, blocked_by_id=blocked_by.id)
            )
        db.session.delete(membership)
        publisher.members_changed(group.roadmap.id, snapshots.members_data(group.id))
    departures.send_away_who_lost(group, "removed", person_id)
