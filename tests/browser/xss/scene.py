"""The scene: trainings, groups, maps, people and comments holding the planned payloads."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from roadmap.extensions import db
from roadmap.models import Person
from roadmap.services import accounts, editing, facilitation, trainings, voting
from roadmap.services.transactions import writing
from tests.browser.xss.corpus import MAP_TEXT_FIELDS, PASSWORD, STAKEHOLDER_TEXT_FIELDS, STEP_TEXT_FIELDS
from tests.browser.xss.plan import VENUES, ScenePlan

# --- the scene ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedComment:
    """A comment on a step of the joined map, as its thread shows it."""

    id: str
    step_id: str
    parent_id: str | None  # the comment it answers: a reply is shown nested under it
    author: tuple[str, str]  # (field, display name) of its author as it was written; threads are checked before renames
    body: str


@dataclass
class Scene:
    """Trainings, groups and a filled map, every text a packed value of the plan."""

    plan: ScenePlan
    moderator: Person
    trainings: list  # Training, the first is the one joined
    groups: list  # per training, its groups; groups[0][0] is the group joined
    step_ids: list
    stakeholder_ids: list
    members: list = field(default_factory=list)  # (Person, name) present through a socket
    dots: dict = field(default_factory=dict)  # step id -> dots on it in the first training's vote
    comments: list = field(default_factory=list)  # PlannedComment, in the order they were written

    def value(self, name: str, instance: int = 0) -> str:
        return self.plan.values[name][instance]

    @property
    def group(self):
        return self.groups[0][0]

    @property
    def roadmap_id(self) -> int:
        return self.group.roadmap.id

    @property
    def group_names(self) -> list[list[str]]:
        names = iter(self.plan.values["group name"])
        return [[next(names) for _ in groups] for groups in self.groups]

    @property
    def participant_names(self) -> list[str]:
        """Participant 1, participant 2, then those present through a socket."""
        return self.plan.values["participant display name"]

    def step_text(self, step_id: str, name: str) -> str:
        return self.value(name, self.step_ids.index(step_id))

    def stakeholder_text(self, stakeholder_id: str, name: str) -> str:
        return self.value(name, self.stakeholder_ids.index(stakeholder_id))

    def training_texts(self, number: int) -> tuple[str, str]:
        return self.value("training title", number), self.value("training city", number)

    def comment_place(self, number: int) -> tuple[str, str | None]:
        """(step id, parent id) of the comment holding the number-th comment body: the first on the
        first step, the second a reply to it, the last (mentioning participant 1) on the last step,
        any others on the steps in turn."""
        if number == 1:
            return self.comments[0].step_id, self.comments[0].id
        if number == len(self.plan.values["comment body"]) - 1:
            return self.step_ids[-1], None
        return self.step_ids[number % len(self.step_ids)], None

    def comment_threads(self) -> dict[str, list]:
        """Per step with comments, each comment that is not a reply, in order, with its replies."""
        threads = defaultdict(list)
        for comment in self.comments:
            if comment.parent_id is None:
                threads[comment.step_id].append(
                    (comment, [reply for reply in self.comments if reply.parent_id == comment.id])
                )
        return dict(threads)

    def announcement_group(self, number: int):
        """The group an announcement was sent to, None for every group: in turn, starting with every group."""
        return self.group if number % 2 else None

    def ranking(self) -> list[tuple[str, int]]:
        """The steps on the joined group's card on the dashboard: those with the most dots, three at most."""
        return sorted(self.dots.items(), key=lambda item: -item[1])[:3]

    def name_cycles(self) -> list[tuple[int, str | None]]:
        """(training, name) pairs whose pick-group form the participants send, without a group, before
        joining: every other training's page is seen, and every socket participant's name typed."""
        others = list(range(1, len(self.trainings))) or [0]
        names = self.participant_names[2:]
        count = max(len(names), len(self.trainings) - 1)
        return [(others[k % len(others)], names[k % len(names)] if names else None) for k in range(count)]

    def member_focus(self) -> list[tuple[dict, str]]:
        """Controls the socket participants edit: (focus sent, selector of the control the tag follows)."""
        targets = [({"field": key}, f"#{control}") for key, control in MAP_TEXT_FIELDS.values()]
        for stakeholder_id in self.stakeholder_ids:
            for key in STAKEHOLDER_TEXT_FIELDS.values():
                targets.append(
                    (
                        {"field": key, "stakeholder_id": stakeholder_id},
                        f'.stakeholder[data-stakeholder-id="{stakeholder_id}"] [data-field={key}]',
                    )
                )
        for step_id in self.step_ids[1:]:  # the first step is the browsers'
            for key in STEP_TEXT_FIELDS.values():
                targets.append(
                    ({"field": key, "step_id": step_id}, f'.step[data-step-id="{step_id}"] [data-field={key}]')
                )
        assert len(targets) >= len(self.members), "one control per socket participant"
        return targets[: len(self.members)]


def build_scene(plan: ScenePlan) -> Scene:
    """Everything made through the services, the moderator authoring the maps."""
    shape = plan.shape
    values = plan.values
    moderator = accounts.create_moderator(
        f"mod-{uuid.uuid4().hex[:8]}@example.org",
        PASSWORD,
        values["moderator display name"][0],
    )
    group_names = iter(values["group name"])
    made_trainings, made_groups = [], []
    for number in range(shape.trainings):
        training = trainings.create_training(
            moderator,
            values["training title"][number],
            values["training city"][number],
            VENUES[number % len(VENUES)],
            date(2027, 4, 22),
            date(2027, 4, 24),
        )
        # At least two groups, so joining goes through the pick-group page.
        count = shape.groups_in_first if number == 0 else 2
        made_groups.append([trainings.create_group(training, next(group_names), "waste_sorting") for _ in range(count)])
        made_trainings.append(training)

    def edit(roadmap_id: int, op_type: str, **keys) -> None:
        editing.apply({"op_id": uuid.uuid4().hex, "roadmap_id": roadmap_id, "type": op_type, **keys}, actor=moderator)

    for number, groups in enumerate(made_groups):
        edit(groups[0].roadmap.id, "map.set", field="title", value=values["map title"][number])
    for number in range(shape.maps):
        for name, (key, _) in MAP_TEXT_FIELDS.items():
            if name != "map title":
                edit(made_groups[number][0].roadmap.id, "map.set", field=key, value=values[name][number])
    roadmap_id = made_groups[0][0].roadmap.id
    stakeholder_ids = [uuid.uuid4().hex for _ in range(shape.stakeholders)]
    for number, stakeholder_id in enumerate(stakeholder_ids):
        edit(
            roadmap_id,
            "stakeholder.add",
            stakeholder_id=stakeholder_id,
            fields={key: values[name][number] for name, key in STAKEHOLDER_TEXT_FIELDS.items()},
        )
    step_ids = [uuid.uuid4().hex for _ in range(shape.steps)]
    for number, step_id in enumerate(step_ids):
        edit(
            roadmap_id,
            "step.add",
            step_id=step_id,
            fields={
                **{key: values[name][number] for name, key in STEP_TEXT_FIELDS.items()},
                "owner": {"text": values["step owner free text"][number]},
            },
        )
        edit(roadmap_id, "step.link", step_id=step_id, stakeholder_id=stakeholder_ids[number % len(stakeholder_ids)])
    scene = Scene(plan, moderator, made_trainings, made_groups, step_ids, stakeholder_ids)
    # Participants beyond the two browsers join first, so they lead the member list.
    for name in values["participant display name"][2:]:
        scene.members.append((trainings.join_group(made_trainings[0], scene.group.id, name, None), name))
    # Comments on the steps, written by the moderator and the socket participants in turn; all but the
    # last: that one mentions participant 1, who is not in the group yet (written in the test).
    authors = [
        (moderator, ("moderator display name", values["moderator display name"][0])),
        *((person, ("participant display name", name)) for person, name in scene.members),
    ]
    for number, body in enumerate(values["comment body"][:-1]):
        actor, author = authors[number % len(authors)]
        step_id, parent_id = scene.comment_place(number)
        comment = PlannedComment(uuid.uuid4().hex, step_id, parent_id, author, body)
        editing.apply(
            {
                "op_id": uuid.uuid4().hex,
                "roadmap_id": roadmap_id,
                "type": "comment.add",
                "comment_id": comment.id,
                "step_id": step_id,
                "body": body,
                **({"parent_id": parent_id} if parent_id else {}),
            },
            actor=actor,
        )
        scene.comments.append(comment)

    # Facilitation: every training has a timer running and a vote whose results show as they come;
    # in the first, announcements, dots on the first steps (3, 2, 1: the ranking is in that order)
    # and the joined group's map on the projector.
    scene.dots = {step_id: 3 - place for place, step_id in enumerate(step_ids[:3])}
    for number, training in enumerate(made_trainings):
        facilitation.start_timer(training, facilitation.MAX_TIMER_SECONDS, values["timer label"][number])
        voting.open_vote(
            training, max(1, sum(scene.dots.values())), hide_results=False, question=values["vote question"][number]
        )
    vote = voting.current_vote(made_trainings[0].id)
    for step_id, count in scene.dots.items():
        for _ in range(count):
            voting.place_dot(vote.id, step_id, moderator)
    for number, text in enumerate(values["announcement text"]):
        group = scene.announcement_group(number)
        facilitation.announce(made_trainings[0], moderator, text, group.id if group else None)
    facilitation.project(made_trainings[0], "map", scene.group.id)
    return scene


def rename(person: Person, name: str) -> None:
    with writing():
        db.session.get(Person, person.id).display_name = name
