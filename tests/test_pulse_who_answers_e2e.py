"""Who may answer a pulse round or a match check, end to end through signed requests, on SQLite
and PostgreSQL (issue #19, items 2, 3 and 17):

* only the people a round was sent to, still in the programme, while it is open: a newcomer who
  was not invited and a person who left are refused kindly and not counted;
* a match-check button accepts only match-check rounds: one carrying a survey's round is
  refused and does not use up the person's survey answer;
* one answer per person and pair: a mentor with two mentees answers both checks, and "I'd like
  help" on the second reaches the admins;
* one answer per person per round survives leaving with deletion and re-joining.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from scheduler.pulse import run_match_check, run_pulse
from storage.models import (
    Pair,
    PulseBallot,
    PulseKind,
    PulseParticipation,
    PulseRound,
    PulseTally,
    RematchRequest,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import Person, enroll, eventually, open_modal, setup_program
from tests.test_pulse_e2e import (
    SURVEY_AT,
    _answer,
    _click,
    _deliver,
    _enroll_all,
    _report_text,
    manual_clock,
)

NOT_INVITED = "This survey is for the participants it was sent to"
ALREADY = "You have already answered this survey"


def _round(app: RunningApp, kind: str = PulseKind.PULSE) -> PulseRound:
    with app.db.session() as session:
        return session.exec(select(PulseRound).where(PulseRound.kind == kind)).one()


def _opened_view(app: RunningApp, user_id: str, round_id: int) -> dict[str, Any]:
    """Clicks a survey button carrying `round_id` (as a forwarded or old message would) and
    returns the modal that opened."""
    before = len(app.fake.calls("views.open"))
    app.slack.block_action(user_id, "pulse_open", value=str(round_id), block_id="pulse")
    call = app.fake.wait_for_count("views.open", before + 1)[-1]
    assert call.ok, call.error
    return call.response["view"]


def _shown(view: dict[str, Any]) -> str:
    return json.dumps(view.get("blocks"), ensure_ascii=False)


def _leave(app: RunningApp, person: Person, *, erase: bool) -> None:
    view = open_modal(app, person.user_id, "leave")
    values = sr.values_from({"erase": sr.checkboxes(["erase"] if erase else [])})
    response = app.slack.view_submission(person.user_id, view, values)
    assert response.status == 200, response.body


def _counted(app: RunningApp, round_id: int) -> tuple[int, int]:
    """(participation markers, ballots) of an open round."""
    with app.db.session() as session:
        markers = session.exec(
            select(PulseParticipation).where(PulseParticipation.round_id == round_id)
        ).all()
        ballots = session.exec(select(PulseBallot).where(PulseBallot.round_id == round_id)).all()
        return len(markers), len(ballots)


def _everyone(app: RunningApp, round_id: int, question: str) -> dict[int, int]:
    with app.db.session() as session:
        cells = session.exec(
            select(PulseTally).where(
                PulseTally.round_id == round_id,
                PulseTally.dimension == "all",
                PulseTally.question == question,
            )
        ).all()
        return {c.value: c.n for c in cells}


def test_only_invited_people_still_in_the_programme_may_answer(running_app: RunningApp) -> None:
    app = running_app
    invited = [Person(f"UINV{i}", ("mentor", "mentee")[i % 2]) for i in range(5)]
    newcomer = Person("UNEWCOMER", "mentee")
    leaver = invited[4]
    with manual_clock(SURVEY_AT - timedelta(days=30)) as manual:
        setup_program(app, start="2027-01-01", end="2027-12-31", threshold=3, pulse="monthly")
        _enroll_all(app, invited)
        manual.set(SURVEY_AT)
        assert run_pulse(app.services, SURVEY_AT).queued == 5
        _deliver(app)
        round_id = _round(app).id or 0
        manual.set(SURVEY_AT + timedelta(hours=1))
        _enroll_all(app, [newcomer])  # joins after the round opened: not invited

        # The one who leaves had opened the survey while still in the programme.
        opened_before_leaving = _click(app, leaver.user_id, "pulse_open")
        assert opened_before_leaving["callback_id"] == "pulse_answer"
        _leave(app, leaver, erase=False)
        answer = {"value": 1, "nps": 0, "pairing": 1}
        refused = _answer(app, leaver.user_id, opened_before_leaving, answer)
        assert NOT_INVITED in refused
        again = _opened_view(app, leaver.user_id, round_id)
        assert again["callback_id"] == "pulse_done" and NOT_INVITED in _shown(again)

        # The newcomer gets no survey from a forwarded button, nor by submitting one.
        forwarded = _opened_view(app, newcomer.user_id, round_id)
        assert forwarded["callback_id"] == "pulse_done" and NOT_INVITED in _shown(forwarded)
        forged = _answer(app, newcomer.user_id, opened_before_leaving, answer)
        assert NOT_INVITED in forged
        assert _counted(app, round_id) == (0, 0)

        # An invited person still in the programme answers, once.
        view = _click(app, invited[0].user_id, "pulse_open")
        assert "anonymously" in _answer(
            app, invited[0].user_id, view, {"value": 5, "nps": 10, "pairing": 5}
        )
        assert _counted(app, round_id) == (1, 1)
        assert "1 of 5 answered" in _report_text(app)
        manual.set(SURVEY_AT + timedelta(days=8))
        run_pulse(app.services, SURVEY_AT + timedelta(days=8))
    closed = _round(app)
    assert (closed.status, closed.answered) == ("closed", 1)
    assert _everyone(app, round_id, "value") == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}


def _match_message(app: RunningApp, user_id: str, pair_id: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for message in app.fake.posted_messages(app.fake.dm_channel(user_id)):
            for block in message.get("blocks", []):
                for element in block.get("elements", []) if block["type"] == "actions" else []:
                    if element["value"].endswith(f":{pair_id}"):
                        return message
        return None

    return eventually(found)


def _match_click(
    app: RunningApp, user_id: str, action: str, value: str, message: dict[str, Any]
) -> str:
    """Clicks a match-check button; returns the text the message was replaced with."""
    before = len(app.fake.calls("chat.update"))
    app.slack.block_action(user_id, action, value=value, message=message, block_id="match_check")
    update = app.fake.wait_for_count("chat.update", before + 1)[-1]
    return str(update.params.get("text"))


MENTOR = Person("UTWOMENTOR", "mentor", offered=["ai_tools"])
MENTEES = [Person(f"UTWOMENTEE{i}", "mentee", wanted=["ai_tools"]) for i in range(2)]
PAIRED_AT = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
CHECK_AT = PAIRED_AT + timedelta(days=31)
CLOSING = datetime(2027, 3, 8, 14, 0, tzinfo=UTC)  # the February checks' window has ended


def _checks_for_a_mentor_of_two(
    app: RunningApp, manual: Any
) -> tuple[list[Pair], PulseRound, PulseRound]:
    """A mentor with two mentees, matched through the admin's review; on day 31 the month's
    match checks (four: one per person and pair) and a survey round are out. Returns the
    pairs, the match-check round and the survey round."""
    setup_program(app, topics="AI tools", capacity=2, pulse="monthly", threshold=3)
    _enroll_all(app, [MENTOR, *MENTEES])
    assert app.slack.command(ADMIN, "match").status == 200
    review = app.fake.wait_for(
        "views.update", lambda c: c.params["view"].get("callback_id") == "match_review"
    )
    app.slack.view_submission(ADMIN, review.response["view"], {})

    def introduced() -> list[Pair]:
        with app.db.session() as session:
            pairs = session.exec(select(Pair).order_by(Pair.id)).all()
            return list(pairs) if len(pairs) == 2 and all(p.introduced_at for p in pairs) else []

    pairs = eventually(introduced)
    assert {p.mentor_id for p in pairs} == {pairs[0].mentor_id}
    manual.set(CHECK_AT)
    assert run_match_check(app.services, CHECK_AT).queued == 4
    assert run_pulse(app.services, CHECK_AT).queued == 3
    _deliver(app)
    return pairs, _round(app, PulseKind.MATCH_CHECK), _round(app, PulseKind.PULSE)


def test_a_match_check_button_refuses_a_surveys_round(running_app: RunningApp) -> None:
    app = running_app
    with manual_clock(PAIRED_AT) as manual:
        pairs, _check, survey = _checks_for_a_mentor_of_two(app, manual)
        # A match-check button carrying the survey's round is refused ...
        first = _match_message(app, MENTEES[0].user_id, pairs[0].id or 0)
        forged = f"{survey.id}:{pairs[0].id}"
        reply = _match_click(app, MENTEES[0].user_id, "match_check_yes", forged, first)
        assert "for the pair it was sent to" in reply
        assert _counted(app, survey.id or 0) == (0, 0)
        # ... and the survey itself is still theirs to answer.
        view = _click(app, MENTEES[0].user_id, "pulse_open")
        assert view["callback_id"] == "pulse_answer"
        shown = _answer(app, MENTEES[0].user_id, view, {"value": 4, "nps": 8, "pairing": 4})
        assert "anonymously" in shown
        assert _counted(app, survey.id or 0) == (1, 1)


def test_a_mentor_of_two_answers_each_pairs_check(running_app: RunningApp) -> None:
    app = running_app
    with manual_clock(PAIRED_AT) as manual:
        pairs, check, _survey = _checks_for_a_mentor_of_two(app, manual)
        app.fake.reset_calls()
        # "Yes" for the first mentee, "I'd like help" for the second.
        messages = [_match_message(app, MENTOR.user_id, pair.id or 0) for pair in pairs]
        for pair, action, message in zip(
            pairs, ("match_check_yes", "match_check_help"), messages, strict=True
        ):
            reply = _match_click(app, MENTOR.user_id, action, f"{check.id}:{pair.id}", message)
            assert "already answered" not in reply
        notice = app.fake.wait_for("chat.postMessage", lambda c: c.went_to(ADMIN))
        assert "privately asks for a new match" in json.dumps(notice.params)
        # A second answer for the same pair (a click on the old message) is still refused.
        value = f"{check.id}:{pairs[0].id}"
        again = _match_click(app, MENTOR.user_id, "match_check_help", value, messages[0])
        assert "already answered" in again
        manual.set(CLOSING)
        run_match_check(app.services, CLOSING)
    with app.db.session() as session:
        request = session.exec(select(RematchRequest)).one()
        assert request.pair_id == pairs[1].id and request.reason
    assert _everyone(app, check.id or 0, "match") == {0: 1, 1: 0, 2: 1}


def test_one_answer_per_round_survives_leaving_with_deletion(running_app: RunningApp) -> None:
    app = running_app
    people = [Person(f"UREJ{i}", ("mentor", "mentee")[i % 2]) for i in range(4)]
    returning = people[0]
    with manual_clock(SURVEY_AT - timedelta(days=30)) as manual:
        setup_program(app, start="2027-01-01", end="2027-12-31", threshold=3, pulse="monthly")
        _enroll_all(app, people)
        manual.set(SURVEY_AT)
        assert run_pulse(app.services, SURVEY_AT).queued == 4
        _deliver(app)
        round_id = _round(app).id or 0
        manual.set(SURVEY_AT + timedelta(hours=1))
        view = _click(app, returning.user_id, "pulse_open")
        _answer(app, returning.user_id, view, {"value": 5, "nps": 10, "pairing": 5})
        _leave(app, returning, erase=True)
        assert enroll(app, returning).status == 200  # back, as a new participant row

        # The old invitation in their DM: already answered, even though they are a new row.
        again = _click(app, returning.user_id, "pulse_open")
        assert again["callback_id"] == "pulse_done" and ALREADY in _shown(again)
        second = _answer(app, returning.user_id, view, {"value": 1, "nps": 0, "pairing": 1})
        assert ALREADY in second
        assert _counted(app, round_id) == (1, 1)
        manual.set(SURVEY_AT + timedelta(days=8))
        run_pulse(app.services, SURVEY_AT + timedelta(days=8))
    assert _round(app).answered == 1
    assert _everyone(app, round_id, "value") == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
