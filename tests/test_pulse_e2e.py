"""Pulse surveys, match checks, the admin report and the export, end to end through the
signed-request harness and the simulated Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from sqlmodel import select

from bot import clock
from bot.domain.export import export_files
from bot.simulated_slack import signed_requests as sr
from scheduler.pulse import run_match_check, run_pulse
from storage.models import (
    CheckInCycle,
    CheckInRequest,
    Pair,
    Participant,
    PulseBallot,
    PulseParticipation,
    PulseRound,
    PulseTally,
    RematchRequest,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import Person, command_reply, enroll, eventually, setup_program

# Tuesday 14:00 UTC: working hours in New York and Berlin; Ho Chi Minh City gets it next morning.
SURVEY_AT = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)


@contextmanager
def manual_clock(start: datetime) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(start)
    previous = clock.install(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _enroll_all(app: RunningApp, people: list[Person]) -> None:
    for person in people:
        if person.role == "mentor" and not person.offered:
            person.offered = ["ai_tools"]
        if person.role == "mentee" and not person.wanted:
            person.wanted = ["ai_tools"]
        person.add_to(app)
        response = enroll(app, person)
        assert response.status == 200 and "errors" not in response.body, response.body
    eventually(lambda: all(app.fake.home_of(p.user_id) for p in people), timeout=20)


def _deliver(app: RunningApp) -> None:
    app.services.delivery.sender.flush()


def _message_to(app: RunningApp, user_id: str, action_id: str) -> Any:
    return app.fake.wait_for(
        "chat.postMessage",
        lambda c: c.went_to(user_id) and action_id in json.dumps(c.params.get("blocks")),
    )


def _click(app: RunningApp, user_id: str, action_id: str) -> dict[str, Any]:
    """Clicks the button in the person's DM; returns the modal it opened."""
    posted = _message_to(app, user_id, action_id)
    button = next(
        e
        for b in json.loads(json.dumps(posted.params["blocks"]))
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    before = len(app.fake.calls("views.open"))
    app.slack.block_action(
        user_id,
        action_id,
        value=button["value"],
        message=posted.response["message"],
        channel_id=posted.response["channel"],
    )
    call = app.fake.wait_for_count("views.open", before + 1)[-1]
    assert call.ok, call.error
    return call.response["view"]


def _answer(app: RunningApp, user_id: str, view: dict[str, Any], answers: dict[str, Any]) -> str:
    fields: dict[str, Any] = {
        key: sr.static_select(str(value)) for key, value in answers.items() if key != "change"
    }
    fields["change"] = sr.plain(answers.get("change"))
    response = app.slack.view_submission(user_id, view, sr.values_from(fields))
    assert response.status == 200, response.body
    body = response.json()
    assert body["response_action"] == "update"
    return json.dumps(body["view"], ensure_ascii=False)


def _report_text(app: RunningApp, user_id: str = ADMIN) -> str:
    reply = command_reply(app, user_id, "report")
    return json.dumps(reply.get("blocks", reply.get("text")), ensure_ascii=False)


def test_pulse_round_by_twelve_people_shows_only_groups_at_the_threshold(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SURVEY_AT - timedelta(days=30)) as manual:
        setup_program(app, start="2027-01-01", end="2027-12-31", threshold=5, pulse="monthly")
        people = (
            [Person(f"UMEN{i:02d}", "mentor", "en", "Engineering") for i in range(6)]
            + [Person("UMEN06", "mentor", "de", "Legal")]
            + [Person(f"UMTE{i:02d}", "mentee", ("de", "vi")[i % 2], "Marketing") for i in range(5)]
        )
        _enroll_all(app, people)
        manual.set(SURVEY_AT)
        report = run_pulse(app.services, SURVEY_AT)
        assert report.queued == 12
        assert run_pulse(app.services, SURVEY_AT).queued == 0  # a second run queues nothing
        manual.set(SURVEY_AT + timedelta(days=1))
        _deliver(app)
        with app.db.session() as session:
            opened = session.exec(select(PulseRound)).one()
            assert (opened.kind, opened.invited, opened.answered) == ("pulse", 12, 0)
        # Each invitation is in the person's language.
        german = _message_to(app, "UMTE00", "pulse_open")
        vietnamese = _message_to(app, "UMTE01", "pulse_open")
        assert "Umfrage beantworten" in json.dumps(german.params["blocks"], ensure_ascii=False)
        assert "Trả lời khảo sát" in json.dumps(vietnamese.params["blocks"], ensure_ascii=False)
        values = [5, 4, 4, 3, 5, 4, 2, 5, 5, 4, 3, 4]
        for index, person in enumerate(people):
            view = _click(app, person.user_id, "pulse_open")
            assert view["callback_id"] == "pulse_answer"
            answers = {"value": values[index], "nps": 10 - index % 4, "pairing": 4}
            if index == 3:
                answers["change"] = "Mehr Zeit für <Treffen> & Austausch"
            shown = _answer(app, person.user_id, view, answers)
            assert "anonymously" in shown or "anonym" in shown or "ẩn danh" in shown
        # A second answer is refused kindly, and changes nothing.
        again = _click(app, people[0].user_id, "pulse_open")
        assert again["callback_id"] == "pulse_done"
        with app.db.session() as session:
            # While the round is open the answers are twelve sealed ballots of one length; no
            # tally cell has moved and no text is stored in the clear.
            assert {t.n for t in session.exec(select(PulseTally)).all()} == {0}
            sealed = session.exec(select(PulseBallot.sealed)).all()
            assert len(sealed) == 12 and len({len(b) for b in sealed}) == 1
            assert not any(b"Treffen" in b for b in sealed)
            assert len(session.exec(select(PulseParticipation)).all()) == 12
        # While the round is open, nothing but the counts is shown.
        text = _report_text(app)
        assert "12 of 12 answered" in text and "results appear after it closes" in text
        assert "Treffen" not in text
        manual.set(SURVEY_AT + timedelta(days=8))
        run_pulse(app.services, SURVEY_AT + timedelta(days=8))
        with app.db.session() as session:
            tally = session.exec(
                select(PulseTally).where(
                    PulseTally.dimension == "all", PulseTally.question == "value"
                )
            ).all()
            assert sum(t.n for t in tally) == 12
            # Closing opened the ballots and destroyed them, the markers and the key salt.
            assert session.exec(select(PulseBallot)).all() == []
            assert session.exec(select(PulseParticipation)).all() == []
            closed = session.exec(select(PulseRound)).one()
            assert (closed.status, closed.answered, closed.key_salt) == ("closed", 12, None)
        text = _report_text(app)
    average = sum(values) / 12
    assert f"value {average:.1f}" in text
    assert "Everyone: n=12" in text
    assert "Mentor: n=7" in text and "Mentee: n=5" in text
    assert "Engineering: n=6" in text
    # Marketing (5) is hidden to protect Legal (1, no cell of its own): complementary suppression.
    assert "Marketing: hidden" in text
    assert "Legal" not in text
    # Free text: escaped, without role or department.
    assert "Mehr Zeit für &lt;Treffen&gt; &amp; Austausch" in text


def test_match_check_at_thirty_days_and_the_help_path(running_app: RunningApp) -> None:
    app = running_app
    mentor = Person("UCHKMENTOR", "mentor", offered=["ai_tools"])
    mentee = Person("UCHKMENTEE", "mentee", "de", wanted=["ai_tools"])
    start = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    with manual_clock(start) as manual:
        setup_program(app, topics="AI tools")
        _enroll_all(app, [mentor, mentee])
        response = app.slack.command(ADMIN, "match")
        assert response.status == 200
        update = app.fake.wait_for(
            "views.update", lambda c: c.params["view"].get("callback_id") == "match_review"
        )
        app.slack.view_submission(ADMIN, update.response["view"], {})
        eventually(lambda: _introduced(app))
        manual.set(start + timedelta(days=20))
        assert run_match_check(app.services, manual.now()).queued == 0  # not yet day 30
        check_at = start + timedelta(days=31)
        manual.set(check_at)
        assert run_match_check(app.services, check_at).queued == 2
        assert run_match_check(app.services, check_at).queued == 0
        _deliver(app)
        app.fake.reset_calls()
        for person, action in ((mentor, "match_check_yes"), (mentee, "match_check_help")):
            posted = (
                app.fake.wait_for("chat.postMessage", lambda c, p=person: False) if False else None
            )
            del posted
            message = next(
                m
                for m in app.fake.posted_messages()
                if action in json.dumps(m.get("blocks"))
                and m.get("channel") in (person.user_id, app.fake.dm_channel(person.user_id))
            )
            value = next(
                e["value"]
                for b in message["blocks"]
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == action
            )
            app.slack.block_action(person.user_id, action, value=value, message=message)
        notice = app.fake.wait_for("chat.postMessage", lambda c: c.went_to(ADMIN))
        assert "privately asks for a new match" in json.dumps(notice.params)
        eventually(lambda: len(app.fake.calls("chat.update")) >= 2)
        closing = datetime(2027, 3, 8, 14, 0, tzinfo=UTC)  # the February round's window ended
        manual.set(closing)
        run_match_check(app.services, closing)
    with app.db.session() as session:
        request = session.exec(select(RematchRequest)).one()
        assert request.reason and "Match check" in request.reason
        february = session.exec(select(PulseRound).where(PulseRound.period == "2027-02")).one()
        assert (february.status, february.answered) == ("closed", 2)
        cells = session.exec(
            select(PulseTally).where(
                PulseTally.round_id == february.id, PulseTally.dimension == "all"
            )
        ).all()
        assert {c.value: c.n for c in cells} == {0: 1, 1: 0, 2: 1}
    # The mentor hears nothing about the mentee's request.
    assert not any("new match" in t for t in app.fake.dm_texts(mentor.user_id))


def _introduced(app: RunningApp) -> bool:
    with app.db.session() as session:
        pair = session.exec(select(Pair)).first()
        return pair is not None and pair.introduced_at is not None


def test_non_admins_get_neither_report_nor_export(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    someone = Person("UNOTADMIN", "mentee")
    someone.add_to(app)
    reply = command_reply(app, someone.user_id, "report")
    assert "admin" in reply["text"].lower()
    app.slack.block_action(
        someone.user_id, "home_export", value="", view={"type": "home", "id": "V1"}
    )
    app.slack.block_action(
        someone.user_id, "home_report", value="", view={"type": "home", "id": "V1"}
    )
    eventually(
        lambda: len([t for t in app.fake.dm_texts(someone.user_id) if "admin" in t.lower()]) == 2
    )
    assert app.fake.uploaded_files() == []


def _checkins(app: RunningApp) -> None:
    """Check-in rows inserted directly: the report must read whatever the journey stores."""
    with app.db.session() as session:
        program_id = session.exec(select(Participant.program_id)).first()
        people = session.exec(select(Participant)).all()
        mentors = [p for p in people if p.role == "mentor"]
        mentees = [p for p in people if p.role == "mentee"]
        pairs = []
        for mentor, mentee in zip(mentors, mentees, strict=False):
            pair = Pair(
                program_id=program_id, mentor_id=mentor.id, mentee_id=mentee.id, status="active"
            )
            session.add(pair)
            pairs.append((pair, mentor, mentee))
        session.flush()
        for index, (period, met) in enumerate(
            (("2027-01", [True, False]), ("2027-02", [True, True]))
        ):
            cycle = CheckInCycle(program_id=program_id, period=period)
            session.add(cycle)
            session.flush()
            for (pair, mentor, _mentee), did in zip(pairs, met, strict=False):
                session.add(
                    CheckInRequest(
                        cycle_id=cycle.id, pair_id=pair.id, participant_id=mentor.id,
                        status="met" if did else "not_yet", rating=4 + index % 2,
                        notes="PRIVATE NOTE do not show",
                    )
                )  # fmt: skip


def test_report_charts_are_pngs_whose_numbers_match_the_text(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    people = [
        Person("UCHA1", "mentor", offered=["ai_tools"]),
        Person("UCHA2", "mentor", offered=["social_media"]),
        Person("UCHB1", "mentee", wanted=["ai_tools"]),
        Person("UCHB2", "mentee", wanted=["ai_tools"]),
    ]
    _enroll_all(app, people)
    _checkins(app)
    text = _report_text(app)
    assert "PRIVATE NOTE" not in text
    assert "January 2027: 50% met (1 of 2 pairs asked; 0 did not answer)" in text
    assert "February 2027: 100% met (2 of 2 pairs asked; 0 did not answer)" in text
    uploads = eventually(lambda: app.fake.uploaded_files())
    names = {f["name"] for f in uploads}
    assert {"meeting-rate.png", "topics.png"} <= names
    for upload in uploads:
        image = Image.open(io.BytesIO(upload["bytes"]))
        image.verify()
        assert image.format == "PNG"
    meeting = next(f for f in uploads if f["name"] == "meeting-rate.png")
    data = json.loads(Image.open(io.BytesIO(meeting["bytes"])).info["Description"])
    for period, rate in data["%"]:
        assert f"{period}: {rate}% met" in text
    topics = next(f for f in uploads if f["name"] == "topics.png")
    rows = json.loads(Image.open(io.BytesIO(topics["bytes"])).info["Description"])
    for label, supply, demand in rows:
        assert f"{label}: {supply} offer, {demand} want" in text
    assert any(r[0] == "AI tools" and r[1] == 1 and r[2] == 2 for r in rows)


def test_export_round_trips_german_and_vietnamese_and_hides_private_notes(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app)
    _enroll_all(app, [Person("UEXP1", "mentor", "de"), Person("UEXP2", "mentee", "vi")])
    names = {"UEXP1": "Jürgen Groß-Öztürk", "UEXP2": "Nguyễn Thị Hoa"}
    with app.db.session() as session:
        for person in session.exec(select(Participant)).all():
            person.display_name = names[person.slack_user_id]
            session.add(person)
    _checkins(app)
    files = dict(export_files(app.db, "csv"))
    assert set(files) == {
        "programs.csv", "participants.csv", "pairs.csv", "goals.csv", "checkins.csv",
        "shoutouts.csv", "pulse.csv",
    }  # fmt: skip
    raw = files["participants.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {r["slack_user_id"]: r["display_name"] for r in rows} == names
    assert re.match(r"\d{4}-\d{2}-\d{2}T", rows[0]["enrolled_at"])
    assert all(b"PRIVATE NOTE" not in data for data in files.values())
    checkins = list(csv.DictReader(io.StringIO(files["checkins.csv"].decode("utf-8-sig"))))
    assert "notes" not in checkins[0] and checkins[0]["period"] == "2027-01"
    document = json.loads(dict(export_files(app.db, "json"))["reverse-mentoring-export.json"])
    assert set(document) == {
        "programs", "participants", "pairs", "goals", "checkins", "shoutouts", "pulse"
    }  # fmt: skip
    assert {p["display_name"] for p in document["participants"]} == set(names.values())
    # The admin button DMs the same CSV files.
    app.slack.block_action(ADMIN, "home_export", value="", view={"type": "home", "id": "V1"})
    uploads = eventually(lambda: app.fake.uploaded_files())
    by_name = {f["name"]: f["bytes"] for f in uploads}
    assert by_name["participants.csv"] == files["participants.csv"]


def test_cli_export_writes_the_same_files(database: Any, tmp_path: Any) -> None:
    """`reverse-mentoring export` uses the one export function: stdout, a folder or a zip."""
    import os
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    from storage.models import Program

    with database.session() as session:
        program = Program(name="Vòng 1 – Größe")
        session.add(program)
        session.flush()
        session.add(
            Participant(
                program_id=program.id,
                slack_user_id="UCLI",
                role="mentee",
                display_name="Đặng Văn Lâm",
            )
        )
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {"DATABASE_URL": database.url, "PYTHONPATH": str(root)}

    def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "export", *args], env=env, cwd=tmp_path,
            capture_output=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result

    document = json.loads(cli().stdout)
    assert document["participants"][0]["display_name"] == "Đặng Văn Lâm"
    cli("--format", "csv", "--output", str(tmp_path / "out"))
    expected = dict(export_files(database, "csv"))
    for name, data in expected.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    cli("--format", "csv", "--output", str(tmp_path / "all.zip"))
    with zipfile.ZipFile(tmp_path / "all.zip") as archive:
        assert archive.read("participants.csv") == expected["participants.csv"]
