"""Programme rules, tested directly (no Slack)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.programs import (
    DEFAULT_TOPICS,
    ProgramForm,
    catalogue_from_labels,
    form_from_program,
    save_program,
    topic_id,
    validate_program,
)
from storage import repositories as repo
from storage.db import Database


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


def test_topic_ids_are_stable_and_ascii() -> None:
    assert topic_id("Diversity & inclusion") == "diversity_inclusion"
    assert topic_id("Công cụ AI") == "cong_cu_ai"
    assert topic_id("人工智能") == topic_id("人工智能") and topic_id("人工智能").startswith(
        "topic_"
    )
    catalogue = catalogue_from_labels(["AI tools", "AI Tools", "Data literacy"])
    assert [t["id"] for t in catalogue] == ["ai_tools", "data_literacy"]


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
        program = repo.active_program(session)
        save_program(
            session, _form(name="Round 2", mentor_capacity=3), admin_id="UADMIN", program=program
        )
    with database.session() as session:
        program = repo.active_program(session)
        assert program is not None and program.name == "Round 2" and program.mentor_capacity == 3
        assert form_from_program(program, date(2027, 1, 1)).name == "Round 2"
