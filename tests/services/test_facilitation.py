"""The moderator's facilitation tools at the service level: locks, timers, announcements,
the projector, dot voting, map templates, group management and the dashboard."""

import json
from datetime import date, timedelta

import pytest
from conftest import counted_queries, new_id, passwordless_moderator
from sqlalchemy import func, select, text, update

from roadmap.domain.errors import EditRejected
from roadmap.domain.replay import empty_map, replay
from roadmap.extensions import db
from roadmap.models import Change, Group, Membership, Person, Roadmap, Step, Timer, Training, Vote
from roadmap.realtime import dashboard_feed
from roadmap.services import baselines, dashboard, editing, facilitation, map_templates, trainings, voting
from roadmap.services.snapshots import snapshot
from roadmap.timeutil import utcnow

on_both_databases = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

TODAY = date(2027, 5, 1)
# Database timestamps may lose sub-second precision; nothing here should be off by more.
SLACK = timedelta(seconds=2)


@pytest.fixture
def moderator(app):
    return passwordless_moderator()


@pytest.fixture
def group(world, training):
    return world.group(training, name="Чистый двор", theme="waste_sorting")


@pytest.fixture
def other_group(world, training):
    return world.group(training, name="Сквер у библиотеки", theme="landscaping")


@pytest.fixture
def oleg(world, other_group):
    return world.member(other_group, name="Олег")


@pytest.fixture
def foreign_group(world):
    """A group of another moderator's training."""
    other_training = world.training(passwordless_moderator("Борис Модераторов"), title="Школа активных горожан")
    return world.group(other_training, name="Зелёный квартал")


def edit(actor, roadmap, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": roadmap.id, "type": op_type, **keys}, actor=actor)


def add_step(actor, roadmap, title="Шаг", **fields):
    step_id = new_id()
    edit(actor, roadmap, "step.add", step_id=step_id, fields={"title": title, **fields})
    return step_id


def add_stakeholder(actor, roadmap, name="Жители дома 5", **fields):
    stakeholder_id = new_id()
    edit(actor, roadmap, "stakeholder.add", stakeholder_id=stakeholder_id, fields={"name": name, **fields})
    return stakeholder_id


def rejection_code(action, *args, **kwargs):
    with pytest.raises(EditRejected) as rejection:
        action(*args, **kwargs)
    return rejection.value.code


def edit_rejection(actor, roadmap, op_type, **keys):
    return rejection_code(edit, actor, roadmap, op_type, **keys)


def fresh(model, row_id):
    """The row as the database has it now, not as this session remembers it."""
    db.session.expire_all()
    return db.session.get(model, row_id)


def revision_of(roadmap_id):
    return fresh(Roadmap, roadmap_id).revision


def changes_of(roadmap_id):
    db.session.expire_all()
    return db.session.scalars(select(Change).where(Change.roadmap_id == roadmap_id).order_by(Change.revision)).all()


def step_count(roadmap_id):
    return db.session.scalar(
        select(func.count(Step.id)).where(Step.roadmap_id == roadmap_id, Step.deleted_at.is_(None))
    )


def membership_of(person, group):
    return db.session.scalar(
        select(Membership).where(Membership.person_id == person.id, Membership.group_id == group.id)
    )


def stored_map(roadmap_id):
    return snapshot(fresh(Roadmap, roadmap_id), with_members=False)


def replayed_map(roadmap_id, theme):
    changes = [{"revision": change.revision, "op": change.op} for change in changes_of(roadmap_id)]
    return replay(empty_map(roadmap_id, theme), changes)


# --- locking maps --------------------------------------------------------------


@on_both_databases
def test_locking_a_training_locks_every_active_map_once_as_the_moderator(
    world, training, moderator, group, other_group
):
    archived = world.group(training, name="Распущенная группа")
    trainings.set_archived(archived, True)
    active_ids = [group.roadmap.id, other_group.roadmap.id]
    before = {roadmap_id: revision_of(roadmap_id) for roadmap_id in active_ids}

    changed = facilitation.set_locked(training, moderator, True)

    assert changed == 2
    for roadmap_id in active_ids:
        assert fresh(Roadmap, roadmap_id).locked
        assert revision_of(roadmap_id) == before[roadmap_id] + 1
        logged = changes_of(roadmap_id)
        assert [(change.op, change.author_id) for change in logged] == [
            ({"type": "map.lock", "locked": True}, moderator.id)
        ]
    assert not fresh(Roadmap, archived.roadmap.id).locked
    assert changes_of(archived.roadmap.id) == []


@on_both_databases
@pytest.mark.parametrize(
    "op_type, keys",
    [
        ("step.add", {"step_id": "new-step-0001", "fields": {"title": "Новый шаг"}}),
        ("map.set", {"field": "title", "value": "Раздельный сбор"}),
        ("stakeholder.add", {"stakeholder_id": "new-holder-01", "fields": {"name": "Управа"}}),
    ],
)
def test_a_locked_map_refuses_a_participants_edit_and_changes_nothing(
    training, moderator, group, marina, op_type, keys
):
    roadmap_id = group.roadmap.id
    facilitation.set_locked(training, moderator, True)
    before = stored_map(roadmap_id)

    assert edit_rejection(marina, group.roadmap, op_type, **keys) == "locked"

    assert stored_map(roadmap_id) == before
    assert len(changes_of(roadmap_id)) == 1  # the lock alone


@on_both_databases
def test_a_locked_map_refuses_a_step_change_of_an_existing_step(training, moderator, group, marina):
    step_id = add_step(marina, group.roadmap, "Поставить контейнеры")
    facilitation.set_locked(training, moderator, True)
    revision = revision_of(group.roadmap.id)

    assert edit_rejection(marina, group.roadmap, "step.set", step_id=step_id, field="title", value="Другое") == "locked"

    assert revision_of(group.roadmap.id) == revision
    assert stored_map(group.roadmap.id)["steps"][0]["title"] == "Поставить контейнеры"


@on_both_databases
def test_unlocking_lets_a_participants_edit_through_again(training, moderator, group, marina):
    facilitation.set_locked(training, moderator, True)

    assert facilitation.set_locked(training, moderator, False) == 1  # the training's one map
    add_step(marina, group.roadmap, "Поставить контейнеры")

    assert not fresh(Roadmap, group.roadmap.id).locked
    assert step_count(group.roadmap.id) == 1
    assert [change.op["type"] for change in changes_of(group.roadmap.id)] == ["map.lock", "map.lock", "step.add"]


@on_both_databases
def test_locking_one_group_leaves_the_other_groups_editable(training, moderator, group, other_group, marina, oleg):
    assert facilitation.set_locked(training, moderator, True, group_id=group.id) == 1

    add_step(oleg, other_group.roadmap, "Опрос жителей")

    assert fresh(Roadmap, group.roadmap.id).locked
    assert not fresh(Roadmap, other_group.roadmap.id).locked
    assert step_count(other_group.roadmap.id) == 1
    assert edit_rejection(marina, group.roadmap, "step.add", step_id=new_id()) == "locked"


@on_both_databases
def test_locking_an_already_locked_map_is_not_logged_again(training, moderator, group):
    facilitation.set_locked(training, moderator, True, group_id=group.id)
    revision = revision_of(group.roadmap.id)

    assert facilitation.set_locked(training, moderator, True, group_id=group.id) == 0
    assert facilitation.set_locked(training, moderator, True) == 0

    assert revision_of(group.roadmap.id) == revision
    assert len(changes_of(group.roadmap.id)) == 1


@on_both_databases
def test_a_participant_sending_map_lock_is_refused_as_not_a_moderator(group, marina):
    assert edit_rejection(marina, group.roadmap, "map.lock", locked=True) == "moderators_only"

    assert not fresh(Roadmap, group.roadmap.id).locked
    assert changes_of(group.roadmap.id) == []


@on_both_databases
def test_a_participant_cannot_unlock_a_map_the_moderator_locked(training, moderator, group, marina):
    facilitation.set_locked(training, moderator, True)

    assert edit_rejection(marina, group.roadmap, "map.lock", locked=False) == "moderators_only"

    assert fresh(Roadmap, group.roadmap.id).locked


@on_both_databases
def test_the_moderator_of_another_training_cannot_lock_our_maps(training, group, foreign_group):
    stranger = db.session.get(Person, foreign_group.training.moderator_id)

    assert rejection_code(facilitation.set_locked, training, stranger, True) == "forbidden"

    assert not fresh(Roadmap, group.roadmap.id).locked
    assert changes_of(group.roadmap.id) == []


@on_both_databases
def test_replaying_the_log_after_lock_and_unlock_gives_the_stored_map(training, moderator, group, marina):
    roadmap_id = group.roadmap.id
    holder = add_stakeholder(marina, group.roadmap, "Управляющая компания", sector="business")
    first = add_step(marina, group.roadmap, "Поставить контейнеры для пластика", owner={"stakeholder": holder})
    facilitation.set_locked(training, moderator, True)
    edit_rejection(marina, group.roadmap, "step.delete", step_id=first)
    assert replayed_map(roadmap_id, group.theme) == stored_map(roadmap_id)
    assert stored_map(roadmap_id)["locked"] is True

    facilitation.set_locked(training, moderator, False)
    edit(marina, group.roadmap, "step.set", step_id=first, field="due_on", value="2027-06-01")
    edit(marina, group.roadmap, "step.link", step_id=first, stakeholder_id=holder)
    add_step(marina, group.roadmap, "Провести субботник")

    stored = stored_map(roadmap_id)
    assert stored["locked"] is False and stored["revision"] == 7
    assert replayed_map(roadmap_id, group.theme) == stored


# --- timers --------------------------------------------------------------------


def assert_about(moment, expected):
    assert expected - SLACK <= moment <= expected + SLACK, f"{moment} is not about {expected}"


def test_a_timer_for_all_groups_runs_until_now_plus_its_duration(training):
    started = utcnow()

    timer = facilitation.start_timer(training, 600, "  Работа в группах  ")

    current = facilitation.current_timer(training.id, None)
    assert current.id == timer.id
    assert current.label == "Работа в группах"
    assert current.ends_at is not None and current.paused_remaining_seconds is None
    assert_about(current.ends_at, started + timedelta(seconds=600))
    data = facilitation.timer_data(current)
    assert data["running"] is True and data["group_id"] is None and data["duration_seconds"] == 600
    assert 598 <= facilitation.remaining_seconds(current, utcnow()) <= 600


def test_a_group_timer_is_shown_beside_the_timer_for_all_groups(training, group, other_group):
    facilitation.start_timer(training, 600, "Всем")
    facilitation.start_timer(training, 300, "Только вам", group_id=group.id)

    shown = facilitation.timers_for_group(training.id, group.id)
    elsewhere = facilitation.timers_for_group(training.id, other_group.id)

    assert shown["all"]["label"] == "Всем" and shown["all"]["duration_seconds"] == 600
    assert shown["group"]["label"] == "Только вам" and shown["group"]["group_id"] == group.id
    assert elsewhere["all"]["label"] == "Всем" and elsewhere["group"] is None


def test_pausing_a_timer_keeps_its_remaining_seconds_and_clears_its_end(training):
    facilitation.start_timer(training, 600)

    facilitation.pause_timer(training)

    paused = fresh(Timer, facilitation.current_timer(training.id, None).id)
    assert paused.ends_at is None
    assert 598 <= paused.paused_remaining_seconds <= 600
    assert facilitation.remaining_seconds(paused, utcnow() + timedelta(hours=1)) == paused.paused_remaining_seconds
    assert facilitation.timer_data(paused)["running"] is False


def test_resuming_a_paused_timer_sets_its_end_to_now_plus_the_remaining_seconds(training):
    facilitation.start_timer(training, 600)
    facilitation.pause_timer(training)
    remaining = facilitation.current_timer(training.id, None).paused_remaining_seconds
    resumed_at = utcnow()

    facilitation.resume_timer(training)

    resumed = fresh(Timer, facilitation.current_timer(training.id, None).id)
    assert resumed.paused_remaining_seconds is None
    assert_about(resumed.ends_at, resumed_at + timedelta(seconds=remaining))


def test_adding_time_to_a_running_timer_moves_its_end(training):
    timer = facilitation.start_timer(training, 600)
    ends_at = fresh(Timer, timer.id).ends_at

    facilitation.add_time(training, 120)

    longer = fresh(Timer, timer.id)
    assert longer.ends_at == ends_at + timedelta(seconds=120)
    assert 718 <= longer.duration_seconds <= 720


def test_adding_time_to_a_paused_timer_adds_to_its_remaining_seconds(training, group):
    timer = facilitation.start_timer(training, 600, group_id=group.id)
    facilitation.pause_timer(training, group_id=group.id)
    remaining = fresh(Timer, timer.id).paused_remaining_seconds

    facilitation.add_time(training, 120, group_id=group.id)

    longer = fresh(Timer, timer.id)
    assert longer.ends_at is None
    assert longer.paused_remaining_seconds == remaining + 120


def test_stopping_a_timer_clears_the_current_timer(training, group):
    facilitation.start_timer(training, 600)

    facilitation.stop_timer(training)

    assert facilitation.current_timer(training.id, None) is None
    assert facilitation.timers_for_group(training.id, group.id) == {"all": None, "group": None}
    assert rejection_code(facilitation.stop_timer, training) == "no_timer"


def test_starting_a_timer_stops_the_previous_one_of_the_same_scope_only(training, group):
    for_all = facilitation.start_timer(training, 600, "Всем")
    first = facilitation.start_timer(training, 300, "Первый", group_id=group.id)

    second = facilitation.start_timer(training, 900, "Второй", group_id=group.id)

    assert fresh(Timer, first.id).stopped_at is not None
    assert facilitation.current_timer(training.id, group.id).id == second.id
    assert facilitation.current_timer(training.id, None).id == for_all.id


@pytest.mark.parametrize("seconds", [0, -60, 4 * 3600 + 1])
def test_a_timer_of_no_time_or_over_four_hours_is_refused(training, seconds):
    assert rejection_code(facilitation.start_timer, training, seconds) == "invalid_value"

    assert facilitation.current_timer(training.id, None) is None


def test_a_timer_of_exactly_four_hours_is_accepted(training):
    facilitation.start_timer(training, 4 * 3600)

    assert facilitation.current_timer(training.id, None).duration_seconds == 4 * 3600


def test_pausing_when_no_timer_runs_is_refused(training):
    assert rejection_code(facilitation.pause_timer, training) == "no_timer"


@pytest.mark.parametrize(
    "tool",
    [
        pytest.param(lambda training, group_id: facilitation.start_timer(training, 600, group_id=group_id), id="timer"),
        pytest.param(
            lambda training, group_id: facilitation.announce(
                training, db.session.get(Person, training.moderator_id), "Перерыв", group_id=group_id
            ),
            id="announcement",
        ),
        pytest.param(lambda training, group_id: facilitation.project(training, "map", group_id), id="projector"),
        pytest.param(
            lambda training, group_id: facilitation.set_locked(
                training, db.session.get(Person, training.moderator_id), True, group_id=group_id
            ),
            id="lock",
        ),
    ],
)
def test_a_facilitation_tool_refuses_a_group_of_another_training(training, foreign_group, tool):
    assert rejection_code(tool, training, foreign_group.id) == "not_found"

    assert not fresh(Roadmap, foreign_group.roadmap.id).locked
    assert fresh(Training, training.id).projected_group_id is None


# --- announcements -------------------------------------------------------------


def test_an_announcement_is_stored_with_its_spaces_collapsed(training, moderator):
    announcement = facilitation.announce(training, moderator, "  Перерыв   10 минут  ")

    assert announcement.text == "Перерыв 10 минут"
    assert [row.text for row in facilitation.announcements_log(training.id)] == ["Перерыв 10 минут"]
    assert facilitation.announcement_data(announcement)["group_id"] is None


def test_a_multiline_announcement_keeps_its_lines(training, moderator):
    announcement = facilitation.announce(training, moderator, "Через 5 минут:\nпрезентации групп\n")

    assert announcement.text == "Через 5 минут:\nпрезентации групп"


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_an_empty_announcement_is_refused(training, moderator, text):
    assert rejection_code(facilitation.announce, training, moderator, text) == "invalid_value"

    assert facilitation.announcements_log(training.id) == []


def test_an_announcement_over_500_characters_is_refused_as_too_long(training, moderator):
    facilitation.announce(training, moderator, "я" * 500)

    assert rejection_code(facilitation.announce, training, moderator, "я" * 501) == "too_long"

    assert [len(row.text) for row in facilitation.announcements_log(training.id)] == [500]


def test_a_group_sees_announcements_for_all_and_for_itself_in_order(training, moderator, group, other_group):
    facilitation.announce(training, moderator, "Всем: начинаем")
    facilitation.announce(training, moderator, "Чистому двору: зайду через минуту", group_id=group.id)
    facilitation.announce(training, moderator, "Скверу: не забудьте администрацию", group_id=other_group.id)
    facilitation.announce(training, moderator, "Всем: перерыв")

    shown = facilitation.recent_announcements(training.id, group.id)

    assert [item["text"] for item in shown] == [
        "Всем: начинаем",
        "Чистому двору: зайду через минуту",
        "Всем: перерыв",
    ]
    assert [item["group_name"] for item in shown] == [None, "Чистый двор", None]


# --- the projector -------------------------------------------------------------


def test_a_new_training_projects_its_join_screen(training):
    assert facilitation.projector_data(fresh(Training, training.id)) == {"mode": "join", "group_id": None}


def test_projecting_a_group_shows_its_map_and_another_mode_replaces_it(training, group):
    facilitation.project(training, "map", group.id)
    assert facilitation.projector_data(fresh(Training, training.id)) == {"mode": "map", "group_id": group.id}

    facilitation.project(fresh(Training, training.id), "votes")
    assert facilitation.projector_data(fresh(Training, training.id)) == {"mode": "votes", "group_id": None}


def test_projecting_a_groups_grid_names_the_group_like_its_map(training, group):
    facilitation.project(training, "grid", group.id)
    assert facilitation.projector_data(fresh(Training, training.id)) == {"mode": "grid", "group_id": group.id}


@pytest.mark.parametrize("mode, group_given", [("map", False), ("grid", False), ("slides", False), ("", True)])
def test_the_projector_refuses_an_unknown_mode_or_a_map_without_its_group(training, group, mode, group_given):
    assert rejection_code(facilitation.project, training, mode, group.id if group_given else None) == "invalid_value"
    assert fresh(Training, training.id).projector_mode == "join"


# --- dot voting ----------------------------------------------------------------


@pytest.fixture
def steps(group, marina):
    """Two steps of the first group's map, by title."""
    return {
        title: add_step(marina, group.roadmap, title)
        for title in ("Поставить контейнеры для пластика", "Провести субботник")
    }


def dots_left(vote, person):
    state = voting.state_for(fresh(Vote, vote.id), person.id)
    return state["dots_per_person"] - sum(state["my_dots"].values())


def test_a_participant_places_dots_up_to_the_limit_and_no_more(training, marina, steps):
    vote = voting.open_vote(training, dots_per_person=3)
    first, second = steps.values()

    voting.place_dot(vote.id, first, marina)
    voting.place_dot(vote.id, first, marina)
    state = voting.place_dot(vote.id, second, marina)

    assert state["my_dots"] == {first: 2, second: 1}
    assert rejection_code(voting.place_dot, vote.id, second, marina) == "no_dots_left"
    assert voting.state_for(fresh(Vote, vote.id), marina.id)["my_dots"] == {first: 2, second: 1}


def test_taking_a_dot_back_frees_it_for_another_step(training, marina, steps):
    vote = voting.open_vote(training, dots_per_person=2)
    first, second = steps.values()
    voting.place_dot(vote.id, first, marina)
    voting.place_dot(vote.id, first, marina)

    state = voting.remove_dot(vote.id, first, marina)
    assert state["my_dots"] == {first: 1}
    voting.place_dot(vote.id, second, marina)

    assert dots_left(vote, marina) == 0
    assert voting.state_for(fresh(Vote, vote.id), marina.id)["my_dots"] == {first: 1, second: 1}


def test_hidden_results_stay_hidden_while_the_vote_is_open(training, marina, steps):
    vote = voting.open_vote(training, dots_per_person=3, hide_results=True)
    first = steps["Поставить контейнеры для пластика"]
    voting.place_dot(vote.id, first, marina)

    public = voting.public_data(fresh(Vote, vote.id))

    assert public["results"] is None and public["ranking"] is None and public["closed"] is False
    assert voting.accepts_dots(fresh(Vote, vote.id)) and not voting.results_visible(fresh(Vote, vote.id))
    assert voting.state_for(fresh(Vote, vote.id), marina.id)["my_dots"] == {first: 1}


def test_closing_a_vote_shows_the_dots_per_step_and_the_ranking(world, training, group, marina, steps):
    svetlana = world.member(group, name="Светлана")
    containers, cleanup = steps["Поставить контейнеры для пластика"], steps["Провести субботник"]
    vote = voting.open_vote(training, dots_per_person=3, hide_results=True, question="С чего начнём?")
    for step_id in (containers, containers, cleanup):
        voting.place_dot(vote.id, step_id, marina)
    for step_id in (cleanup, cleanup, cleanup):
        voting.place_dot(vote.id, step_id, svetlana)

    voting.close_vote(fresh(Vote, vote.id))

    public = voting.public_data(fresh(Vote, vote.id))
    assert public["closed"] is True and public["question"] == "С чего начнём?"
    assert public["results"] == {containers: 2, cleanup: 4}
    assert [(row["title"], row["dots"]) for row in public["ranking"]] == [
        ("Провести субботник", 4),
        ("Поставить контейнеры для пластика", 2),
    ]
    assert {row["roadmap_id"] for row in public["ranking"]} == {group.roadmap.id}


def test_open_results_are_visible_while_the_vote_is_open(training, group, marina, steps):
    marina_group = group
    vote = voting.open_vote(training, dots_per_person=3, hide_results=False)
    first = steps["Поставить контейнеры для пластика"]

    voting.place_dot(vote.id, first, marina)

    public = voting.public_data(fresh(Vote, vote.id))
    assert public["closed"] is False
    assert public["results"] == {first: 1}
    assert public["ranking"] == [
        {
            "step_id": first,
            "roadmap_id": marina_group.roadmap.id,
            "group_id": marina_group.id,
            "group_name": marina_group.name,
            "title": "Поставить контейнеры для пластика",
            "dots": 1,
        }
    ]


def test_the_ranking_across_groups_orders_steps_by_dots_and_names_each_steps_group(
    world, training, group, other_group, marina, oleg, steps
):
    square = add_step(oleg, other_group.roadmap, "Провести сессию соучаствующего проектирования")
    vote = voting.open_vote(training, dots_per_person=3, hide_results=False)
    voting.place_dot(vote.id, square, oleg)
    voting.place_dot(vote.id, square, oleg)
    voting.place_dot(vote.id, steps["Провести субботник"], marina)
    voting.place_dot(vote.id, steps["Поставить контейнеры для пластика"], marina)

    ranking = voting.public_data(fresh(Vote, vote.id))["ranking"]

    assert [(row["title"], row["group_name"], row["dots"]) for row in ranking] == [
        ("Провести сессию соучаствующего проектирования", "Сквер у библиотеки", 2),
        ("Поставить контейнеры для пластика", "Чистый двор", 1),
        ("Провести субботник", "Чистый двор", 1),
    ]
    assert [row["group_id"] for row in ranking] == [other_group.id, group.id, group.id]


def test_the_ranking_keeps_each_maps_top_steps_so_one_busy_map_does_not_crowd_out_another(
    world, training, group, other_group, marina, oleg
):
    voters = [marina] + [world.member(group, name=f"Участник {number}") for number in range(voting.RANKED_PER_MAP)]
    vote = voting.open_vote(training, dots_per_person=1, hide_results=False)
    for number, person in enumerate(voters):
        voting.place_dot(vote.id, add_step(marina, group.roadmap, f"Шаг {number:02}"), person)
    voting.place_dot(vote.id, add_step(oleg, other_group.roadmap, "Шаг сквера"), oleg)

    ranking = voting.ranking(fresh(Vote, vote.id))

    assert sum(row["group_id"] == group.id for row in ranking) == voting.RANKED_PER_MAP
    assert [row["title"] for row in ranking if row["group_id"] == other_group.id] == ["Шаг сквера"]


def test_the_turnout_counts_the_members_who_placed_a_dot_even_while_results_are_hidden(
    world, training, group, other_group, marina, oleg, steps
):
    world.member(group, name="Светлана")
    vote = voting.open_vote(training, dots_per_person=3, hide_results=True)
    voting.place_dot(vote.id, steps["Провести субботник"], marina)
    voting.place_dot(vote.id, steps["Поставить контейнеры для пластика"], marina)

    assert voting.public_data(fresh(Vote, vote.id))["turnout"] == {"voters": 1, "members": 3}
    one_map = voting.open_vote(training, dots_per_person=3, roadmap_id=group.roadmap.id)
    assert voting.public_data(fresh(Vote, one_map.id))["turnout"] == {"voters": 0, "members": 2}


def test_a_closed_vote_refuses_dots(training, marina, steps):
    vote = voting.open_vote(training, dots_per_person=3)
    voting.close_vote(vote)
    first = steps["Поставить контейнеры для пластика"]

    assert rejection_code(voting.place_dot, vote.id, first, marina) == "vote_closed"
    assert rejection_code(voting.remove_dot, vote.id, first, marina) == "vote_closed"

    assert voting.tally(fresh(Vote, vote.id)) == {}


@on_both_databases
def test_a_vote_on_one_map_refuses_dots_on_another_groups_steps(training, group, other_group, marina, oleg, steps):
    their_step = add_step(oleg, other_group.roadmap, "Согласовать эскиз с администрацией")
    vote = voting.open_vote(training, dots_per_person=3, roadmap_id=group.roadmap.id)

    assert rejection_code(voting.place_dot, vote.id, their_step, oleg) == "step_not_found"
    assert rejection_code(voting.place_dot, vote.id, their_step, marina) == "step_not_found"

    voting.place_dot(vote.id, steps["Провести субботник"], marina)
    assert voting.tally(fresh(Vote, vote.id)) == {steps["Провести субботник"]: 1}


@on_both_databases
def test_in_a_vote_on_every_map_a_participant_cannot_dot_another_groups_step(training, other_group, oleg, steps):
    their_own = add_step(oleg, other_group.roadmap, "Согласовать эскиз с администрацией")
    vote = voting.open_vote(training, dots_per_person=3)

    assert rejection_code(voting.place_dot, vote.id, steps["Провести субботник"], oleg) == "forbidden"

    voting.place_dot(vote.id, their_own, oleg)
    assert voting.tally(fresh(Vote, vote.id)) == {their_own: 1}


def test_a_dot_on_an_unknown_or_deleted_step_is_refused(training, group, marina, steps):
    vote = voting.open_vote(training, dots_per_person=3)
    deleted = steps["Провести субботник"]
    edit(marina, group.roadmap, "step.delete", step_id=deleted)

    assert rejection_code(voting.place_dot, vote.id, deleted, marina) == "step_not_found"
    assert rejection_code(voting.place_dot, vote.id, new_id(), marina) == "step_not_found"


def test_opening_a_new_vote_closes_the_open_one(training, marina, steps):
    first = voting.open_vote(training, dots_per_person=3, question="Первый вопрос")

    second = voting.open_vote(training, dots_per_person=2, question="Второй вопрос")

    assert fresh(Vote, first.id).closed_at is not None
    assert not voting.accepts_dots(fresh(Vote, first.id))
    assert voting.current_vote(training.id).id == second.id
    assert rejection_code(voting.place_dot, first.id, steps["Провести субботник"], marina) == "vote_closed"


@pytest.mark.parametrize("dots", [0, 21])
def test_a_vote_with_no_dots_or_more_than_twenty_is_refused(training, dots):
    assert rejection_code(voting.open_vote, training, dots_per_person=dots) == "invalid_value"

    assert voting.current_vote(training.id) is None


def test_a_vote_with_a_time_limit_ends_that_many_minutes_from_now(training):
    opened_at = utcnow()

    vote = voting.open_vote(training, dots_per_person=3, minutes=10)

    assert_about(fresh(Vote, vote.id).ends_at, opened_at + timedelta(minutes=10))
    assert voting.accepts_dots(fresh(Vote, vote.id))


@pytest.mark.parametrize("minutes", [0, 241])
def test_a_vote_time_limit_outside_one_minute_to_four_hours_is_refused(training, minutes):
    assert rejection_code(voting.open_vote, training, 3, minutes=minutes) == "invalid_value"


def test_a_vote_past_its_end_refuses_dots_though_nobody_closed_it(training, marina, steps):
    vote = voting.open_vote(training, dots_per_person=3, minutes=10)
    ended = fresh(Vote, vote.id)
    ended.ends_at = utcnow() - timedelta(seconds=1)  # as if ten minutes had passed
    db.session.commit()

    assert rejection_code(voting.place_dot, vote.id, steps["Провести субботник"], marina) == "vote_closed"


def test_a_vote_on_a_map_of_another_training_is_refused(training, foreign_group):
    assert rejection_code(voting.open_vote, training, 3, roadmap_id=foreign_group.roadmap.id) == "not_found"


# --- map templates -------------------------------------------------------------

TEMPLATES = {
    key: json.loads((map_templates.TEMPLATE_FOLDER / f"{key}.json").read_text(encoding="utf-8"))
    for key in ("landscaping", "waste_sorting")
}
THEME_CHECK = {"landscaping": "landscaping_approval_step", "waste_sorting": "waste_fractions_and_places"}


@pytest.mark.parametrize("language", ["ru", "en"])
def test_both_templates_are_offered_with_names_in_the_language(language):
    assert map_templates.choices(language) == [
        ("landscaping", TEMPLATES["landscaping"]["name"][language]),
        ("waste_sorting", TEMPLATES["waste_sorting"]["name"][language]),
    ]


def test_template_names_differ_between_russian_and_english():
    assert dict(map_templates.choices("ru"))["waste_sorting"] != dict(map_templates.choices("en"))["waste_sorting"]


@pytest.fixture
def filled(world, training, moderator, request):
    """A new group's map filled from a template: (template, language, group, ops applied)."""
    key, language = request.param
    group = world.group(training, name="Новая группа", theme=map_templates.theme_of(key))
    applied = map_templates.fill(group, moderator, key, language)
    return TEMPLATES[key], language, group, applied


every_template = pytest.mark.parametrize(
    "filled",
    [(key, language) for key in TEMPLATES for language in ("ru", "en")],
    indirect=True,
    ids=lambda param: "-".join(param),
)


@every_template
def test_a_template_adds_exactly_its_steps_and_stakeholders_in_the_language(filled):
    template, language, group, _ = filled

    filled_map = stored_map(group.roadmap.id)

    assert [step["title"] for step in filled_map["steps"]] == [step["title"][language] for step in template["steps"]]
    assert sorted(holder["name"] for holder in filled_map["stakeholders"]) == sorted(
        holder["name"][language] for holder in template["stakeholders"]
    )


@every_template
def test_template_steps_are_owned_by_and_linked_to_the_maps_stakeholders(filled):
    template, _, group, _ = filled

    filled_map = stored_map(group.roadmap.id)

    stakeholder_ids = {holder["id"] for holder in filled_map["stakeholders"]}
    owners = [step["owner"] for step in filled_map["steps"]]
    assert sum(1 for owner in owners if owner) == sum(1 for step in template["steps"] if step.get("owner_stakeholder"))
    assert all(owner["stakeholder"] in stakeholder_ids for owner in owners if owner)
    assert [len(step["stakeholder_ids"]) for step in filled_map["steps"]] == [
        len(set(step["stakeholders"])) for step in template["steps"]
    ]
    assert all(set(step["stakeholder_ids"]) <= stakeholder_ids for step in filled_map["steps"])


@every_template
def test_a_template_is_logged_as_one_change_per_op_by_the_moderator(filled, moderator):
    template, _, group, applied = filled
    links = sum(len(step["stakeholders"]) for step in template["steps"])

    logged = changes_of(group.roadmap.id)

    assert applied == len(template["stakeholders"]) + len(template["steps"]) + links
    assert len(logged) == applied == revision_of(group.roadmap.id)
    assert {change.author_id for change in logged} == {moderator.id}
    assert replayed_map(group.roadmap.id, group.theme) == stored_map(group.roadmap.id)


def theme_check_of(template, roadmap_id):
    readiness = dashboard.readiness_data(stored_map(roadmap_id), TODAY)
    return next(check for check in readiness["checks"] if check["code"] == THEME_CHECK[template["key"]])


@every_template
def test_a_filled_template_passes_its_theme_readiness_check_once_the_group_has_dated_its_steps(world, filled):
    template, _, group, _ = filled
    assert not theme_check_of(template, group.roadmap.id)["passed"]  # the template's words are not the group's yet
    marina = world.member(group, "Марина")

    for step in stored_map(group.roadmap.id)["steps"]:
        edit(marina, group.roadmap, "step.set", step_id=step["id"], field="due_on", value="2027-06-01")

    assert theme_check_of(template, group.roadmap.id)["passed"]


# --- managing groups -----------------------------------------------------------


def test_renaming_a_group_trims_and_collapses_spaces(group):
    trainings.rename_group(group, "  Зелёный   двор \n")

    assert fresh(Group, group.id).name == "Зелёный двор"


def test_renaming_a_group_to_nothing_is_refused(group):
    with pytest.raises(trainings.JoinError) as refusal:
        trainings.rename_group(group, "   ")

    assert refusal.value.code == "name_required"
    assert fresh(Group, group.id).name == "Чистый двор"


def test_an_archived_group_leaves_the_dashboard_and_its_map_is_read_only_for_participants(
    training, group, other_group, marina
):
    trainings.set_archived(group, True)

    assert [active.id for active in fresh(Training, training.id).active_groups] == [other_group.id]
    assert edit_rejection(marina, group.roadmap, "step.add", step_id=new_id()) == "forbidden"
    assert step_count(group.roadmap.id) == 0


def test_an_unarchived_group_can_edit_its_map_again(group, marina):
    trainings.set_archived(group, True)
    trainings.set_archived(fresh(Group, group.id), False)

    add_step(marina, group.roadmap, "Снова в работе")

    assert step_count(group.roadmap.id) == 1


def test_a_moved_participant_edits_the_new_map_and_keeps_authorship_of_the_old(group, other_group, marina):
    add_step(marina, group.roadmap, "Поставить контейнеры")

    trainings.move_member(membership_of(marina, group), other_group)

    add_step(marina, other_group.roadmap, "Согласовать эскиз")
    assert step_count(other_group.roadmap.id) == 1
    assert edit_rejection(marina, group.roadmap, "step.add", step_id=new_id()) == "forbidden"
    assert membership_of(marina, group) is None and membership_of(marina, other_group) is not None
    assert [change.author_id for change in changes_of(group.roadmap.id)] == [marina.id]


def test_moving_a_participant_to_another_trainings_group_is_refused(group, foreign_group, marina):
    with pytest.raises(trainings.JoinError) as refusal:
        trainings.move_member(membership_of(marina, group), foreign_group)

    assert refusal.value.code == "group_not_found"
    assert membership_of(marina, group) is not None and membership_of(marina, foreign_group) is None


def test_a_removed_participant_loses_the_map_but_keeps_authorship(group, marina):
    add_step(marina, group.roadmap, "Поставить контейнеры")

    trainings.remove_member(membership_of(marina, group))

    assert membership_of(marina, group) is None
    assert [change.author_id for change in changes_of(group.roadmap.id)] == [marina.id]
    assert edit_rejection(marina, group.roadmap, "step.add", step_id=new_id()) == "forbidden"


# --- the dashboard -------------------------------------------------------------


def test_a_dashboard_card_counts_what_the_group_has_done(world, training, moderator, group, marina):
    world.member(group, name="Светлана")
    roadmap = group.roadmap
    for field, value in (("problem", "Мусор не сортируют"), ("goal", "Раздельный сбор"), ("territory", "Двор дома 14")):
        edit(marina, roadmap, "map.set", field=field, value=value)
    residents = add_stakeholder(marina, roadmap, "Жители дома 14", sector="residents")
    add_stakeholder(marina, roadmap, "Управляющая компания", sector="business")
    add_step(marina, roadmap, "Поставить контейнеры для пластика", owner={"member": marina.id}, due_on="2027-06-01")
    add_step(marina, roadmap, "Обойти подъезды", owner={"stakeholder": residents}, due_on="2027-04-01")
    add_step(marina, roadmap, "Провести субботник")
    facilitation.set_locked(training, moderator, True)

    [card] = dashboard.training_summaries(fresh(Training, training.id), TODAY)

    assert card["group_id"] == group.id and card["name"] == "Чистый двор"
    assert {
        key: card[key]
        for key in (
            "steps",
            "stakeholders",
            "steps_with_owner",
            "steps_with_due_date",
            "members",
            "locked",
            "revision",
        )
    } == {
        "steps": 3,
        "stakeholders": 2,
        "steps_with_owner": 2,
        "steps_with_due_date": 2,
        "members": 2,
        "locked": True,
        "revision": 9,
    }
    # Nobody's influence is rated, so that check has nothing to check; of the other 5,
    # the owner-and-due-date and the overdue checks fail.
    failing = [check["code"] for check in card["readiness"]["checks"] if check["applicable"] and not check["passed"]]
    assert failing == ["steps_have_owner_and_due_date", "no_overdue_steps"]
    assert [check["code"] for check in card["readiness"]["checks"] if not check["applicable"]] == [
        "influential_stakeholders_engaged"
    ]
    assert card["readiness"]["score"] == 60


def card_of(training):
    [card] = dashboard.training_summaries(fresh(Training, training.id), TODAY)
    return card


@on_both_databases
def test_a_lock_does_not_count_as_the_maps_last_edit(training, moderator, group, marina):
    add_step(marina, group.roadmap, "Собрать жителей")
    last_edit_at = card_of(training)["last_edit_at"]

    facilitation.set_locked(training, moderator, True)
    facilitation.set_locked(training, moderator, False)

    card = card_of(training)
    assert card["revision"] == 3
    assert card["last_edit_at"] == last_edit_at is not None


@on_both_databases
def test_a_map_that_was_only_locked_shows_no_last_edit(training, moderator, group):
    facilitation.set_locked(training, moderator, True)
    card = card_of(training)
    assert card["revision"] == 1 and card["locked"]
    assert card["last_edit_at"] is None


def summary_queries(group_ids):
    db.session.commit()
    db.session.expire_all()
    groups = dashboard.groups_by_id(set(group_ids))
    with counted_queries() as statements:
        cards = dashboard.summaries(groups, TODAY)
    assert [card["group_id"] for card in cards] == sorted(group_ids)
    return len(statements)


def test_dashboard_queries_grow_with_groups_not_with_steps(world, training, marina, group):
    others = [world.group(training, name=f"Группа {number}") for number in range(2, 11)]
    for other in others:
        add_step(world.member(other, name="Участник"), other.roadmap, "Один шаг")
    add_step(marina, group.roadmap, "Первый шаг")
    one_group_one_step = summary_queries([group.id])
    two_groups = summary_queries([group.id, others[0].id])
    ten_groups = summary_queries([group.id] + [other.id for other in others])
    for number in range(29):
        add_step(marina, group.roadmap, f"Шаг {number}")

    one_group_thirty_steps = summary_queries([group.id])

    # A card takes its map and the map's three snapshot queries; the counts are batched.
    assert two_groups - one_group_one_step <= 5
    assert ten_groups - one_group_one_step <= 9 * (two_groups - one_group_one_step)
    assert one_group_thirty_steps == one_group_one_step


def test_a_flush_that_fails_leaves_its_maps_for_the_next_one(group, marina):
    dashboard_feed.flush()  # whatever setting up the world noted
    add_step(marina, group.roadmap, "Поставить контейнеры")
    db.session.execute(text("ALTER TABLE memberships RENAME TO memberships_away"))
    db.session.commit()
    try:
        with pytest.raises(Exception):
            dashboard_feed.flush()
    finally:
        db.session.rollback()
        db.session.execute(text("ALTER TABLE memberships_away RENAME TO memberships"))
        db.session.commit()

    assert dashboard_feed.flush() == 1


def test_the_dashboard_feed_sends_one_summary_per_changed_map_however_many_edits(group, other_group, marina, oleg):
    dashboard_feed.flush()  # whatever setting up the world noted
    assert dashboard_feed.flush() == 0

    step_id = add_step(marina, group.roadmap, "Поставить контейнеры")
    for number in range(49):
        edit(marina, group.roadmap, "step.set", step_id=step_id, field="resources", value=f"{number} баков")
    assert dashboard_feed.flush() == 1
    assert dashboard_feed.flush() == 0

    add_step(marina, group.roadmap, "Провести субботник")
    add_step(oleg, other_group.roadmap, "Согласовать эскиз")
    assert dashboard_feed.flush() == 2
    assert dashboard_feed.flush() == 0


# --- the end of the training and clearing --------------------------------------


def run_out(timer, ago: timedelta):
    """Let a timer's time have run out `ago` (test setup: the clock is not ours to move)."""
    db.session.execute(update(Timer).where(Timer.id == timer.id).values(ends_at=utcnow() - ago))
    db.session.commit()


def test_ending_the_training_stops_every_running_or_paused_timer_of_every_scope(training, group, other_group):
    facilitation.start_timer(training, 600, "Всем")
    facilitation.start_timer(training, 300, group_id=group.id)
    facilitation.start_timer(training, 300, group_id=other_group.id)
    facilitation.pause_timer(training, group_id=other_group.id)

    baselines.end_training(training)

    for group_id in (None, group.id, other_group.id):
        assert facilitation.current_timer(training.id, group_id) is None
    assert db.session.scalar(select(func.count(Timer.id)).where(Timer.stopped_at.is_(None))) == 0


def test_ending_the_training_closes_and_clears_the_vote_but_keeps_its_dots(training, group, marina, steps):
    vote = voting.open_vote(training, 3)
    voting.place_dot(vote.id, steps["Провести субботник"], marina)

    baselines.end_training(training)

    ended = fresh(Vote, vote.id)
    assert ended.closed_at is not None and ended.cleared_at is not None
    assert voting.current_vote(training.id) is None
    assert voting.current_vote_for(training.id, group.roadmap.id) is None
    assert voting.tally(ended) == {steps["Провести субботник"]: 1}


def test_after_the_end_an_editor_shows_only_announcements_made_since(training, moderator, group):
    facilitation.announce(training, moderator, "Всем: перерыв 10 минут")

    baselines.end_training(training)
    assert facilitation.recent_announcements(training.id, group.id) == []

    facilitation.announce(training, moderator, "Встречаемся через месяц")
    assert [item["text"] for item in facilitation.recent_announcements(training.id, group.id)] == [
        "Встречаемся через месяц"
    ]


def test_clearing_a_timer_whose_time_is_up_takes_it_off_every_screen(training, group):
    timer = facilitation.start_timer(training, 60)
    run_out(timer, timedelta(seconds=5))

    facilitation.clear_timer(training)

    assert fresh(Timer, timer.id).stopped_at is not None
    assert facilitation.timers_for_group(training.id, group.id) == {"all": None, "group": None}


def test_a_timer_still_counting_or_paused_is_not_cleared(training):
    facilitation.start_timer(training, 600)
    assert rejection_code(facilitation.clear_timer, training) == "timer_not_finished"
    facilitation.pause_timer(training)
    assert rejection_code(facilitation.clear_timer, training) == "timer_not_finished"
    assert facilitation.current_timer(training.id, None) is not None


def test_a_timer_whose_time_ran_out_over_an_hour_ago_is_not_shown(training, group):
    recent = facilitation.start_timer(training, 60, group_id=group.id)
    stale = facilitation.start_timer(training, 60)
    run_out(recent, timedelta(minutes=59))
    run_out(stale, timedelta(minutes=61))

    shown = facilitation.timers_for_group(training.id, group.id)

    assert shown["all"] is None
    assert shown["group"]["id"] == recent.id


def test_a_cleared_vote_is_shown_nowhere_and_keeps_its_dots(training, group, marina, steps):
    vote = voting.open_vote(training, 3)
    voting.place_dot(vote.id, steps["Провести субботник"], marina)
    voting.close_vote(vote)

    voting.clear_vote(vote)

    assert voting.current_vote(training.id) is None
    assert voting.current_vote_for(training.id, group.roadmap.id) is None
    assert voting.tally(fresh(Vote, vote.id)) == {steps["Провести субботник"]: 1}


def test_clearing_an_open_vote_closes_it_so_it_takes_no_more_dots(training, marina, steps):
    vote = voting.open_vote(training, 3)

    voting.clear_vote(vote)

    assert fresh(Vote, vote.id).closed_at is not None
    assert rejection_code(voting.place_dot, vote.id, steps["Провести субботник"], marina) == "vote_closed"
