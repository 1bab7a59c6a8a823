"""`reverse-mentoring demo`: two programmes side by side, simulated months, in one command.

"DACH 2027" (Berlin's people, German in its channel, Berlin's zone, owned by Berlin's HR lead)
and "Việt Nam 2027" (Hanoi's people, Vietnamese, Hanoi's zone, owned by Hanoi's HR partner)
run their whole loop at once: set-up, enrollment, matching, check-ins, surveys, a re-match
request, a shout-out, milestones, certificates, the end and each programme's report.

The real app (the sandbox's set-up: same Bolt app, listeners, jobs and storage, against the
packaged simulated Slack) is driven the way people would drive it: signed slash commands, modal
submissions and clicks, with the scheduler's jobs run at simulated times on the app's clock. No
handler or job has a demo branch; the demo only plays the people. What everyone saw is written
to `--out` (a text and an HTML transcript, files the app uploaded, the export), and the closing
figures come from the app's own report code over the stored data.
"""

from __future__ import annotations

import copy
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
from bot.sandbox.example import example_people
from bot.sandbox.forms import option_values
from bot.sandbox.page import conversations as page_conversations
from bot.sandbox.render import RenderContext
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import (
    ADMIN_ID,
    DACH_CHANNEL,
    OFFICES,
    VIETNAM_CHANNEL,
    Office,
    SeedPerson,
    seed_people,
)
from bot.transcript import (
    Conversation,
    Entry,
    Reader,
    Transcript,
    overview_html,
    transcript_html,
)
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


def first_monday(months_after_start: int) -> datetime:
    """08:00 UTC on the first Monday of the month `months_after_start` after the start (the
    digest's own day), so the month's jobs and answers fall on working days everywhere."""
    month_index = DEFAULT_START.month - 1 + months_after_start
    day = date(DEFAULT_START.year + month_index // 12, month_index % 12 + 1, 1)
    while day.weekday() != 0:
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


@dataclass(frozen=True)
class Action:
    """What a person did, for the transcript: typed a command, clicked, submitted a form."""

    user_id: str
    channel: str
    entry: Entry


def prefilled(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The modal as it looked when submitted: `answers` (by block id) shown as its inputs'
    values, like `forms.fill` sends them."""
    shown = copy.deepcopy(view)
    for block in shown.get("blocks") or []:
        block_id = block.get("block_id")
        if block.get("type") != "input" or block_id not in answers:
            continue
        element, answer = block.get("element") or {}, answers[block_id]
        kind = element.get("type")
        options = list(element.get("options") or [])
        for group in element.get("option_groups") or []:
            options.extend(group.get("options") or [])
        wanted = answer if isinstance(answer, list) else [answer]
        picked = [o for o in options if o.get("value") in wanted]
        if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
            element["initial_value"] = str(answer)
        elif kind == "datepicker":
            element["initial_date"] = answer
        elif kind in ("static_select", "radio_buttons") and picked:
            element["initial_option"] = picked[0]
        elif kind in ("multi_static_select", "checkboxes"):
            element["initial_options"] = picked
        elif kind == "users_select":
            element["initial_user"] = answer
        elif kind == "multi_users_select":
            element["initial_users"] = list(answer)
        elif kind == "channels_select":
            element["initial_channel"] = answer
        elif kind == "conversations_select":
            element["initial_conversation"] = answer
    return shown


def _title(view: dict[str, Any]) -> str:
    title = view.get("title")
    return str(title.get("text") if isinstance(title, dict) else title or "Form")


def _button_label(messages: list[dict[str, Any]], action_id: str) -> tuple[str, str] | None:
    """(channel, label) of the button `action_id` that Driver.click picks: the last one in
    the member's visible messages."""
    for message in reversed(messages):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    text = element.get("text")
                    label = text.get("text") if isinstance(text, dict) else action_id
                    return str(message["channel"]), str(label)
    return None


@dataclass(frozen=True)
class Region:
    """One of the demo's two programmes: whose office it is for, its language, its owner."""

    name: str
    office: Office
    timezone: str
    language: str
    channel: tuple[str, str]
    owner: SeedPerson


def _colleague(user_id: str) -> SeedPerson:
    return next(p for p in example_people() if p.user_id == user_id)


REGIONS = (
    Region("DACH 2027", OFFICES[0], "Europe/Berlin", "de", DACH_CHANNEL, _colleague("UBE0HR002")),
    Region(
        "Việt Nam 2027",
        OFFICES[1],
        "Asia/Ho_Chi_Minh",
        "vi",
        VIETNAM_CHANNEL,
        _colleague("UHN0HR002"),
    ),
)


def demo_people(people: int, seed: int) -> list[SeedPerson]:
    """The admin, the two programmes' owners (HR in Berlin and in Hanoi), and `people`
    members in Berlin and Hanoi."""
    seeded = seed_people(people, seed, offices=tuple(r.office for r in REGIONS))
    return [seeded[0], *(r.owner for r in REGIONS), *seeded[1:]]


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
            database_url=database_url,
            start_at=DEFAULT_START,
            with_scheduler=False,
            serve_page=False,
            cast=demo_people(people, seed),
            channels=tuple(r.channel for r in REGIONS),
        )
        self.owners = {r.owner.user_id: r for r in REGIONS}
        self.roles: dict[str, str] = {}
        self.actions: list[Action] = []
        self.file_times: dict[str, datetime] = {}  # file id -> when it reached Slack

    def members(self) -> list[SeedPerson]:
        return [p for p in self.box.people if not p.is_admin and p.user_id not in self.owners]

    def region_of(self, person: SeedPerson) -> Region:
        return next(r for r in REGIONS if r.office == person.office)

    # ------------------------------------------------------------------ acting, recorded

    def _moment(self) -> datetime:
        """A person takes a second to act: every action gets its own moment, after whatever
        the app posted before it (the transcript orders by time)."""
        return self.box.clock.advance(timedelta(seconds=1))

    def _note_files(self) -> None:
        for upload in self.box.fake.uploaded_files():
            self.file_times.setdefault(str(upload["id"]), self.box.clock.now())

    def command(self, user_id: str, text: str) -> dict[str, Any]:
        at = self._moment()
        dm = self.box.fake.dm_channel(user_id)
        self.actions.append(Action(user_id, dm, Entry(at, "typed", text=text)))
        result = self.box.command(user_id, text, "")
        self._note_files()
        return result

    def click(self, user_id: str, action_id: str) -> dict[str, Any]:
        found = _button_label(self.box.visible_messages(user_id), action_id)
        if found is None:
            return {"notice": f"no {action_id} button in sight"}
        at = self._moment()
        channel, label = found
        self.actions.append(Action(user_id, channel, Entry(at, "clicked", text=label)))
        result = self.box.click(user_id, action_id)
        self._note_files()
        return result

    def answer(self, user_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        view = self.box.top_modal(user_id)
        if view is None:
            return {"notice": "no modal open"}
        at = self._moment()
        entry = Entry(at, "form", view=prefilled(view, answers), title=_title(view))
        self.actions.append(Action(user_id, self.box.fake.dm_channel(user_id), entry))
        result = self.box.answer_modal(user_id, answers)
        self._note_files()
        return result

    # ------------------------------------------------------------------ the story

    def set_up_programmes(self) -> None:
        """The admin sets up both programmes, each for its office's people (invited), in its
        zone and language, with its owner."""
        box = self.box
        start = box.clock.now().date()
        end = date(
            start.year + (start.month + self.months) // 12,
            (start.month + self.months) % 12 or 12,
            28,
        )
        for region in REGIONS:
            self.command(ADMIN_ID, "/mentoring program new")
            invited = [p.user_id for p in self.members() if p.office == region.office]
            self.answer(
                ADMIN_ID,
                {
                    "name": region.name,
                    # Goals that fit the demo's length (and its completion rule, below).
                    "goals": f"80% of pairs meet in each of the programme's {self.months} "
                    "months\nEvery pair achieves at least one of its goals",
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "community_channel": region.channel[0],
                    "channel_language": region.language,
                    "timezone": region.timezone,
                    "owners": [region.owner.user_id],
                    "join_policy": "invited",
                    "invited": invited,
                    "checkin_cadence": "monthly",
                    "pulse_cadence": "monthly",
                    "offices": region.office.city,
                },
            )
            self.close_modals(ADMIN_ID)  # "the programme is set up"
        # The completion rule, a programme setting without a form field yet: a pair completes
        # after meeting in as many months as the demo runs (the default is six), so the
        # certificates, the milestones and the report's "Completed" line follow one rule.
        with self.db.session() as session:
            for program in repo.all_programs(session):
                program.settings = {**program.settings, "completion_cycles": self.months}
                session.add(program)

    def enroll_everyone(self, progress: Progress) -> None:
        box = self.box
        seen: dict[str, int] = {}  # per office: mentors and mentees alternate in each
        for index, person in enumerate(self.members()):
            nth = seen[person.office.city] = seen.get(person.office.city, -1) + 1
            role = "mentor" if nth % 2 == 0 else "mentee"
            self.roles[person.user_id] = role
            self.command(person.user_id, "/mentoring join")
            view = box.top_modal(person.user_id)
            if view is None:
                continue
            topics = [
                t for t in option_values(view, "topics_offered") if not t.startswith("growth_")
            ]
            growth = [
                t for t in option_values(view, "development_areas") if t.startswith("growth_")
            ]
            # The catalogue's first topics are the sought-after ones; mentors offer a few more
            # than mentees ask for, so most of each programme's people find a partner.
            popular = topics[:5]
            chosen = self.rng.sample(popular, k=min(3 if role == "mentor" else 2, len(popular)))
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
            self.answer(person.user_id, answers)
            progress.step(f"enrolled {index + 1}/{len(self.members())}")

    def match_and_approve(self) -> None:
        """Each owner matches their own programme and approves the pairs."""
        box = self.box
        for region in REGIONS:
            owner = region.owner.user_id
            self.command(owner, "/mentoring match")
            view = box.top_modal(owner)
            if view is not None and view.get("submit"):
                self.answer(owner, {})
            self.close_modals(owner)

    def pairs_set_goals(self) -> None:
        for person in self.members():
            if self.roles.get(person.user_id) != "mentee":
                continue
            self.click(person.user_id, "pair_set_goals")
            if self.box.top_modal(person.user_id) is None:
                continue
            self.answer(
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

    def one_pair_asks_for_help(self, asker: str) -> None:
        """The mentee of one pair answers the match check "I'd like help" (the admins get a
        re-match request from it; `/mentoring rematch` when no check has reached them yet),
        and the admin ends the pair."""
        if self.click(asker, "match_check_help").get("status") != 200:
            self.command(asker, "/mentoring rematch")
            if self.box.top_modal(asker) is None:
                return
            self.answer(asker, {"reason": "Our schedules never line up."})
        person = next(p for p in self.members() if p.user_id == asker)
        self.click(self.region_of(person).owner.user_id, "rematch_end")  # its owner hears

    @property
    def db(self) -> Database:
        return self.box.runtime.services.db

    def pairs(self) -> list[tuple[str, str]]:
        """(mentor, mentee) user ids of the active pairs, oldest first."""
        with self.db.session() as session:
            pairs = [
                pair
                for program in repo.all_programs(session)
                for pair in repo.pairs(session, program.id or 0, [PairStatus.ACTIVE])
            ]
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
        self._note_files()
        for _step in range(2):  # 08:00 UTC, then 14:00 and 20:00: New York's working day too
            self.box.clock.advance(timedelta(hours=6))
            self.box.run_job("deliver_outbox")
            self._note_files()

    def answer_checkins(self, month: int, silent: set[str], late: set[str]) -> None:
        for _mentor, mentee in self.pairs():
            if mentee in silent:
                continue  # this pair has gone quiet: no answer, nudges, then escalation
            if mentee in late and month == 1:
                self.click(mentee, "journey_not_yet")  # three .ics slots; logged later
                continue
            self.log_meeting(mentee, month)

    def log_meeting(self, mentee: str, month: int) -> None:
        """ "Yes, we met" from the newest check-in or nudge, with the goals' progress: the
        first goal in progress in the first month and achieved in the second, the second goal
        in progress then, and achieved by some pairs from the third month."""
        self.close_modals(mentee)
        self.click(mentee, "journey_met")
        view = self.box.top_modal(mentee)
        if view is None:
            return
        goals = [
            str(block["block_id"])
            for block in view.get("blocks") or []
            if str(block.get("block_id") or "").startswith("goal_")
        ]
        answers: dict[str, Any] = {
            "duration": "60",
            "rating": str(self.rng.choice([4, 5, 5, 3])),
            "topics": "AI assistants, our first shared prompt library",
            "learned": "How my mentor uses AI to summarise long threads",
        }
        progress = ["in_progress"] if month == 1 else ["achieved", "in_progress"]
        if month >= 3 and self.rng.random() < 0.6:
            progress = ["achieved", "achieved"]
        answers.update(zip(goals, progress, strict=False))
        self.answer(mentee, answers)

    def close_modals(self, user_id: str) -> None:
        """Closes what is left open (a "thank you" modal), as a person would."""
        while (view := self.box.top_modal(user_id)) is not None:
            self.box.close(user_id, str(view["id"]))

    def answer_surveys(self) -> None:
        for person in self.members():
            self.close_modals(person.user_id)
            self.click(person.user_id, "pulse_open")
            if self.box.top_modal(person.user_id) is None:
                continue
            self.answer(
                person.user_id,
                {
                    "value": str(self.rng.choice([4, 4, 5, 3])),
                    "nps": str(self.rng.choice([9, 10, 8, 7, 10])),
                    "pairing": str(self.rng.choice([4, 5, 5, 3])),
                },
            )
            self.close_modals(person.user_id)  # the thank-you has only a Close button

    def answer_match_checks(self, silent: set[str], asker: str | None) -> None:
        """Everyone says their match works, except the pair that goes silent (no answer) and
        the mentee who is about to ask for help (`one_pair_asks_for_help`)."""
        for person in self.members():
            if person.user_id in silent or person.user_id == asker:
                continue
            self.click(person.user_id, "match_check_yes")

    def admin_shout_out(self) -> None:
        """Each owner thanks the newest pair of their programme, in its language."""
        praise = {
            "de": "Eure KI-Prompt-Bibliothek nutzt jetzt das ganze Team!",
            "vi": "Thư viện prompt AI của các bạn giờ cả nhóm đều dùng!",
        }
        by_id = {p.user_id: p for p in self.members()}
        for region in REGIONS:
            mine = [pair for pair in self.pairs() if by_id[pair[0]].office == region.office]
            if not mine:
                continue
            mentor, mentee = mine[-1]
            text = f"/mentoring shoutout <@{mentor}> <@{mentee}> {praise[region.language]}"
            self.command(region.owner.user_id, text)

    def admin_reviews(self) -> None:
        for region in REGIONS:
            self.command(region.owner.user_id, "/mentoring report")
        export = self.out / "export"
        export.mkdir(parents=True, exist_ok=True)
        for fmt in ("json", "csv"):
            for name, data in export_files(self.db, fmt):
                (export / name).write_bytes(data)

    def run(self, progress: Progress) -> DemoResult:
        self.set_up_programmes()
        progress.step("programmes set up")
        self.enroll_everyone(progress)
        self.match_and_approve()
        progress.step("matched and introduced")
        self.pairs_set_goals()
        progress.step("pair goals set")
        offices = {p.user_id: p.office for p in self.members()}
        dach, vietnam = (
            [pair for pair in self.pairs() if offices[pair[0]] == region.office]
            for region in REGIONS
        )
        # In DACH both partners of one pair go quiet and another answers "not yet" first; in
        # Việt Nam a mentee asks for help in its first match check: each as long as another
        # pair of the programme shows the journey.
        silent = set(dach[0]) if len(dach) > 1 else set()
        late = {dach[1][1]} if len(dach) > 1 else set()
        asker = vietnam[0][1] if len(vietnam) > 1 else None
        help_month = min(2, self.months)  # the first match check comes at day 30 of a pair
        for month in range(1, self.months + 1):
            first_day = first_monday(month)
            self.box.clock.set(first_day)
            self.job("digest")  # last month's highlights in the community channel
            self.job("checkin")
            self.answer_checkins(month, silent, late)
            self.job("match_check")
            self.answer_match_checks(silent, asker if month == help_month else None)
            self.job("pulse")
            self.answer_surveys()
            if asker is not None and month == help_month:
                self.one_pair_asks_for_help(asker)
            if month == 2:
                self.admin_shout_out()
            self.box.clock.set(first_day + timedelta(days=7))
            self.job("nudge")
            if month == 1:
                for mentee in late:  # the pair that said "not yet" met in one of the slots
                    self.log_meeting(mentee, month)
            self.job("milestones")
            progress.step(f"month {month}")
        # The last pulse round closes, last month's digest goes out, milestones and
        # certificates for the pairs that met every month; a week later the last match check
        # closes and the programme ends; then the admin looks at its final report.
        self.box.clock.set(first_monday(self.months + 1))
        for name in ("pulse", "milestones", "digest"):
            self.job(name)
        self.box.clock.set(first_monday(self.months + 1) + timedelta(days=7))
        self.job("pulse")  # closes what is still open, and ends the programme
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
        ctx = self._context()
        for person in people:
            seen = sorted(self.box.visible_messages(person.user_id), key=lambda m: float(m["ts"]))
            office = person.office
            title = f"{person.name} ({office.city}, {office.locale}, {self._role(person)})"
            text_lines.append("=" * len(title))
            text_lines.append(title)
            text_lines.append("=" * len(title))
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
            text_lines.append("")
        (self.out / "transcript.txt").write_text("\n".join(text_lines), encoding="utf-8")
        uploads = self.box.fake.uploaded_files()
        for upload in uploads:
            (self.out / _file_name(upload)).write_bytes(bytes(upload["bytes"]))
        figures = self.figures()
        page = transcript_html(self.transcript(figures, uploads))
        (self.out / "transcript.html").write_text(page, encoding="utf-8")
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
            figures,
            self.box.clock.now(),
            violations,
        )

    def _role(self, person: SeedPerson) -> str:
        if person.user_id in self.owners:
            return f"owner of {self.owners[person.user_id].name}"
        return "admin" if person.is_admin else self.roles.get(person.user_id, "")

    def transcript(self, figures: list[str], uploads: list[dict[str, Any]]) -> Transcript:
        """What each person saw and did, per conversation, for `transcript.html`."""
        readers = []
        for person in self.box.people:
            conversations = []
            mine = [a for a in self.actions if a.user_id == person.user_id]
            for seen in page_conversations(self.box.fake, self.box.people, person.user_id):
                entries = [Entry(_posted_at(m), "message", message=m) for m in seen["messages"]] + [
                    Entry(_posted_at(m), "ephemeral", message=m) for m in seen["ephemeral"]
                ]
                entries += [a.entry for a in mine if a.channel == seen["id"]]
                entries += [
                    Entry(
                        self.file_times.get(str(f["id"]), self.box.clock.now()),
                        "file",
                        text=str(f.get("title") or f["name"]),
                        href=_file_name(f),
                    )
                    for f in uploads
                    if f.get("channel") == seen["id"]
                ]
                if not entries and seen["kind"] == "channel":
                    continue  # a channel where nothing happened
                entries.sort(key=lambda e: (e.at, e.kind not in ("typed", "clicked", "form")))
                name = "Reverse Mentoring (the app)" if seen["kind"] == "dm" else seen["name"]
                conversations.append(Conversation(seen["id"], seen["kind"], name, entries))
            readers.append(
                Reader(
                    person.user_id,
                    person.name,
                    self._role(person),
                    person.office.city,
                    person.office.locale,
                    person.office.timezone,
                    conversations,
                )
            )
        charts = [
            (_file_name(f), str(f.get("title") or f["name"]))
            for f in uploads
            if str(f["name"]).endswith(".png")
        ]
        overview = overview_html(figures, charts)
        return Transcript(
            "Reverse Mentoring demo: what everyone saw (simulated)",
            readers,
            overview,
            self._context(),
        )

    def _count_pairs(self) -> int:
        with self.db.session() as session:
            return sum(
                len(repo.pairs(session, program.id or 0, [PairStatus.ACTIVE, PairStatus.ENDED]))
                for program in repo.all_programs(session)
            )

    def figures(self) -> list[str]:
        return programme_figures(self.db, self.box.clock.now())


def programme_figures(db: Database, at: datetime) -> list[str]:
    """Each programme's figures as the admin report computes them from the stored data,
    under the programme's name."""
    lines = []
    with db.session() as session:
        programs = repo.all_programs(session)  # ended by now, once their last digest went out
        for program in programs:
            report = build_report(session, program, at)
            milestones = repo.milestones_between(session, program.id or 0, DEFAULT_START, at)
            lines.append(f"== {program.name}")
            for title, rows in report_sections(report, translator("en")):
                lines.append(title)
                # The report's lines are mrkdwn for Slack; the summary is plain text.
                lines.extend("  " + html.unescape(row).replace("*", "") for row in rows)
            lines.append(f"Milestones: {len(milestones)}")
    return lines


def _posted_at(message: dict[str, Any]) -> datetime:
    """When Slack posted it: a message's ts is its time (the simulated Slack's ts follows the
    app's clock)."""
    return datetime.fromtimestamp(float(message["ts"]), tz=UTC)


def _file_name(upload: dict[str, Any]) -> str:
    """Where the demo writes an uploaded file (next to transcript.html)."""
    return f"{upload['id']}-{upload['name']}"


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
