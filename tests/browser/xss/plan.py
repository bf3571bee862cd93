"""Which payloads each field instance of each scene holds (see test_xss.py's docstring, Packing)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from roadmap.models import Training
from tests.browser.xss.corpus import (
    EXHAUSTIVE,
    FIELDS,
    LEADING,
    MAP_TEXT_FIELDS,
    PAYLOAD_IDS,
    PAYLOAD_INDEX,
    PAYLOAD_TEXTS,
    PAYLOADS,
    PER_TRAINING,
    SCENE_COUNT,
    SEPARATOR,
    STAKEHOLDER_TEXT_FIELDS,
    STEP_TEXT_FIELDS,
    column_length,
)

# --- the plan: which payloads each field instance of each scene holds ---------------------------


def packed_length(indices) -> int:
    return sum(len(PAYLOAD_TEXTS[index]) for index in indices) + len(SEPARATOR) * (len(indices) - 1)


def payloads_in(value: str) -> list[int]:
    """The payloads a stored value was packed from."""
    return [PAYLOAD_INDEX[piece] for piece in value.split(SEPARATOR)]


def first_fit_decreasing(indices, capacity: int) -> list[list[int]]:
    """As few values as possible that hold every payload once, each within `capacity`."""
    values: list[list[int]] = []
    for index in sorted(indices, key=lambda i: (-len(PAYLOAD_TEXTS[i]), i)):
        for held in values:
            if packed_length([*held, index]) <= capacity:
                held.append(index)
                break
        else:
            values.append([index])
    return values


# The venue is stored, but no page shows it since the dashboard replaced the training page that did.
# It holds payloads all the same, so a page that starts showing it is searched for what they made.
VENUES = [
    SEPARATOR.join(PAYLOAD_TEXTS[index] for index in held)
    for held in first_fit_decreasing(range(len(PAYLOADS)), column_length(Training, "venue"))
]


@dataclass(frozen=True)
class Shape:
    """How many of each thing a scene has; the same for every scene of a run."""

    moderator_names: int  # the moderator's name, then each rename
    participants: int  # two join in browsers; the others are present through a socket
    trainings: int  # all the moderator's; participants join the first
    maps: int  # maps with every text filled: the joined one, then the first group's of the next trainings
    groups_in_first: int  # in the first training; every other training has two
    steps: int
    stakeholders: int
    announcements: int  # in the first training: to every group, then to the joined group, in turn
    comments: int  # on the joined map's steps: a comment, a reply to it, any others, the one mentioning participant 1

    @classmethod
    def for_need(cls, need: dict[str, int]) -> Shape:
        """The smallest scene with at least need[f] instances of every field f."""
        maps = max(need[name] for name in MAP_TEXT_FIELDS if name != "map title")
        trainings_ = max(*(need[name] for name in PER_TRAINING), need["map title"], maps)
        return cls(
            moderator_names=need["moderator display name"],
            participants=max(2, need["participant display name"]),
            trainings=trainings_,
            maps=maps,
            groups_in_first=max(2, need["group name"] - 2 * (trainings_ - 1)),
            steps=max(need[name] for name in (*STEP_TEXT_FIELDS, "step owner free text")),
            stakeholders=max(need[name] for name in STAKEHOLDER_TEXT_FIELDS),
            announcements=need["announcement text"],
            comments=max(3, need["comment body"]),
        )

    def instances(self, name: str) -> int:
        if name == "moderator display name":
            return self.moderator_names
        if name == "participant display name":
            return self.participants
        if name in PER_TRAINING:
            return self.trainings
        if name == "announcement text":
            return self.announcements
        if name == "comment body":
            return self.comments
        if name == "group name":
            return self.groups_in_first + 2 * (self.trainings - 1)
        if name == "map title":
            return self.trainings  # the map of each training's first group, on the participant's start page
        if name in MAP_TEXT_FIELDS:
            return self.maps
        if name.startswith("step "):
            return self.steps
        return self.stakeholders


@dataclass(frozen=True)
class ScenePlan:
    id: str
    shape: Shape
    values: dict[str, list[str]]  # field -> the value of each instance

    def payloads(self) -> set[int]:
        return {index for values in self.values.values() for value in values for index in payloads_in(value)}


def _arrange(held: list[int], seed: str) -> str:
    order = sorted(held)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda index: index not in LEADING)  # stable: only moves the leading ones first
    return SEPARATOR.join(PAYLOAD_TEXTS[index] for index in order)


def plan_scenes(exhaustive: bool = EXHAUSTIVE, scene_count: int = SCENE_COUNT) -> list[ScenePlan]:
    """Deal the payloads out so that the scenes together hold every payload in every field.

    For each field the payloads are first packed into as few values as its length
    allows, and those values dealt round the scenes; then every value, and every
    further instance a scene has, is topped up with more payloads while they fit,
    starting at a different payload each time, and shuffled.
    Exhaustive: one scene per payload, every value that payload alone.
    """
    everything = list(range(len(PAYLOADS)))
    pools = [[index] for index in everything] if exhaustive else [everything] * scene_count
    ids = PAYLOAD_IDS if exhaustive else [f"scene-{number + 1}-of-{scene_count}" for number in range(scene_count)]
    required = {}
    for name, capacity in FIELDS.items():
        packed = [[index] for index in everything] if exhaustive else first_fit_decreasing(everything, capacity)
        required[name] = [packed[number :: len(pools)] for number in range(len(pools))]
    shape = Shape.for_need({name: max(len(dealt) for dealt in required[name]) for name in FIELDS})
    plans = []
    for number, pool in enumerate(pools):
        values = {}
        for name, capacity in FIELDS.items():
            slots = [list(held) for held in required[name][number]]
            slots += [[] for _ in range(shape.instances(name) - len(slots))]
            values[name] = []
            for instance, held in enumerate(slots):
                seed = f"{number}/{name}/{instance}"
                start = random.Random(seed).randrange(len(pool))
                for index in pool[start:] + pool[:start]:
                    if index not in held and packed_length([*held, index]) <= capacity:
                        held.append(index)
                values[name].append(_arrange(held, seed))
        plans.append(ScenePlan(ids[number], shape, values))
    return plans


PLANS = plan_scenes()
