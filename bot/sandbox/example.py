"""`reverse-mentoring sandbox --example`: a workspace a month into two regional programmes.

"DACH" (German in its channel, Berlin's zone, Berlin's HR lead owns it) and "Việt Nam"
(Vietnamese, Hanoi's zone, Hanoi's HR partner owns it) are set up, joined, matched, approved,
introduced and a month in (goals set, first check-ins answered, a shout-out), and an evergreen
"AI for executives" is open for enrollment. Everything is seeded the way people would do it:
the Driver plays them (signed slash commands, modal submissions and clicks, jobs run at
simulated times), so the example follows the app as it changes. Only the HR roster is written
directly, as a roster import would write it.

The sandbox's clock starts about five weeks before the moment the sandbox starts at, and ends
there: a restart (whose clock is today) continues a month in.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

from bot.sandbox.forms import option_values
from bot.sandbox.workspace import (
    ADMIN_ID,
    COMMUNITY_CHANNEL,
    DACH_CHANNEL,
    OFFICES,
    VIETNAM_CHANNEL,
    Office,
    SeedPerson,
)
from bot.usecases.roster import SlackDirectory, apply_roster, preview_roster
from storage.models import Participant, Program, RosterImport

if TYPE_CHECKING:
    from bot.sandbox.driver import Driver
    from storage.db import Database

# The roster import the example writes: how a restart knows the database holds the example.
ROSTER_SOURCE = "sandbox: example"
BERLIN, HANOI, NEW_YORK = OFFICES
DACH, VIETNAM, EVERGREEN = "DACH", "Việt Nam", "AI for executives"


class SeedingFailed(RuntimeError):
    """A step of the example did not do what a person would have seen it do."""


@dataclass(frozen=True)
class Colleague:
    """One person of the example: who they are in Slack and what HR's roster says."""

    person: SeedPerson
    title: str
    level: int  # 1 = an apprentice .. 9 = the chief executive
    hired: date
    programme: str | None = None  # DACH, VIETNAM or EVERGREEN: where they enroll
    role: str | None = None  # mentor (the younger colleague) or mentee (the leader)
    topics: tuple[str, ...] = ()  # offered (mentor) or wanted (mentee), topic ids
    goal: str = ""  # their personal goal, in their own words and language


def _c(
    user_id: str,
    name: str,
    office: Office,
    department: str,
    manager: str | None,
    title: str,
    level: int,
    hired: str,
    programme: str | None = None,
    role: str | None = None,
    topics: tuple[str, ...] = (),
    goal: str = "",
) -> Colleague:
    return Colleague(
        SeedPerson(user_id, name, office, department, manager, is_admin=user_id == ADMIN_ID),
        title,
        level,
        date.fromisoformat(hired),
        programme,
        role,
        topics,
        goal,
    )


# The reporting chain: New York's chief executive at the top; each region's managing director
# below; leaders below them; younger colleagues in their teams. Every mentor works under
# a leader of their own programme: the reporting-line exclusion keeps those apart.
COLLEAGUES: tuple[Colleague, ...] = (
    _c(
        "UNY0CEO01",
        "Ava Johnson",
        NEW_YORK,
        "Executive",
        None,
        "Chief Executive Officer",
        9,
        "2014-03-03",
    ),
    _c(
        "UNY0CPO02",
        "Noah Rivera",
        NEW_YORK,
        "HR",
        "UNY0CEO01",
        "Chief People Officer",
        8,
        "2016-09-12",
        EVERGREEN,
        "mentee",
        ("ai_tools", "data_literacy"),
        "Use AI to prepare every board meeting",
    ),
    _c(
        "UNY0DEV03",
        "Zoe Chen",
        NEW_YORK,
        "Engineering",
        "UNY0CPO02",
        "Software Engineer",
        2,
        "2024-07-01",
        EVERGREEN,
        "mentor",
        ("ai_tools", "cybersecurity_hygiene"),
        "Learn how leaders decide",
    ),
    _c(
        "UBE0MD001",
        "Thomas Berger",
        BERLIN,
        "Executive",
        "UNY0CEO01",
        "Managing Director DACH",
        8,
        "2012-01-09",
    ),
    _c(
        ADMIN_ID,
        "Hannah Admin",
        BERLIN,
        "HR",
        "UBE0MD001",
        "Head of Learning (global)",
        6,
        "2018-04-03",
    ),
    _c(
        "UBE0HR002",
        "Katrin Vogel",
        BERLIN,
        "HR",
        "UBE0MD001",
        "Head of People DACH",
        7,
        "2015-06-01",
    ),
    _c(
        "UBE0CFO03",
        "Jürgen Müller",
        BERLIN,
        "Finance",
        "UBE0MD001",
        "CFO DACH",
        7,
        "2009-10-01",
        DACH,
        "mentee",
        ("ai_tools", "data_literacy"),
        "Mit KI schneller durch Monatsberichte kommen",
    ),
    _c(
        "UBE0VPS04",
        "Sabine Köhler",
        BERLIN,
        "Sales",
        "UBE0MD001",
        "VP Sales DACH",
        7,
        "2011-02-14",
        DACH,
        "mentee",
        ("social_media", "ai_tools"),
        "LinkedIn für den Vertrieb verstehen und selbst posten",
    ),
    _c(
        "UBE0OPS05",
        "Matthias Schäfer",
        BERLIN,
        "Operations",
        "UBE0MD001",
        "Head of Operations DACH",
        6,
        "2013-08-19",
        DACH,
        "mentee",
        ("new_ways_of_working", "digital_collaboration"),
        "Hybride Teamarbeit, die wirklich funktioniert",
    ),
    _c(
        "UBE0MKT06",
        "Lena Fischer",
        BERLIN,
        "Marketing",
        "UBE0VPS04",
        "Social Media Manager",
        3,
        "2023-09-01",
        DACH,
        "mentor",
        ("social_media", "ai_tools", "new_ways_of_working"),
        "Lernen, wie Führungskräfte Prioritäten setzen",
    ),
    _c(
        "UBE0DEV07",
        "Jonas Weiß",
        BERLIN,
        "Engineering",
        "UBE0OPS05",
        "Junior Developer",
        2,
        "2024-10-01",
        DACH,
        "mentor",
        ("digital_collaboration", "new_ways_of_working", "ai_tools"),
        "Mehr vom Geschäft verstehen",
    ),
    _c(
        "UBE0FIN08",
        "Mia Brückner",
        BERLIN,
        "Finance",
        "UBE0CFO03",
        "Data Analyst",
        3,
        "2022-04-01",
        DACH,
        "mentor",
        ("data_literacy", "ai_tools"),
        "Vor Vorständen präsentieren lernen",
    ),
    _c(
        "UHN0GD001",
        "Trần Văn Hùng",
        HANOI,
        "Executive",
        "UNY0CEO01",
        "General Director Việt Nam",
        8,
        "2013-05-06",
    ),
    _c(
        "UHN0HR002",
        "Nguyễn Thu Hà",
        HANOI,
        "HR",
        "UHN0GD001",
        "HR Business Partner",
        6,
        "2017-03-01",
    ),
    _c(
        "UHN0FIN03",
        "Lê Minh Tuấn",
        HANOI,
        "Finance",
        "UHN0GD001",
        "Finance Director",
        7,
        "2010-11-15",
        VIETNAM,
        "mentee",
        ("ai_tools", "cybersecurity_hygiene"),
        "Dùng AI để phân tích báo cáo tài chính",
    ),
    _c(
        "UHN0SAL04",
        "Phạm Thị Lan",
        HANOI,
        "Sales",
        "UHN0GD001",
        "Head of Sales",
        7,
        "2012-07-02",
        VIETNAM,
        "mentee",
        ("social_media", "ai_tools"),
        "Hiểu khách hàng trẻ trên mạng xã hội",
    ),
    _c(
        "UHN0OPS05",
        "Hoàng Đức Anh",
        HANOI,
        "Operations",
        "UHN0GD001",
        "Operations Director",
        6,
        "2014-01-20",
        VIETNAM,
        "mentee",
        ("digital_collaboration", "ai_tools"),
        "Làm việc nhóm từ xa hiệu quả hơn",
    ),
    _c(
        "UHN0MKT06",
        "Vũ Ngọc Mai",
        HANOI,
        "Marketing",
        "UHN0SAL04",
        "Marketing Executive",
        3,
        "2023-02-06",
        VIETNAM,
        "mentor",
        ("social_media", "gen_z_perspectives", "ai_tools"),
        "Học cách lãnh đạo một dự án lớn",
    ),
    _c(
        "UHN0DEV07",
        "Đặng Quang Huy",
        HANOI,
        "Engineering",
        "UHN0OPS05",
        "Software Engineer",
        2,
        "2024-08-12",
        VIETNAM,
        "mentor",
        ("ai_tools", "digital_collaboration", "cybersecurity_hygiene"),
        "Hiểu chiến lược kinh doanh",
    ),
    _c(
        "UHN0DAT08",
        "Bùi Phương Linh",
        HANOI,
        "Finance",
        "UHN0FIN03",
        "Data Analyst",
        3,
        "2022-09-05",
        VIETNAM,
        "mentor",
        ("ai_tools", "data_literacy"),
        "Tự tin trình bày trước ban giám đốc",
    ),
)
OWNERS = {DACH: "UBE0HR002", VIETNAM: "UHN0HR002", EVERGREEN: ADMIN_ID}
COUNTRIES = {"Berlin": "Germany", "Hanoi": "Vietnam", "New York": "United States"}


def example_people() -> list[SeedPerson]:
    """The example's workspace, the admin first (as `seed_people` puts them)."""
    people = [c.person for c in COLLEAGUES]
    return sorted(people, key=lambda p: not p.is_admin)


def holds_data(database: Database) -> str | None:
    """What the database already holds, as a phrase ("2 programmes, 14 people enrolled"), or None
    when it is empty or new."""
    engine = database.engine
    if not inspect(engine).has_table(Program.__tablename__):
        return None
    with database.session() as session:
        programmes = len(session.exec(select(Program.id)).all())
        people = len(set(session.exec(select(Participant.slack_user_id)).all()))
    if not programmes and not people:
        return None
    return f"{programmes} programme{'s' * (programmes != 1)}, {people} people enrolled"


def holds_example(database: Database) -> bool:
    """Whether the example was seeded into this database (its roster import says so)."""
    if not inspect(database.engine).has_table(RosterImport.__tablename__):
        return False
    with database.session() as session:
        found = session.exec(select(RosterImport).where(RosterImport.source == ROSTER_SOURCE))
        return found.first() is not None


def wipe(database: Database) -> None:
    """Starts over (`--fresh`): every table of the app goes, the migrations make them again."""
    SQLModel.metadata.drop_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


def example_start(now: datetime) -> datetime:
    """08:00 UTC on the Monday the programmes started: 31 to 37 days before `now`."""
    day = (now - timedelta(days=31)).date()
    day -= timedelta(days=day.weekday())
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC)


class ExampleSeeder:
    """Plays the example's people through the Driver, then writes HR's roster."""

    def __init__(self, driver: Driver) -> None:
        self.box = driver
        self.now = driver.clock.now()  # where the clock ends: the sandbox's "today"
        self.start = example_start(self.now)
        self.by_programme: dict[str, list[Colleague]] = {}
        for colleague in COLLEAGUES:
            if colleague.programme is not None:
                self.by_programme.setdefault(colleague.programme, []).append(colleague)

    def seed(self) -> None:
        box = self.box
        box.clock.set(self.start)
        end = self.start.date() + timedelta(days=182)
        self.new_programme(DACH, f"{DACH} {end.year}", "Europe/Berlin", "de", DACH_CHANNEL, end)
        self.new_programme(
            VIETNAM, f"{VIETNAM} {end.year}", "Asia/Ho_Chi_Minh", "vi", VIETNAM_CHANNEL, end
        )
        for programme in (DACH, VIETNAM):
            for colleague in self.by_programme[programme]:
                self.enroll(colleague)
        for programme in (DACH, VIETNAM):
            self.match(OWNERS[programme])
        box.run_job("deliver_outbox")
        unread = {"UBE0OPS05", "UHN0DEV07"}  # one in each programme has not read it yet
        for programme in (DACH, VIETNAM):
            for colleague in self.by_programme[programme]:
                if colleague.person.user_id not in unread:
                    box.click(colleague.person.user_id, "training_read")
                if colleague.role == "mentee":
                    self.set_goals(colleague)
        # Four weeks on: the first check-in; all but one pair met (that one picks a slot).
        box.clock.set(self.start + timedelta(days=28))
        box.run_job("checkin")
        late = {"UHN0OPS05"}
        for programme in (DACH, VIETNAM):
            for colleague in self.by_programme[programme]:
                if colleague.role != "mentee":
                    continue
                if colleague.person.user_id in late:
                    box.click(colleague.person.user_id, "journey_not_yet")
                else:
                    self.log_meeting(colleague.person.user_id)
        box.clock.set(self.start + timedelta(days=29))
        self.shout_out(
            OWNERS[DACH],
            ("UBE0MKT06", "UBE0VPS04"),
            "Euer Social-Media-Leitfaden ist ein Volltreffer!",
        )
        self.shout_out(
            OWNERS[VIETNAM],
            ("UHN0DEV07", "UHN0FIN03"),
            "Bảng điều khiển AI của hai bạn giúp cả phòng tài chính!",
        )
        # An evergreen programme for leaders anywhere, open for enrollment.
        self.new_programme(
            EVERGREEN, EVERGREEN, "America/New_York", "en", COMMUNITY_CHANNEL, None, everyone=True
        )
        for colleague in self.by_programme[EVERGREEN]:
            self.enroll(colleague)
        box.clock.set(max(self.now, self.start + timedelta(days=31)))
        box.run_job("deliver_outbox")
        self.close_modals()
        self.write_roster()

    # ------------------------------------------------------------------ people acting

    def new_programme(
        self,
        key: str,
        name: str,
        timezone: str,
        language: str,
        channel: tuple[str, str],
        end: date | None,
        *,
        everyone: bool = False,
    ) -> None:
        box = self.box
        box.command(ADMIN_ID, "/mentoring program new", "")
        view = box.top_modal(ADMIN_ID)
        if view is None:
            raise SeedingFailed(f"the new-programme form did not open for {name}")
        people = self.by_programme[key]
        goals = {
            "de": "80 % der Tandems treffen sich jeden Monat\n"
            "Führungskräfte nutzen zwei neue digitale Werkzeuge",
            "vi": "80% các cặp gặp nhau mỗi tháng\nLãnh đạo dùng thành thạo hai công cụ số mới",
        }.get(language, "Every leader uses an AI assistant weekly")
        answers: dict[str, Any] = {
            "name": name,
            "goals": goals,
            "start_date": self.start.date().isoformat(),
            "end_date": end.isoformat() if end is not None else None,
            "enrollment": "open",
            "checkin_cadence": "monthly",
            "pulse_cadence": "monthly",
            "community_channel": channel[0],
            "channel_language": language,
            "timezone": timezone,
            "owners": [OWNERS[key]],
            "offices": "\n".join(sorted({c.person.office.city for c in people})),
            "join_policy": "everyone" if everyone else "invited",
            "invited": [] if everyone else [c.person.user_id for c in people],
        }
        box.answer_modal(ADMIN_ID, answers)
        left = box.top_modal(ADMIN_ID)
        if left is not None and left.get("submit"):  # the form again, with its errors
            raise SeedingFailed(f"{name} was not saved: {box.sessions[ADMIN_ID].errors}")
        self.close(ADMIN_ID)  # the "programme is set up" confirmation

    def enroll(self, colleague: Colleague) -> None:
        box, person = self.box, colleague.person
        box.command(person.user_id, "/mentoring join", "")
        view = box.top_modal(person.user_id)
        if view is None:
            raise SeedingFailed(f"the enrollment form did not open for {person.user_id}")
        growth = [t for t in option_values(view, "development_areas") if t.startswith("growth_")]
        offered = [t for t in option_values(view, "topics_offered") if t in colleague.topics]
        answers: dict[str, Any] = {
            "role": colleague.role,
            "department": person.department,
            "seniority": "early_career" if colleague.role == "mentor" else "executive",
            "meeting_frequency": "monthly",
            "meeting_format": "video" if colleague.level % 2 else "in_person",
            "available_days": ["tue", "wed", "thu"],
            "time_of_day": "any",
            "consent": ["yes"],
            "personal_goals": colleague.goal,
            "office": person.office.city,
            "languages": ["en"],
        }
        if colleague.role == "mentor":
            answers["topics_offered"] = offered
            answers["development_areas"] = growth[colleague.level % len(growth) :][:2]
        else:
            answers["topics_wanted"] = list(colleague.topics)
        if person.manager_id:
            answers["manager"] = person.manager_id
        box.answer_modal(person.user_id, answers)
        self.close(person.user_id)

    def match(self, owner: str) -> None:
        box = self.box
        box.command(owner, "/mentoring match", "")
        view = box.top_modal(owner)
        if view is None or not view.get("submit"):
            raise SeedingFailed(f"no matches to review for {owner}")
        box.answer_modal(owner, {})
        self.close(owner)

    def set_goals(self, colleague: Colleague) -> None:
        box, user_id = self.box, colleague.person.user_id
        box.click(user_id, "pair_set_goals")
        if box.top_modal(user_id) is None:
            return
        german = colleague.person.office is BERLIN
        target = (self.start + timedelta(days=120)).date().isoformat()
        box.answer_modal(
            user_id,
            {
                "goal_1": "Jede Woche KI für Besprechungsnotizen nutzen"
                if german
                else "Dùng AI ghi biên bản họp mỗi tuần",
                "measure_1": "4 Wochen in Folge" if german else "4 tuần liên tiếp",
                "target_1": target,
            },
        )
        self.close(user_id)

    def log_meeting(self, user_id: str) -> None:
        box = self.box
        box.click(user_id, "journey_met")
        view = box.top_modal(user_id)
        if view is None:
            return
        goals = [
            str(block["block_id"])
            for block in view.get("blocks") or []
            if str(block.get("block_id") or "").startswith("goal_")
        ]
        answers: dict[str, Any] = {
            "duration": "60",
            "rating": "5",
            "topics": "ChatGPT, Copilot",
            "learned": "Prompts für Zusammenfassungen"
            if user_id.startswith("UBE")
            else "Cách viết prompt để tóm tắt",
        }
        answers.update({goal: "in_progress" for goal in goals})
        box.answer_modal(user_id, answers)
        self.close(user_id)

    def shout_out(self, owner: str, people: tuple[str, ...], praise: str) -> None:
        """An owner thanks people of their programme, in their programme's language."""
        mentions = " ".join(f"<@{p}>" for p in people)
        self.box.command(owner, f"/mentoring shoutout {mentions} {praise}", "")

    def close(self, user_id: str) -> None:
        """Closes what is left open (a "thank you" modal), as a person would."""
        box = self.box
        while (view := box.top_modal(user_id)) is not None and not view.get("submit"):
            box.close(user_id, str(view["id"]))

    def close_modals(self) -> None:
        for user_id, session in self.box.sessions.items():
            while session.modals:
                self.box.close(user_id, session.modals[-1])

    # ------------------------------------------------------------------ HR's roster

    def write_roster(self) -> None:
        """HR's roster of everyone in the example, imported as a CSV file the way `roster
        import` does it (parsed, previewed, applied in one transaction)."""
        columns = ("slack_id", "email", "department", "manager", "title", "office", "country")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow((*columns, "hire_date", "level"))
        for c in COLLEAGUES:
            person = c.person
            writer.writerow(
                (
                    person.user_id,
                    _email(person),
                    person.department,
                    person.manager_id or "",
                    c.title,
                    person.office.city,
                    COUNTRIES[person.office.city],
                    c.hired.isoformat(),
                    c.level,
                )
            )
        services = self.box.runtime.services
        preview = preview_roster(
            services.db,
            SlackDirectory(services.client),
            buffer.getvalue().encode(),
            name="hr-roster.csv",
            full=True,
        )
        if preview.plan.blocking:
            raise SeedingFailed(f"HR's roster: {preview.plan.problems[0].text()}")
        apply_roster(
            services.delivery,
            preview,
            actor=ADMIN_ID,
            source=ROSTER_SOURCE,
            default_locale=services.settings.default_locale,
        )


def _email(person: SeedPerson) -> str:
    plain = unicodedata.normalize("NFKD", person.handle.replace("đ", "d")).encode("ascii", "ignore")
    return f"{plain.decode()}@example.com"


def seed_example(driver: Driver) -> None:
    """Seeds the example into the driver's (empty) database; its clock ends a month in."""
    ExampleSeeder(driver).seed()
