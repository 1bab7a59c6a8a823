"""Programme rules, tested directly (no Slack)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from freezegun import freeze_time
from sqlmodel import Session

from bot.domain import journey, programs
from bot.domain.enrollment import EnrollmentForm, Person, enroll, validate_enrollment
from bot.domain.overview import enrollment_overview
from bot.domain.pairing import propose
from bot.domain.programs import (
    DEFAULT_TOPICS,
    ProgramForm,
    catalogue_from_labels,
    enrollment_choices,
    form_from_program,
    is_over,
    merge_catalogue,
    program_today,
    save_program,
    topic_id,
    validate_program,
)
from bot.domain.working_hours import DEFAULT_WORKING_HOURS, working_hours
from bot.i18n import translator
from bot.views.enrollment import enrollment_modal, profile_summary
from bot.views.home import HomeState, home_view
from bot.views.program import program_modal
from storage import repositories as repo
from storage.db import Database
from storage.models import Program, ProgramStatus


def _form(**changes: object) -> ProgramForm:
    form = ProgramForm(
        name="Digital Leaders",
        goals=["80% of leaders complete 6 sessions"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
    )
    for key, value in changes.items():
        setattr(form, key, value)
    return form


def test_a_good_form_is_valid() -> None:
    assert validate_program(_form()) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"end_date": date(2026, 12, 31)}, "end_date"),
        ({"end_date": date(2027, 1, 1)}, "end_date"),
        ({"goals": []}, "goals"),
        ({"goals": ["ok", " "]}, "goals"),
        ({"goals": ["a", "b", "c", "d"]}, "goals"),
        ({"goals": ["x" * 301]}, "goals"),
        ({"mentor_capacity": 0}, "mentor_capacity"),
        ({"mentor_capacity": None}, "mentor_capacity"),
        ({"anonymity_threshold": 2}, "anonymity_threshold"),
        ({"topics": []}, "topics"),
        ({"topics": ["t" * 61]}, "topics"),
        ({"checkin_cadence": "hourly"}, "checkin_cadence"),
        ({"pulse_cadence": ""}, "pulse_cadence"),
        ({"name": "  "}, "name"),
        ({"start_date": None}, "start_date"),
    ],
)
def test_invalid_values_name_their_field(changes: dict[str, object], field: str) -> None:
    assert field in validate_program(_form(**changes))


def test_new_topic_ids_are_ascii_slugs() -> None:
    assert topic_id("Diversity & inclusion") == "diversity_inclusion"
    assert topic_id("Công cụ AI") == "cong_cu_ai"
    assert topic_id("人工智能").startswith("topic_") and topic_id("人工智能") != topic_id("人工")
    catalogue = catalogue_from_labels(["AI tools", "AI Tools", "Data literacy"])
    assert [t["id"] for t in catalogue] == ["ai_tools", "data_literacy"]


def _ids(catalogue: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(t["id"], t["label"], bool(t.get("archived"))) for t in catalogue]


def test_renaming_a_line_keeps_its_id() -> None:
    before = catalogue_from_labels(["AI tools", "Social media", "Data literacy"])
    after = merge_catalogue(before, ["AI tools", "Social networks", "Data literacy"])
    assert _ids(after) == [
        ("ai_tools", "AI tools", False),
        ("social_media", "Social networks", False),
        ("data_literacy", "Data literacy", False),
    ]
    # A translated or re-cased default is the same kind of edit.
    assert merge_catalogue(after, ["AI Tools", "Social networks", "Datenkompetenz"])[2] == {
        "id": "data_literacy",
        "label": "Datenkompetenz",
    }


def test_removed_topics_are_archived_and_come_back_with_their_id() -> None:
    before = catalogue_from_labels(["AI tools", "Social media", "Data literacy"])
    removed = merge_catalogue(before, ["AI tools", "Data literacy"])
    assert _ids(removed) == [
        ("ai_tools", "AI tools", False),
        ("data_literacy", "Data literacy", False),
        ("social_media", "Social media", True),
    ]
    back = merge_catalogue(removed, ["Social media", "AI tools", "Data literacy"])
    assert _ids(back) == [
        ("social_media", "Social media", False),
        ("ai_tools", "AI tools", False),
        ("data_literacy", "Data literacy", False),
    ]


def test_inserted_lines_are_new_topics_not_renames() -> None:
    before = catalogue_from_labels(["AI tools", "Social media"])
    after = merge_catalogue(before, ["Cloud", "AI tools", "Social media"])
    assert _ids(after) == [
        ("cloud", "Cloud", False),
        ("ai_tools", "AI tools", False),
        ("social_media", "Social media", False),
    ]
    # Moved and changed at once is not a rename (the position held another topic): the old
    # one is archived, the new line is a new topic.
    moved = merge_catalogue(after, ["AI tools", "Cloud computing", "Social media"])
    assert _ids(moved) == [
        ("ai_tools", "AI tools", False),
        ("cloud_computing", "Cloud computing", False),
        ("social_media", "Social media", False),
        ("cloud", "Cloud", True),
    ]


def test_new_ids_never_reuse_an_existing_one() -> None:
    archived = merge_catalogue(catalogue_from_labels(["AI tools", "Cloud"]), ["Cloud"])
    # "AI-tools" has the archived topic's slug: it is that topic, brought back.
    assert merge_catalogue(archived, ["Cloud", "AI-tools"])[1] == {
        "id": "ai_tools",
        "label": "AI-tools",
    }
    renamed = merge_catalogue(catalogue_from_labels(["AI tools"]), ["Machine learning"])
    grown = merge_catalogue(renamed, ["Machine learning", "AI tools"])
    assert [t["id"] for t in grown] == ["ai_tools", "ai_tools_2"]
    growth = merge_catalogue([], ["Growth: strategic thinking"])
    assert growth[0]["id"] == "growth_strategic_thinking_2"  # the growth area owns the slug


def test_defaults_fit_reverse_mentoring() -> None:
    form = form_from_program(None, date(2026, 11, 24))
    assert form.topics == list(DEFAULT_TOPICS) and len(form.topics) == 9
    assert form.mentor_capacity == 1 and form.anonymity_threshold == 5
    assert form.end_date and form.start_date and form.end_date > form.start_date
    assert validate_program(form) == {"name": "Give the programme a name."}


def test_saving_twice_updates_one_programme(database: Database) -> None:
    with database.session() as session:
        save_program(session, _form(), admin_id="UADMIN")
    with database.session() as session:
        program = _latest(session)
        save_program(
            session, _form(name="Round 2", mentor_capacity=3), admin_id="UADMIN", program=program
        )
    with database.session() as session:
        program = _latest(session)
        assert program is not None and program.name == "Round 2" and program.mentor_capacity == 3
        assert form_from_program(program, date(2027, 1, 1)).name == "Round 2"


def _join(database: Database, program: Program, user: str, **form: Any) -> None:
    person = Person(user, f"Name {user}", "en", "UTC", 0)
    with database.session() as session:
        enroll(session, program, person, EnrollmentForm(**form))


def _snapshot(database: Database, program_id: int) -> tuple[list[Any], dict[str, Any]]:
    with database.session() as session:
        program = session.get(Program, program_id)
        assert program is not None
        proposal = propose(session, program, "UADMIN")
        pairs = [(p.mentor_id, p.mentee_id, p.score, p.reasons) for p in proposal.pairs]
        overview = enrollment_overview(session, program)
        counts = {t.topic_id: (t.label, t.supply, t.demand, t.archived) for t in overview.topics}
        return pairs, counts


def test_renaming_and_removing_topics_keeps_everyones_choices(database: Database) -> None:
    form = _form(topics=["AI tools", "Social media", "Data literacy"])
    with database.session() as session:
        program = save_program(session, form, admin_id="UADMIN")
    _join(database, program, "UM", role="mentor", topics_offered=["ai_tools", "social_media"])
    _join(database, program, "UE", role="mentee", topics_wanted=["social_media"])
    _join(
        database,
        program,
        "UF",
        role="mentee",
        topics_wanted=["data_literacy"],
        development_areas=["ai_tools"],
    )
    pairs, counts = _snapshot(database, program.id or 0)
    assert pairs and counts["social_media"] == ("Social media", 1, 1, False)

    renamed = _form(topics=["AI tools", "Social networks", "Data literacy"])
    with database.session() as session:
        save_program(session, renamed, admin_id="UADMIN", program=_latest(session))
    pairs_after, counts_after = _snapshot(database, program.id or 0)
    assert pairs_after == pairs
    assert counts_after["social_media"] == ("Social networks", 1, 1, False)
    assert {k: v[1:] for k, v in counts_after.items()} == {k: v[1:] for k, v in counts.items()}
    with database.session() as session:
        program = _latest(session)
        mentee = repo.participant_by_user(session, program.id or 0, "UE")
        assert mentee is not None and mentee.topics_wanted == ["social_media"]
        summary = profile_summary(program, mentee, translator("en"))
        assert any("Social networks" in field for field in summary)

    removed = _form(topics=["AI tools", "Social networks"])
    with database.session() as session:
        program = save_program(session, removed, admin_id="UADMIN", program=_latest(session))
    assert [t["id"] for t in program.topic_catalogue] == [
        "ai_tools",
        "social_media",
        "data_literacy",
    ]
    assert "data_literacy" not in {t["id"] for t in enrollment_choices(program)}
    assert form_from_program(program, date(2027, 1, 1)).topics == ["AI tools", "Social networks"]
    _, counts_removed = _snapshot(database, program.id or 0)
    assert counts_removed["data_literacy"] == ("Data literacy", 0, 1, True)  # still held
    # The form no longer offers it, and a stale submission is refused.
    modal = enrollment_modal(
        program,
        EnrollmentForm(role="mentee", topics_wanted=["data_literacy"]),
        translator("en"),
        timezone="UTC",
        locale_name="English",
        editing=True,
    )
    assert "data_literacy" not in str(modal) and "social_media" in str(modal)
    stale = EnrollmentForm(role="mentee", topics_wanted=["data_literacy"])
    assert "topics_wanted" in validate_enrollment(stale, program, "UE")
    with database.session() as session:
        kept = repo.participant_by_user(session, program.id or 0, "UF")
        assert kept is not None and kept.topics_wanted == ["data_literacy"]  # history stays


def test_programme_timezone_is_kept_and_shown(database: Database) -> None:
    with database.session() as session:
        program = save_program(session, _form(), admin_id="UADMIN")
        assert program.timezone == "UTC"
        save_program(session, _form(), admin_id="UADMIN", program=program, timezone="Asia/Tokyo")
        save_program(session, _form(name="Renamed"), admin_id="UADMIN", program=program)
    with database.session() as session:
        program = _latest(session)
        assert program is not None and program.timezone == "Asia/Tokyo"
        with pytest.raises(ValueError):
            save_program(session, _form(), admin_id="UADMIN", program=program, timezone="Mars/Base")
    # 20:00 UTC on 31 December is already New Year's Day in Tokyo.
    with freeze_time(datetime(2026, 12, 31, 20, 0, tzinfo=UTC)):
        assert program_today(program) == date(2027, 1, 1)
    form = form_from_program(program, date(2027, 1, 1))
    modal = program_modal(form, translator("de"), is_new=False)
    (zone,) = [b for b in modal["blocks"] if b.get("block_id") == "timezone"]
    assert zone["element"]["initial_option"]["text"]["text"] == "Tokio (Asia/Tokyo)"
    # The form's zone is the admin's choice; an unknown one is refused by its field.
    assert validate_program(_form(timezone="Mars/Base")) == {"timezone": "Pick one of the options."}
    with database.session() as session:
        chosen = save_program(session, _form(timezone="Europe/Berlin"), admin_id="UADMIN")
        assert chosen.timezone == "Europe/Berlin"
    # A new programme starts in its creator's zone.
    assert form_from_program(None, date(2027, 1, 1), "Asia/Ho_Chi_Minh").timezone == (
        "Asia/Ho_Chi_Minh"
    )
    assert form_from_program(None, date(2027, 1, 1), None).timezone == "UTC"


def test_an_evergreen_programme_has_no_end_date(database: Database) -> None:
    assert validate_program(_form(end_date=None)) == {}
    with database.session() as session:
        program = save_program(session, _form(end_date=None), admin_id="UADMIN")
    # It never ends by itself, whatever the day.
    assert not is_over(program, datetime(2099, 1, 1, tzinfo=UTC))
    home = json.dumps(home_view([HomeState(program, None, [], True, None)], translator("en")))
    assert "Since Jan 1, 2027, evergreen" in home


def test_a_new_programme_runs_beside_the_others_with_its_creator_as_owner(
    database: Database,
) -> None:
    with database.session() as session:
        first = save_program(session, _form(name="One"), admin_id="UADMIN")
    with database.session() as session:
        second = save_program(session, _form(name="Two"), admin_id="UOWNER2")
    with database.session() as session:
        live = repo.live_programs(session)
        assert [p.id for p in live] == [first.id, second.id]
        assert {p.status for p in live} == {ProgramStatus.ENROLLING}
        assert repo.owners(session, first.id or 0) == ["UADMIN"]
        assert repo.owners(session, second.id or 0) == ["UOWNER2"]


# Programme settings kept in Program.settings ------------------------------------------------

JOB_NAMES = ("checkin", "nudge", "digest")


@pytest.mark.parametrize(
    "crontab",
    ["0 10 1-7 * monday", "61 8 * * *", "not a crontab", "", "0 8 31 2 *", None, 8, ["0 8"]],
)
def test_a_schedule_apscheduler_cannot_run_is_refused(crontab: object) -> None:
    assert programs.schedule_problem(crontab) is not None


@pytest.mark.parametrize("crontab", ["0 10 1-7 * mon", "30 9 * * tue", " 0 8 * * mon-fri "])
def test_a_good_schedule_is_accepted(crontab: str) -> None:
    assert programs.schedule_problem(crontab) is None


@pytest.mark.parametrize("cap", [float("inf"), float("nan"), 1e400, "x", -1, [5], True, 2.5])
def test_a_daily_cap_that_is_not_a_whole_number_in_range_is_refused(cap: object) -> None:
    assert programs.daily_cap_problem(cap) is not None


@pytest.mark.parametrize(
    "hours", [[17, 9], [9], [9, 25], {"0": 9}, "9-17", [float("inf"), 17], [True, 17]]
)
def test_bad_working_hours_are_refused(hours: object) -> None:
    assert programs.working_hours_problem(hours) is not None


def test_settings_problems_name_each_setting() -> None:
    problems = programs.settings_problems(
        {
            "schedules": {
                "digest": "0 10 1-7 * monday",
                "chekin": "0 8 * * *",
                "nudge": "0 9 * * *",
            },
            "daily_cap": 1e400,
            "working_hours": [9, 17],
        },
        JOB_NAMES,
    )
    assert set(problems) == {"schedules.digest", "schedules.chekin", "daily_cap"}
    assert programs.settings_problems({"schedules": ["0 8 * * *"]}, JOB_NAMES) == {
        "schedules": "schedules must map job names to crontabs"
    }
    assert programs.settings_problems(["x"], JOB_NAMES) == {
        "settings": "the programme settings must be a mapping"
    }


def test_readers_fall_back_to_the_default_and_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    program = Program(
        id=918_273,  # a programme no other test warned about
        name="P",
        settings={
            "schedules": {"digest": "0 10 1-7 * monday", "nudge": "30 9 * * tue"},
            "daily_cap": 1e400,
            "working_hours": [9, 99],
        },
    )
    with caplog.at_level("WARNING", logger="bot.domain.programs"):
        for _ in range(3):
            schedule, problem = programs.read_schedule(program, "digest", "0 10 1-7 * mon")
            assert schedule == "0 10 1-7 * mon" and problem and "monday" in problem
            assert programs.read_schedule(program, "nudge", "0 10 * * mon-fri") == (
                "30 9 * * tue",
                None,
            )
            assert journey.daily_cap(program) == journey.DEFAULT_DAILY_CAP
            assert working_hours(program) == DEFAULT_WORKING_HOURS
    warned = Counter(record.setting for record in caplog.records)  # type: ignore[attr-defined]
    assert warned == {"schedules.digest": 1, "daily_cap": 1, "working_hours": 1}


def test_good_settings_are_read_as_set() -> None:
    program = Program(name="P", settings={"daily_cap": "25", "working_hours": [8, 16]})
    assert journey.daily_cap(program) == 25
    assert working_hours(program) == (8, 16)
    assert journey.daily_cap(Program(name="P", settings={"daily_cap": 0})) == 0


def _latest(session: Session) -> Program | None:
    """The newest programme (these tests set up one at a time)."""
    programs = repo.all_programs(session)
    return programs[-1] if programs else None
