"""The audit log, end to end on both databases: each admin action leaves one entry naming who
did it; super-admins read it with `/mentoring audit` and export it (button and CLI); anyone
else is refused with the reason; the log never holds survey answers or what people wrote."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.views import audit as audit_views
from bot.views import journey as journey_views
from storage.models import AuditEvent, Program, SuccessStory
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    command_reply,
    enroll_pool,
    eventually,
    match_review,
    open_modal,
    program_values,
    setup_program,
    stored_pairs,
)

ROOT = Path(__file__).resolve().parents[1]
OWNER = "UOWNER002"
OUTSIDER = "UOUTSIDE9"


def _entries(app: RunningApp) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())  # type: ignore[arg-type]


def _actions(app: RunningApp) -> Counter[tuple[str | None, str]]:
    return Counter((e.actor_slack_id, e.action) for e in _entries(app))


def _save_settings(app: RunningApp, **overrides: Any) -> None:
    view = open_modal(app, ADMIN, "program")
    response = app.slack.view_submission(ADMIN, view, program_values(**overrides))
    assert response.status == 200, response.body


def _cli(app: RunningApp, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {"DATABASE_URL": app.db.url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )


def test_each_admin_action_leaves_one_entry_with_its_actor(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    eventually(lambda: app.fake.home_of(ADMIN))
    assert _actions(app) == Counter({(ADMIN, "program.create"): 1, (ADMIN, "program.owner_add"): 1})
    # A settings change and a second owner, then the owner removed again.
    _save_settings(app, name="Digital Leaders 2028", owners=[ADMIN, OWNER])
    _save_settings(app, name="Digital Leaders 2028", owners=[ADMIN])
    entries = _entries(app)
    settings = [e for e in entries if e.action == "program.settings"]
    assert [e.detail["fields"] for e in settings] == [["name"]]
    assert [(e.action, e.target) for e in entries if e.action.startswith("program.owner_")][1:] == [
        ("program.owner_add", f"user:{OWNER}"),
        ("program.owner_remove", f"user:{OWNER}"),
    ]
    # Saving with nothing changed records no settings change.
    _save_settings(app, name="Digital Leaders 2028", owners=[ADMIN])
    assert len([e for e in _entries(app) if e.action == "program.settings"]) == 1

    assert "on hold" in command_reply(app, ADMIN, "hold on")["text"]
    assert "flowing again" in command_reply(app, ADMIN, "hold off")["text"]

    enroll_pool(app, 3, 3)
    view = match_review(app)
    removed = stored_pairs(app, "proposed")[0]
    app.slack.block_action(ADMIN, "match_remove", value=str(removed.id), view=view, block_id="x")
    updated = app.fake.wait_for_count("views.update", 2)[-1]
    app.slack.view_submission(ADMIN, updated.response["view"], {})  # type: ignore[index]
    eventually(lambda: len(stored_pairs(app, "active")) == 2)
    ended = stored_pairs(app, "active")[0]
    message = {"ts": "1700000000.000200", "text": "quiet pair", "blocks": []}
    app.slack.block_action(
        ADMIN, journey_views.END_ACTION, value=str(ended.id), message=message, channel_id="DADMIN"
    )
    eventually(lambda: stored_pairs(app, "ended"))
    app.slack.block_action(ADMIN, "home_export", value="", view={"type": "home", "id": "V1"})
    eventually(lambda: app.fake.uploaded_files())

    counts = eventually(lambda: (c := _actions(app))[(ADMIN, "export")] and c)
    assert counts == Counter(
        {
            (ADMIN, "program.create"): 1,
            (ADMIN, "program.owner_add"): 2,
            (ADMIN, "program.owner_remove"): 1,
            (ADMIN, "program.settings"): 1,
            (ADMIN, "program.hold_on"): 1,
            (ADMIN, "program.hold_off"): 1,
            (ADMIN, "match.remove"): 1,
            (ADMIN, "match.approve"): 1,
            (ADMIN, "pair.end"): 1,
            (ADMIN, "export"): 1,
        }
    )
    by_action = {e.action: e for e in _entries(app)}
    assert by_action["match.approve"].detail == {"pairs": 2, "discarded": 0}
    assert by_action["match.remove"].target == f"pair:{removed.id}"
    assert by_action["pair.end"].target == f"pair:{ended.id}"
    with app.db.session() as session:
        program_id = session.exec(select(Program)).one().id
    assert {e.program_id for e in _entries(app)} == {program_id}
    # Ids and counts only: nothing anyone typed (goals, profiles, names) is in the log.
    stored = json.dumps([[e.target, e.detail] for e in _entries(app)])
    for typed in ("Learn by doing", "Digital Leaders", "Marketing", "Using two new tools"):
        assert typed not in stored


def test_super_admins_read_and_export_the_log_and_others_are_refused(
    running_app: RunningApp, tmp_path: Path
) -> None:
    app = running_app
    setup_program(app)
    command_reply(app, ADMIN, "hold on")

    shown = command_reply(app, ADMIN, "audit")
    text = json.dumps(shown["blocks"], ensure_ascii=False)
    assert f"<@{ADMIN}> held every message" in text
    assert f"<@{ADMIN}> created the programme" in text
    assert "<!date^" in text and "programme: Digital Leaders 2027" in text

    # A programme owner who is not a super-admin is refused, with the reason.
    app.fake.add_user(OUTSIDER, real_name="Olli Outsider", locale="en-US")
    refusal = command_reply(app, OUTSIDER, "audit")["text"]
    assert "Only the workspace's super-admins can read the audit log" in refusal
    app.slack.block_action(
        OUTSIDER,
        audit_views.EXPORT_CSV_ACTION,
        value="{}",
        message={"ts": "1700000000.000300", "text": "x", "blocks": []},
        channel_id="D" + OUTSIDER,
    )
    told = eventually(lambda: app.fake.ephemeral_messages(OUTSIDER)[1:])
    assert "super-admins" in str(told[0]["text"])
    assert app.fake.uploaded_files() == []

    # The super-admin's buttons: the file lands in their DM.
    for count, action in enumerate(
        (audit_views.EXPORT_CSV_ACTION, audit_views.EXPORT_JSON_ACTION), start=1
    ):
        app.slack.block_action(
            ADMIN,
            action,
            value=audit_views.Page().value(),
            message={"ts": "1700000000.000400", "text": "log", "blocks": shown["blocks"]},
            channel_id="C0GENERAL",
        )
        files = eventually(
            lambda n=count: len(app.fake.uploaded_files()) >= n and app.fake.uploaded_files()
        )
    by_name = {f["name"]: bytes(f["bytes"]) for f in files}
    rows = list(
        csv.DictReader(io.StringIO(by_name["reverse-mentoring-audit.csv"].decode("utf-8-sig")))
    )
    assert [r["action"] for r in rows][-1] == "program.create"
    assert {r["actor"] for r in rows} == {ADMIN}
    document = json.loads(by_name["reverse-mentoring-audit.json"])
    assert document[0]["action"] == "audit.export"  # the CSV export, recorded before it
    assert {f["channel"] for f in files} <= {c for c in _dm_channels(app)}

    # The command line: CSV (neutralised cells), JSON, one programme, since a day.
    result = _cli(app, tmp_path, "audit", "export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = list(csv.reader(io.StringIO(result.stdout.decode("utf-8-sig"))))
    assert lines[0] == ["id", "at", "actor", "action", "program_id", "target", "detail"]
    assert {line[3] for line in lines[1:]} >= {"program.create", "program.hold_on", "audit.export"}
    result = _cli(app, tmp_path, "audit", "export", "--format", "json", "--program", "1")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert entries and all(e["program_id"] == 1 for e in entries)
    result = _cli(app, tmp_path, "audit", "export", "--format", "json", "--since", "2999-01-01")
    assert json.loads(result.stdout) == []
    cli_exports = [
        e for e in _entries(app) if e.action == "audit.export" and e.actor_slack_id == "cli"
    ]
    assert len(cli_exports) == 3


def test_the_csv_export_neutralises_what_a_spreadsheet_would_run() -> None:
    from bot.domain.export import csv_bytes

    data = csv_bytes([{"target": "=HYPERLINK(1)", "detail": "{}"}], ["target", "detail"])
    assert data.decode("utf-8-sig").splitlines()[1] == "'=HYPERLINK(1),{}"


def _dm_channels(app: RunningApp) -> set[str]:
    return {
        str(c.response["channel"]["id"])
        for c in app.fake.calls("conversations.open")
        if c.ok and c.response is not None
    }


def test_recognition_decisions_are_audited_without_what_people_wrote(
    running_app: RunningApp,
) -> None:
    from tests.test_recognition_e2e import make_world, shoutouts

    app = running_app
    world = make_world(app)
    command_reply(app, ADMIN, "shoutout <@UMENTEE1> Brilliant prompt library")
    eventually(lambda: shoutouts(app))
    command_reply(app, "UMENTOR1", "thanks <@UMENTEE1> You made TikTok make sense")
    command_reply(app, "UMENTEE1", "thanks <@UMENTOR1> Danke für alles")
    proposed = eventually(
        lambda: (
            (rows := [s for s in shoutouts(app) if s.status == "proposed"])
            and len(rows) == 2
            and rows
        )
    )
    review = {"ts": "1700000000.000500", "text": "review", "blocks": []}
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(proposed[0].id), message=review)
    eventually(lambda: shoutouts(app)[1].status == "posted")
    app.slack.block_action(ADMIN, "shoutout_reject", value=str(proposed[1].id), message=review)
    eventually(lambda: shoutouts(app)[2].status == "rejected")

    view = open_modal(app, "UMENTOR1", "story")
    story_text = "We built a prompt library together"
    app.slack.view_submission("UMENTOR1", view, {"story": {"story": {"value": story_text}}})
    with app.db.session() as session:
        story = eventually(lambda: session.exec(select(SuccessStory)).first())
    app.slack.block_action("UMENTEE1", "story_agree", value=str(story.id), message=review)
    eventually(lambda: _story_status(app) == "awaiting_admin")
    app.slack.block_action(ADMIN, "story_approve", value=str(story.id), message=review)
    eventually(lambda: _story_status(app) == "approved")

    counts = eventually(lambda: (c := _actions(app))[(ADMIN, "story.approve")] and c)
    assert counts == Counter(
        {
            (ADMIN, "shoutout.give"): 1,
            (ADMIN, "thanks.approve"): 1,
            (ADMIN, "thanks.reject"): 1,
            (ADMIN, "story.approve"): 1,
        }
    )
    entries = _entries(app)
    assert {e.program_id for e in entries} == {world.program_id}
    assert {e.target for e in entries} == {
        f"shoutout:{shoutouts(app)[0].id}",
        f"shoutout:{proposed[0].id}",
        f"shoutout:{proposed[1].id}",
        f"story:{story.id}",
    }
    stored = json.dumps([[e.target, e.detail] for e in entries], ensure_ascii=False)
    for typed in ("Brilliant", "TikTok", "Danke", "prompt library"):
        assert typed not in stored


def _story_status(app: RunningApp) -> str | None:
    with app.db.session() as session:
        story = session.exec(select(SuccessStory)).first()
        return story.status if story else None


def test_programme_lifecycle_changes_are_audited(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    with app.db.session() as session:
        first = session.exec(select(Program)).one()
        first_id = first.id or 0
    open_modal(app, ADMIN, "program cohort")  # a draft copying the programme
    with app.db.session() as session:
        draft = session.exec(select(Program).where(Program.template_of == first_id)).one()
        draft_id = draft.id or 0
        first = session.get(Program, first_id)
        assert first is not None
        first.status = "ended"
        session.add(first)
    home = {"type": "home", "id": "VHOME"}
    app.slack.block_action(ADMIN, "home_open_enrollment", value=str(draft_id), view=home)
    app.slack.block_action(ADMIN, "home_archive", value=str(first_id), view=home)
    eventually(lambda: (c := _actions(app))[(ADMIN, "program.archive")] and c)
    # A second click finds the stage changed already: nothing more is recorded.
    app.slack.block_action(ADMIN, "home_archive", value=str(first_id), view=home)
    by_action = {e.action: e for e in _entries(app)}
    assert by_action["program.cohort"].program_id == draft_id
    assert by_action["program.cohort"].target == f"program:{first_id}"
    assert by_action["program.open_enrollment"].program_id == draft_id
    assert by_action["program.archive"].program_id == first_id
    eventually(lambda: len(app.fake.calls("views.publish")) >= 3)
    assert _actions(app)[(ADMIN, "program.archive")] == 1


def test_the_log_is_paged_and_filtered_by_programme(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    for _round in range(9):
        command_reply(app, ADMIN, "hold on")
        command_reply(app, ADMIN, "hold off")
    first = command_reply(app, ADMIN, "audit")
    assert len([b for b in first["blocks"] if b["type"] == "section"]) == audit_views.PAGE_SIZE
    older = next(
        e
        for b in first["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == audit_views.OLDER_ACTION
    )
    message = {"ts": "1700000000.000600", "text": first["text"], "blocks": first["blocks"]}
    app.slack.block_action(
        ADMIN,
        audit_views.OLDER_ACTION,
        value=older["value"],
        message=message,
        channel_id="C0GENERAL",
    )
    second = eventually(
        lambda: [m for m in app.fake.ephemeral_messages(ADMIN) if "created the programme" in str(m)]
    )[-1]
    sections = [b for b in second["blocks"] if b["type"] == "section"]
    assert len(sections) == 20 - audit_views.PAGE_SIZE  # create, owner, 18 holds
    assert "Newer" in json.dumps(second["blocks"])
    assert "No entries yet." in json.dumps(command_reply(app, ADMIN, "audit 999")["blocks"])


def test_a_pair_ended_on_a_rematch_request_is_audited_without_the_reason(
    running_app: RunningApp,
) -> None:
    from bot.simulated_slack import signed_requests as sr

    app = running_app
    setup_program(app)
    _mentor, mentee = enroll_pool(app, 1, 1)
    app.slack.view_submission(ADMIN, match_review(app), {})
    app.fake.wait_for("chat.postMessage", lambda c: c.params["channel"].startswith("G"))
    modal = open_modal(app, mentee.user_id, "rematch")
    app.slack.view_submission(
        mentee.user_id, modal, sr.values_from({"reason": sr.plain("Our schedules never fit")})
    )
    notice = app.fake.wait_for(
        "chat.postMessage", lambda c: c.went_to("D" + ADMIN) and "rematch_end" in str(c.params)
    )
    button = next(
        e
        for b in notice.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "rematch_end"
    )
    assert notice.response is not None
    app.slack.block_action(
        ADMIN,
        "rematch_end",
        value=button["value"],
        message=notice.response["message"],
        channel_id=notice.response["channel"],
    )
    eventually(lambda: {p.status for p in stored_pairs(app)} == {"ended"})
    [pair] = stored_pairs(app)
    ended = eventually(lambda: [e for e in _entries(app) if e.action == "pair.end"])
    assert [(e.actor_slack_id, e.target, e.detail["reason"]) for e in ended] == [
        (ADMIN, f"pair:{pair.id}", "rematch")
    ]
    assert "schedules" not in json.dumps([e.detail for e in _entries(app)])
