"""Comments on steps through the one writer (comment.* ops): threads one level deep, edits and
deletes by their author, hiding by a moderator, mentions, what each person has read, and the
log replaying to the same comments and counts, on SQLite and PostgreSQL."""

import pytest
from conftest import new_id, passwordless_moderator

from roadmap.domain.errors import EditRejected
from roadmap.domain.replay import empty_map, replay, replay_comments
from roadmap.extensions import db
from roadmap.models import Roadmap
from roadmap.services import comments, editing, history
from roadmap.services.snapshots import catch_up, snapshot

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def scene(world):
    moderator = passwordless_moderator()
    group = world.group(world.training(moderator))
    marina, oleg = world.member(group, "Марина"), world.member(group, "Олег")
    step_id = new_id()
    edit(marina, group.roadmap, "step.add", step_id=step_id, fields={"title": "Согласовать площадку"})
    return group.roadmap, moderator, marina, oleg, step_id


def edit(actor, roadmap, op_type, **keys):
    return editing.apply({"op_id": new_id(), "roadmap_id": roadmap.id, "type": op_type, **keys}, actor=actor)


def comment(actor, roadmap, step_id, body, **keys) -> str:
    comment_id = new_id()
    edit(actor, roadmap, "comment.add", comment_id=comment_id, step_id=step_id, body=body, **keys)
    return comment_id


def refusal(actor, roadmap, op_type, **keys) -> str:
    with pytest.raises(EditRejected) as rejection:
        edit(actor, roadmap, op_type, **keys)
    return rejection.value.code


def counts(roadmap) -> dict:
    db.session.expire_all()
    return snapshot(db.session.get(Roadmap, roadmap.id))["comment_counts"]


def replayed(roadmap) -> tuple[dict, list]:
    changes = history.changes_up_to(roadmap.id, db.session.get(Roadmap, roadmap.id).revision)
    return replay(empty_map(roadmap.id, roadmap.group.theme), changes), replay_comments(changes)


def test_a_thread_is_one_level_deep_and_counted_on_its_step(scene):
    roadmap, moderator, marina, oleg, step_id = scene
    question = comment(marina, roadmap, step_id, "Кто звонит в управу?")
    answer = comment(oleg, roadmap, step_id, "Я, в понедельник.", parent_id=question)
    answer_to_answer = comment(marina, roadmap, step_id, "Спасибо!", parent_id=answer)

    shown = comments.thread(roadmap.id, step_id, moderator=False)["comments"]
    assert [(item["id"], item["parent_id"]) for item in shown] == [
        (question, None),
        (answer, question),
        (answer_to_answer, question),
    ]  # a reply to a reply joins the thread
    assert counts(roadmap) == {step_id: 3}


def test_only_the_author_edits_or_deletes_and_only_a_moderator_hides(scene):
    roadmap, moderator, marina, oleg, step_id = scene
    question = comment(marina, roadmap, step_id, "Кто звонит в управу?")

    assert refusal(oleg, roadmap, "comment.edit", comment_id=question, body="Нет") == "not_author"
    assert refusal(oleg, roadmap, "comment.delete", comment_id=question) == "not_author"
    assert refusal(marina, roadmap, "comment.hide", comment_id=question, hidden=True) == "moderators_only"
    edit(marina, roadmap, "comment.edit", comment_id=question, body="Кто звонит в управу до среды?")
    edit(moderator, roadmap, "comment.hide", comment_id=question, hidden=True)
    assert counts(roadmap) == {}
    hidden = comments.thread(roadmap.id, step_id, moderator=False)["comments"][0]
    assert (hidden["hidden"], hidden["body"]) == (True, "")
    assert (
        comments.thread(roadmap.id, step_id, moderator=True)["comments"][0]["body"] == "Кто звонит в управу до среды?"
    )
    edit(moderator, roadmap, "comment.hide", comment_id=question, hidden=False)
    assert counts(roadmap) == {step_id: 1}
    edit(marina, roadmap, "comment.delete", comment_id=question)
    assert counts(roadmap) == {} and comments.thread(roadmap.id, step_id, moderator=True)["comments"] == []
    assert refusal(marina, roadmap, "comment.edit", comment_id=question, body="Ещё") == "comment_not_found"


def test_a_deleted_comment_with_replies_stays_as_a_placeholder_without_its_words(scene):
    roadmap, moderator, marina, oleg, step_id = scene
    question = comment(marina, roadmap, step_id, "Кто звонит в управу?")
    comment(oleg, roadmap, step_id, "Я.", parent_id=question)

    edit(marina, roadmap, "comment.delete", comment_id=question)

    placeholder, reply = comments.thread(roadmap.id, step_id, moderator=True)["comments"]
    assert (placeholder["deleted"], placeholder["body"], reply["body"]) == (True, "", "Я.")
    assert counts(roadmap) == {step_id: 1}


def test_a_mention_reaches_the_member_once_until_they_read_the_thread(scene, world):
    roadmap, moderator, marina, oleg, step_id = scene
    stranger = world.member(world.group(roadmap.group.training, name="Другая группа"), "Чужой")

    assert (
        refusal(
            marina, roadmap, "comment.add", comment_id=new_id(), step_id=step_id, body="@Чужой", mentions=[stranger.id]
        )
        == "member_not_found"
    )
    comment(marina, roadmap, step_id, "@Олег позвонишь?", mentions=[oleg.id, marina.id])

    mentions = comments.unseen_mentions(oleg.id)
    assert [(item["step_title"], item["by"]) for item in mentions] == [("Согласовать площадку", "Марина")]
    assert comments.unseen_mentions(marina.id) == []  # the author is not told of herself
    assert comments.unread_counts(oleg.id, roadmap.id) == {step_id: 1}
    assert comments.unread_counts(marina.id, roadmap.id) == {}

    comments.mark_read(oleg.id, roadmap.id, step_id)
    assert comments.unseen_mentions(oleg.id) == [] and comments.unread_counts(oleg.id, roadmap.id) == {}


def test_replaying_the_log_rebuilds_the_comments_and_their_counts(scene):
    roadmap, moderator, marina, oleg, step_id = scene
    other_step = new_id()
    edit(oleg, roadmap, "step.add", step_id=other_step, fields={"title": "Поставить контейнеры"})
    first = comment(marina, roadmap, step_id, "Первый", mentions=[oleg.id])
    comment(oleg, roadmap, step_id, "Ответ", parent_id=first)
    second = comment(oleg, roadmap, other_step, "Второй")
    edit(oleg, roadmap, "comment.edit", comment_id=second, body="Второй, исправленный", mentions=[marina.id])
    edit(moderator, roadmap, "comment.hide", comment_id=first, hidden=True)
    edit(marina, roadmap, "comment.delete", comment_id=first)
    edit(oleg, roadmap, "step.delete", step_id=other_step)  # a deleted step's comments stay, and stay counted

    rebuilt_map, rebuilt_comments = replayed(roadmap)

    assert rebuilt_comments == comments.comments_of(roadmap.id)
    live = snapshot(db.session.get(Roadmap, roadmap.id))
    assert rebuilt_map == {key: value for key, value in live.items() if key != "members"}
    assert live["comment_counts"] == {step_id: 1, other_step: 1}


def test_catching_up_hands_out_no_words_of_a_comment_hidden_or_deleted_since(scene):
    roadmap, moderator, marina, oleg, step_id = scene
    revision = db.session.get(Roadmap, roadmap.id).revision
    rude = comment(marina, roadmap, step_id, "Грубое слово")
    kept = comment(oleg, roadmap, step_id, "Я позвоню")
    edit(moderator, roadmap, "comment.hide", comment_id=rude, hidden=True)

    db.session.expire_all()
    changes = catch_up(db.session.get(Roadmap, roadmap.id), revision)["changes"]

    bodies = {
        change["op"]["comment_id"]: change["op"].get("body")
        for change in changes
        if change["op"]["type"] == "comment.add"
    }
    assert bodies == {rude: "", kept: "Я позвоню"}
    assert (
        replay_comments(history.changes_up_to(roadmap.id, revision + 3))[0]["body"] == "Грубое слово"
    )  # the log keeps them
