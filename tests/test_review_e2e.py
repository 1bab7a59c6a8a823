"""The admin approves exactly what they reviewed; newcomers get a separate proposal; re-match a
chosen pair; buttons always answer; a lost views.open answer is not reported as a failure."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from storage.models import MatchRun, Participant, RematchRequest
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    POOL_TOPICS,
    Person,
    enroll,
    enroll_pool,
    eventually,
    match_review,
    open_modal,
    setup_program,
    stored_pairs,
)

HOME = {"id": "VHOME", "type": "home"}


def _intros(app: RunningApp) -> list[Any]:
    return [c for c in app.fake.calls("chat.postMessage") if c.params["channel"].startswith("G")]


def _suggestions(app: RunningApp) -> list[str]:
    return [t for t in app.fake.dm_texts(ADMIN) if "suggestions" in t]


def test_approve_introduces_only_the_reviewed_pairs(running_app: RunningApp) -> None:
    """A re-run after the review replaced its pairs: approving the old review activates none
    of the pairs the admin never saw, discards them and says so."""
    setup_program(running_app)
    enroll_pool(running_app, 2, 2)
    first = match_review(running_app)
    match_review(running_app)  # re-run (e.g. by another admin): new pairs in the same run
    response = running_app.slack.view_submission(ADMIN, first, {})
    answer = response.json()
    assert answer["response_action"] == "update"
    assert "had not reviewed" in json.dumps(answer["view"])
    assert stored_pairs(running_app, "active") == []
    assert stored_pairs(running_app, "proposed") == []
    assert _intros(running_app) == []


def test_second_approval_says_already_approved_and_sends_nothing(
    running_app: RunningApp,
) -> None:
    setup_program(running_app)
    enroll_pool(running_app, 1, 1)
    view = match_review(running_app)
    assert "Approve" in json.dumps(view["submit"])
    assert view["notify_on_close"] is True
    first = running_app.slack.view_submission(ADMIN, view, {}).json()
    assert "Pairs approved: 1" in json.dumps(first["view"])
    running_app.fake.wait_for_count("chat.postMessage", 1, lambda c: c.params["channel"][0] == "G")
    again = running_app.slack.view_submission(ADMIN, view, {}).json()
    assert "already approved" in json.dumps(again["view"])
    # The second answer came after its transaction: it queued nothing.
    assert len(_intros(running_app)) == 1
    assert len(stored_pairs(running_app, "active")) == 1


def test_newcomer_during_review_is_proposed_after_approval(running_app: RunningApp) -> None:
    """The newcomer does not change the open proposal; once it is approved, a separate
    proposal with the newcomer's pair is made and the admins are told through the outbox."""
    setup_program(running_app)
    enroll_pool(running_app, 1, 2)  # one mentee will wait
    view = match_review(running_app)
    newcomer = Person("UNEWMENTOR", "mentor", offered=POOL_TOPICS)
    newcomer.add_to(running_app)
    assert enroll(running_app, newcomer).status == 200
    assert len(stored_pairs(running_app, "proposed")) == 1  # the reviewed proposal is unchanged
    answer = running_app.slack.view_submission(ADMIN, view, {}).json()
    assert "Pairs approved: 1" in json.dumps(answer["view"])
    eventually(lambda: _suggestions(running_app), timeout=15)
    proposed = stored_pairs(running_app, "proposed")
    assert len(proposed) == 1
    with running_app.db.session() as session:
        mentor = session.get(Participant, proposed[0].mentor_id)
        assert mentor is not None and mentor.slack_user_id == "UNEWMENTOR"


def test_closing_the_review_drops_it_and_proposes_newcomers(running_app: RunningApp) -> None:
    setup_program(running_app)
    enroll_pool(running_app, 1, 2)
    running_app.slack.view_submission(ADMIN, match_review(running_app), {})
    eventually(lambda: len(stored_pairs(running_app, "active")) == 1)
    view = match_review(running_app)  # the waiting mentee alone: nothing to propose, run open
    newcomer = Person("UNEWMENTOR", "mentor", offered=POOL_TOPICS)
    newcomer.add_to(running_app)
    assert enroll(running_app, newcomer).status == 200
    assert _suggestions(running_app) == []
    assert running_app.slack.view_closed(ADMIN, view).status == 200
    eventually(lambda: _suggestions(running_app), timeout=15)
    with running_app.db.session() as session:
        runs = session.exec(select(MatchRun).order_by(MatchRun.id)).all()  # type: ignore[arg-type]
    assert [r.status for r in runs] == ["closed", "closed", "open"]
    assert len(stored_pairs(running_app, "proposed")) == 1


def _pair_up_mentor_with_two(app: RunningApp) -> list[Person]:
    setup_program(app, capacity=2)
    people = [
        Person("UMENTOR001", "mentor", offered=POOL_TOPICS),
        Person("UMENTEE001", "mentee", wanted=["ai_tools"], department="Sales"),
        Person("UMENTEE002", "mentee", wanted=["social_media"], department="Legal"),
    ]
    for person in people:
        person.add_to(app)
        assert enroll(app, person).status == 200
    app.slack.view_submission(ADMIN, match_review(app), {})
    eventually(lambda: len(stored_pairs(app, "active")) == 2)
    return people


def test_mentor_with_two_mentees_rematches_the_chosen_pair(running_app: RunningApp) -> None:
    mentor, first, second = _pair_up_mentor_with_two(running_app)
    modal = open_modal(running_app, mentor.user_id, "rematch")
    picker = next(b for b in modal["blocks"] if b.get("block_id") == "pair")
    options = {o["text"]["text"]: o["value"] for o in picker["element"]["options"]}
    assert set(options) == {f"Person {first.user_id}", f"Person {second.user_id}"}
    chosen = options[f"Person {second.user_id}"]
    values = sr.values_from(
        {"pair": sr.static_select(chosen), "reason": sr.plain("We never find a slot")}
    )
    response = running_app.slack.view_submission(mentor.user_id, modal, values)
    assert response.status == 200 and response.body in ("", "{}")
    notice = running_app.fake.wait_for("chat.postMessage", lambda c: c.went_to(ADMIN))
    assert f"<@{second.user_id}>" in notice.params["text"]
    with running_app.db.session() as session:
        requests = session.exec(select(RematchRequest)).all()
    assert [r.pair_id for r in requests] == [int(chosen)]


def test_rematch_without_a_chosen_pair_asks_which(running_app: RunningApp) -> None:
    """A modal opened before the second pair existed has no picker: the answer adds it."""
    mentor, _first, _second = _pair_up_mentor_with_two(running_app)
    modal = open_modal(running_app, mentor.user_id, "rematch")
    modal["blocks"] = [b for b in modal["blocks"] if b.get("block_id") != "pair"]
    values = sr.values_from({"reason": sr.plain("Too busy")})
    answer = running_app.slack.view_submission(mentor.user_id, modal, values).json()
    assert answer["response_action"] == "update"
    blocks = {b.get("block_id"): b for b in answer["view"]["blocks"]}
    assert len(blocks["pair"]["element"]["options"]) == 2
    assert blocks["reason"]["element"]["initial_value"] == "Too busy"
    with running_app.db.session() as session:
        assert session.exec(select(RematchRequest)).all() == []


def test_rematch_reason_with_control_characters_is_refused_inline(
    running_app: RunningApp,
) -> None:
    setup_program(running_app)
    mentor, _mentee = enroll_pool(running_app, 1, 1)
    running_app.slack.view_submission(ADMIN, match_review(running_app), {})
    eventually(lambda: len(stored_pairs(running_app, "active")) == 1)
    modal = open_modal(running_app, mentor.user_id, "rematch")
    values = sr.values_from({"reason": sr.plain("bad\x00text")})
    answer = running_app.slack.view_submission(mentor.user_id, modal, values).json()
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]
    with running_app.db.session() as session:
        assert session.exec(select(RematchRequest)).all() == []


def test_match_and_rematch_buttons_answer_like_the_commands(running_app: RunningApp) -> None:
    """9.16: the Home buttons tell the person what the command would (by DM)."""
    running_app.fake.add_user("ULONER0001")
    running_app.slack.block_action(ADMIN, "home_run_matching", view=HOME)
    eventually(lambda: any("no programme yet" in t for t in running_app.fake.dm_texts(ADMIN)))
    running_app.slack.block_action("ULONER0001", "home_rematch", view=HOME)
    eventually(
        lambda: any("don't have a partner" in t for t in running_app.fake.dm_texts("ULONER0001"))
    )
    # A trigger that has expired: the button says so too.
    setup_program(running_app)
    running_app.fake.fail_next("views.open", status=200, error="expired_trigger_id")
    running_app.slack.block_action(ADMIN, "home_run_matching", view=HOME)
    eventually(lambda: any("took too long" in t for t in running_app.fake.dm_texts(ADMIN)))


def test_lost_views_open_answer_is_not_reported_as_a_failure(running_app: RunningApp) -> None:
    """9.9: views.open worked but its answer was lost: it is not retried with the used
    trigger, the admin is not told "That took too long", and the review still appears."""
    setup_program(running_app)
    enroll_pool(running_app, 1, 1)
    running_app.fake.reset_calls()
    running_app.fake.lose_answer_next("views.open")
    response = running_app.slack.command(ADMIN, "match")
    assert response.status == 200
    update = running_app.fake.wait_for(
        "views.update", lambda c: c.params["view"].get("callback_id") == "match_review"
    )
    assert update.ok and "external_id" in update.params
    assert len(running_app.fake.calls("views.open")) == 1
    assert running_app.fake.calls("response_url") == []


def test_review_metadata_carries_every_pair_or_their_digest() -> None:
    from bot.views.matching import ids_digest, review_metadata, reviewed_pair_ids

    ids = [3, 4, 5, 9, 11, 12]
    meta = json.loads(review_metadata(7, 1, ids))
    assert meta["pairs"] == "3-5,9,11-12"
    assert reviewed_pair_ids(meta) == ids
    many = list(range(1, 4000, 2))  # no two consecutive: too long to carry
    meta = json.loads(review_metadata(7, 0, many))
    assert len(json.dumps(meta)) <= 3000
    assert reviewed_pair_ids(meta) is None and meta["digest"] == ids_digest(many)
    assert reviewed_pair_ids({"pairs": "1-x"}) is None


def test_rematch_answer_buttons_refuse_non_admins_politely(running_app: RunningApp) -> None:
    running_app.fake.add_user("UNOTADMIN1")
    response = running_app.slack.block_action("UNOTADMIN1", "rematch_end", value="1")
    assert response.status == 200 and response.response_url is not None
    token = response.response_url.rsplit("/", 1)[-1]
    reply = running_app.fake.wait_for("response_url", lambda c: c.params.get("_token") == token)
    assert "Only programme admins" in reply.params["text"]
    assert reply.params["response_type"] == "ephemeral"
