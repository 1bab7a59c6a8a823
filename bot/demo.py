"""`reverse-mentoring demo`: a whole programme, simulated months, in one command.

The real app (the sandbox's set-up: same Bolt app, listeners, jobs and storage, against the
packaged simulated Slack) is driven the way people would drive it: signed slash commands, modal
submissions and clicks, with the scheduler's jobs run at simulated times on the app's clock. No
handler or job has a demo branch; the demo only plays the people. What everyone saw is written
to `--out` (a text and an HTML transcript, files the app uploaded, the export), and the closing
figures come from the app's own report code over the stored data.
"""

from __future__ import annotations

import html
import json
import random
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.domain.export import export_files
from bot.domain.report import build_report
from bot.i18n import translator
from bot.sandbox.forms import option_values
from bot.sandbox.render import RenderContext, message_html
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID, COMMUNITY_CHANNEL, OFFICES, SeedPerson
from bot.views.report import report_sections
from storage import repositories as repo
from storage.db import Database
from storage.models import PairStatus

DEFAULT_START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # a Monday morning
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def message_text(message: dict[str, Any]) -> str:
    """What a person reads: headers, sections, fields and context lines, or the fallback text
    when the message has no blocks."""
    parts: list[str] = []
    for block in message.get("blocks") or []:
        texts = [block.get("text")] + list(block.get("fields") or [])
        if block.get("type") == "context":
            texts = list(block.get("elements") or [])
        parts.extend(t["text"] for t in texts if isinstance(t, dict) and t.get("text"))
    return "\n".join(parts) or str(message.get("text") or "")


def first_weekday(months_after_start: int) -> datetime:
    """08:00 UTC on the first weekday of the month `months_after_start` after the start."""
    month_index = DEFAULT_START.month - 1 + months_after_start
    day = date(DEFAULT_START.year + month_index // 12, month_index % 12 + 1, 1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


@dataclass
class Progress:
    """A one-line progress bar on stderr (quiet when not a terminal)."""

    total: int
    stream: TextIO = sys.stderr
    done: int = 0

    def step(self, label: str) -> None:
        self.done += 1
        if not self.stream.isatty():
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label:<40}")
        self.stream.flush()
        if self.done >= self.total:
            self.stream.write("\n")


@dataclass
class DemoResult:
    out: Path
    people: int
    pairs: int
    summary: list[str] = field(default_factory=list)
    ended_at: datetime = DEFAULT_START
    # What the simulated Slack refused or warned about (Block Kit limits, missing fallbacks).
    violations: list[str] = field(default_factory=list)


class Demo:
    def __init__(
        self, *, people: int, months: int, seed: int, out: Path, database_url: str
    ) -> None:
        self.months = months
        self.rng = random.Random(seed)
        self.out = out
        self.box = Sandbox(
            port=0,
            people=people,
            seed=seed,
            database_url=database_url,
            start_at=DEFAULT_START,
            with_scheduler=False,
            serve_page=False,
        )
        self.roles: dict[str, str] = {}

    # ------------------------------------------------------------------ the story

    def members(self) -> list[SeedPerson]:
        return [p for p in self.box.people if not p.is_admin]

    def set_up_programme(self) -> None:
        box = self.box
        box.command(ADMIN_ID, "/mentoring program", "")
        start = box.clock.now().date()
        end = date(
            start.year + (start.month + self.months) // 12,
            (start.month + self.months) % 12 or 12,
            28,
        )
        box.answer_modal(
            ADMIN_ID,
            {
                "name": "Digital Leaders 2027",
                "goals": "80% of leaders complete 6 sessions with their mentor\n"
                "Leaders rate their digital confidence 1 point higher after 6 months",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "community_channel": COMMUNITY_CHANNEL[0],
                "checkin_cadence": "monthly",
                "pulse_cadence": "monthly",
                "offices": "\n".join(office.city for office in OFFICES),
            },
        )
        # A programme setting without a form field yet: a pair completes after meeting in
        # as many months as the demo runs (the default is six).
        with self.db.session() as session:
            program = repo.active_program(session)
            if program is not None:
                program.settings = {**program.settings, "completion_cycles": self.months}
                session.add(program)

    def enroll_everyone(self, progress: Progress) -> None:
        box = self.box
        for index, person in enumerate(self.members()):
            role = "mentor" if index % 2 == 0 else "mentee"
            self.roles[person.user_id] = role
            box.command(person.user_id, "/mentoring join", "")
            view = box.top_modal(person.user_id)
            if view is None:
                continue
            topics = [
                t for t in option_values(view, "topics_offered") if not t.startswith("growth_")
            ]
            growth = [
                t for t in option_values(view, "development_areas") if t.startswith("growth_")
            ]
            chosen = self.rng.sample(topics, k=min(2, len(topics)))
            answers: dict[str, Any] = {
                "role": role,
                "department": person.department,
                "seniority": "early_career" if role == "mentor" else "executive",
                "meeting_frequency": "monthly",
                "meeting_format": self.rng.choice(["video", "any", "video", "in_person"]),
                "available_days": self.rng.sample(["mon", "tue", "wed", "thu", "fri"], k=3),
                "time_of_day": "any",
                "consent": ["yes"] if self.rng.random() < 0.8 else [],
                "personal_goals": "Learn by doing, one tool at a time",
                # Where they work, and English besides their own language (most of them).
                "office": person.office.city,
                "languages": ["en"] if self.rng.random() < 0.9 else [],
            }
            if role == "mentor":
                answers["topics_offered"] = chosen
                answers["development_areas"] = self.rng.sample(growth, k=min(1, len(growth)))
            else:
                answers["topics_wanted"] = chosen
            if person.manager_id and person.manager_id != person.user_id:
                answers["manager"] = person.manager_id
            box.answer_modal(person.user_id, answers)
            progress.step(f"enrolled {index + 1}/{len(self.members())}")

    def match_and_approve(self) -> None:
        box = self.box
        box.command(ADMIN_ID, "/mentoring match", "")
        view = box.top_modal(ADMIN_ID)
        if view is not None and view.get("submit"):
            box.answer_modal(ADMIN_ID, {})

    def pairs_set_goals(self) -> None:
        for person in self.members():
            if self.roles.get(person.user_id) != "mentee":
                continue
            self.box.click(person.user_id, "pair_set_goals")
            if self.box.top_modal(person.user_id) is None:
                continue
            self.box.answer_modal(
                person.user_id,
                {
                    "goal_1": "Use an AI assistant for meeting notes every week",
                    "measure_1": "4 weeks in a row",
                    "goal_2": "Post one LinkedIn update a month",
                    "measure_2": "3 posts",
                    # Target dates must lie ahead of the demo's clock (it starts in January 2027).
                    "target_1": "2027-06-30",
                    "target_2": "2027-09-30",
                },
            )

    def one_pair_asks_to_rematch(self) -> None:
        mentees = [p for p in self.members() if self.roles.get(p.user_id) == "mentee"]
        if not mentees:
            return
        asker = mentees[-1]
        self.box.command(asker.user_id, "/mentoring rematch", "")
        if self.box.top_modal(asker.user_id) is not None:
            self.box.answer_modal(asker.user_id, {"reason": "Our schedules never line up."})
            self.box.click(ADMIN_ID, "rematch_end")

    @property
    def db(self) -> Database:
        return self.box.runtime.services.db

    def pairs(self) -> list[tuple[str, str]]:
        """(mentor, mentee) user ids of the active pairs, oldest first."""
        with self.db.session() as session:
            program = repo.active_program(session)
            if program is None:
                return []
            pairs = repo.pairs(session, program.id or 0, [PairStatus.ACTIVE])
            people = repo.participants_by_ids(
                session, [p.mentor_id for p in pairs] + [p.mentee_id for p in pairs]
            )
            return [
                (people[p.mentor_id].slack_user_id, people[p.mentee_id].slack_user_id)
                for p in pairs
            ]

    def job(self, name: str) -> None:
        """Runs a scheduled job at the simulated time, then lets the day pass (the scheduler's
        delivery runs as the clock moves), so each message arrives at its local time."""
        self.box.run_job(name)
        for _step in range(2):  # 08:00 UTC, then 14:00 and 20:00: New York's working day too
            self.box.clock.advance(timedelta(hours=6))
            self.box.run_job("deliver_outbox")

    def answer_checkins(self, month: int, silent: set[str], late: set[str]) -> None:
        for _mentor, mentee in self.pairs():
            if mentee in silent:
                continue  # this pair has gone quiet: no answer, nudges, then escalation
            if mentee in late and month == 1:
                self.box.click(mentee, "journey_not_yet")
                continue
            self.box.click(mentee, "journey_met")
            if self.box.top_modal(mentee) is not None:
                self.box.answer_modal(
                    mentee,
                    {
                        "duration": "60",
                        "rating": str(self.rng.choice([4, 5, 5, 3])),
                        "topics": "AI assistants, our first shared prompt library",
                        "learned": "How my mentor uses AI to summarise long threads",
                    },
                )

    def answer_surveys(self) -> None:
        for person in self.members():
            self.box.click(person.user_id, "pulse_open")
            if self.box.top_modal(person.user_id) is None:
                continue
            self.box.answer_modal(
                person.user_id,
                {
                    "value": str(self.rng.choice([4, 4, 5, 3])),
                    "nps": str(self.rng.choice([9, 10, 8, 7, 10])),
                    "pairing": str(self.rng.choice([4, 5, 5, 3])),
                },
            )

    def answer_match_checks(self) -> None:
        for person in self.members():
            self.box.click(person.user_id, "match_check_yes")

    def admin_shout_out(self) -> None:
        pairs = self.pairs()
        if not pairs:
            return
        mentor, mentee = pairs[-1]
        praise = "Your AI prompt library is now used by the whole team!"
        text = f"/mentoring shoutout <@{mentor}> <@{mentee}> {praise}"
        self.box.command(ADMIN_ID, text, "")

    def admin_reviews(self) -> None:
        self.box.command(ADMIN_ID, "/mentoring report", "")
        export = self.out / "export"
        export.mkdir(parents=True, exist_ok=True)
        for fmt in ("json", "csv"):
            for name, data in export_files(self.db, fmt):
                (export / name).write_bytes(data)

    def run(self, progress: Progress) -> DemoResult:
        self.set_up_programme()
        progress.step("programme set up")
        self.enroll_everyone(progress)
        self.match_and_approve()
        progress.step("matched and introduced")
        self.pairs_set_goals()
        progress.step("pair goals set")
        pairs = self.pairs()
        silent = {pairs[0][1]} if pairs else set()
        late = {pairs[1][1]} if len(pairs) > 1 else set()
        for month in range(1, self.months + 1):
            first_day = first_weekday(month)
            self.box.clock.set(first_day)
            self.job("digest")  # last month's highlights in the community channel
            self.job("checkin")
            self.answer_checkins(month, silent, late)
            self.job("match_check")
            self.answer_match_checks()
            self.job("pulse")
            self.answer_surveys()
            if month == 1:
                self.one_pair_asks_to_rematch()
            if month == 2:
                self.admin_shout_out()
            self.box.clock.set(first_day + timedelta(days=7))
            self.job("nudge")
            self.job("milestones")
            progress.step(f"month {month}")
        # The last pulse round closes, last month's digest goes out, milestones and
        # certificates for the pairs that met every month; then the admin looks.
        self.box.clock.set(first_weekday(self.months + 1))
        for name in ("pulse", "milestones", "digest"):
            self.job(name)
        self.admin_reviews()
        progress.step("report and export")
        return self.write()

    # ------------------------------------------------------------------ what everyone saw

    def _context(self) -> RenderContext:
        return self.box._names()

    def write(self) -> DemoResult:
        self.out.mkdir(parents=True, exist_ok=True)
        people = self.box.people
        text_lines: list[str] = []
        sections: list[str] = []
        ctx = self._context()
        for person in people:
            seen = sorted(self.box.visible_messages(person.user_id), key=lambda m: float(m["ts"]))
            role = "admin" if person.is_admin else self.roles.get(person.user_id, "")
            title = f"{person.name} ({person.office.city}, {person.office.locale}, {role})"
            text_lines.append("=" * len(title))
            text_lines.append(title)
            text_lines.append("=" * len(title))
            items = []
            for message in seen:
                where = (
                    ctx.channel_name(message["channel"])
                    if message["channel"].startswith("C")
                    else message["channel"]
                )
                text = _MENTION.sub(
                    lambda m: "@" + ctx.user_name(m.group(1)), message_text(message)
                )
                text_lines.append(f"[{where}] {html.unescape(text)}")
                items.append(f'<div class="msg">{message_html(message, ctx)}</div>')
            text_lines.append("")
            sections.append(
                f'<section id="{html.escape(person.user_id)}"><h2>{html.escape(title)}</h2>'
                + "".join(items)
                + "</section>"
            )
        (self.out / "transcript.txt").write_text("\n".join(text_lines), encoding="utf-8")
        page = (
            '<!doctype html><html><head><meta charset="utf-8"><title>Demo transcript</title>'
            "</head><body><h1>Reverse Mentoring demo: what everyone saw (simulated)</h1>"
            + "".join(sections)
            + "</body></html>"
        )
        (self.out / "transcript.html").write_text(page, encoding="utf-8")
        for upload in self.box.fake.uploaded_files():
            (self.out / f"{upload['id']}-{upload['name']}").write_bytes(bytes(upload["bytes"]))
        pairs = self._count_pairs()
        refused = [
            f"{call.method}: {call.error}"
            for call in self.box.fake.calls()
            if call.error in ("invalid_blocks", "invalid_arguments", "view_too_large")
        ]
        violations = refused + list(self.box.fake.warnings)
        return DemoResult(
            self.out,
            len(self.members()),
            pairs,
            self.figures(),
            self.box.clock.now(),
            violations,
        )

    def _count_pairs(self) -> int:
        with self.db.session() as session:
            program = repo.active_program(session)
            if program is None:
                return 0
            return len(repo.pairs(session, program.id or 0, [PairStatus.ACTIVE, PairStatus.ENDED]))

    def figures(self) -> list[str]:
        return programme_figures(self.db, self.box.clock.now())


def programme_figures(db: Database, at: datetime) -> list[str]:
    """The programme's figures as the admin report computes them from the stored data."""
    with db.session() as session:
        program = repo.active_program(session)
        if program is None:
            return []
        report = build_report(session, program, at)
        milestones = repo.milestones_between(session, program.id or 0, DEFAULT_START, at)
    lines = []
    for title, rows in report_sections(report, translator("en")):
        lines.append(title)
        # The report's lines are mrkdwn for Slack; the summary is plain text.
        lines.extend("  " + html.unescape(row).replace("*", "") for row in rows)
    lines.append(f"Milestones: {len(milestones)}")
    return lines


def run_demo(
    *,
    people: int = 40,
    months: int = 3,
    seed: int = 1,
    out: Path = Path("demo-output"),
    database_url: str | None = None,
    progress_stream: TextIO = sys.stderr,
    on_summary: Callable[[str], None] = print,
) -> DemoResult:
    """Runs the demo (on a fresh temporary SQLite database unless one is given)."""
    with tempfile.TemporaryDirectory() as folder:
        demo = Demo(
            people=people,
            months=months,
            seed=seed,
            out=out,
            database_url=database_url or f"sqlite:///{folder}/demo.db",
        )
        demo.box.start()
        try:
            progress = Progress(total=people + 4 + months, stream=progress_stream)
            result = demo.run(progress)
        finally:
            demo.box.stop()
    on_summary(f"{result.people} people, {result.pairs} pairs; output in {result.out}")
    for line in result.summary:
        on_summary(line)
    (out / "summary.txt").write_text("\n".join(result.summary) + "\n", encoding="utf-8")
    (out / "summary.json").write_text(
        json.dumps(
            {
                "people": result.people,
                "pairs": result.pairs,
                "ended_at": result.ended_at.isoformat(),
                "figures": result.summary,
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return result
