"""The reporting chain from the roster wins for matching's exclusions (skip levels included);
a manager a person named themselves stays an extra exclusion; roster fields the person did not
share never reach the review or the pair's "why". On both databases."""

from __future__ import annotations

import json
from datetime import date

from bot.domain import enrollment, pairing
from bot.domain.matching import EXCLUDED_REPORTING_LINE, MatchProfile, is_excluded
from bot.domain.programs import ProgramForm, save_program
from bot.i18n import translator
from bot.views.matching import intro_blocks, review_modal
from storage.db import Database
from storage.models import Participant, Program, RosterEntry


def _program(db: Database) -> Program:
    form = ProgramForm(
        name="P",
        goals=["g"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topics=["AI tools"],
        mentor_capacity=1,
        enrollment_open=True,
    )
    with db.session() as session:
        return save_program(session, form, admin_id="UADMIN")


def _join(
    db: Database, program: Program, user_id: str, role: str, manager: str | None = None
) -> Participant:
    topics = (
        {"topics_offered": ["ai_tools"]} if role == "mentor" else {"topics_wanted": ["ai_tools"]}
    )
    form = enrollment.EnrollmentForm(
        role=role, department="Shared dept", manager_user_id=manager, **topics
    )  # type: ignore[arg-type]
    person = enrollment.Person(user_id, f"Name {user_id}", "en", "Europe/Berlin", 60)
    with db.session() as session:
        return enrollment.enroll(session, program, person, form).participant


def _roster(db: Database, rows: dict[str, str | None]) -> None:
    with db.session() as session:
        for user, manager in rows.items():
            session.add(
                RosterEntry(
                    slack_user_id=user,
                    manager_slack_id=manager,
                    department="Secret Roster Department",
                    title="Secret Roster Title",
                    office="Secret Roster Office",
                    level=7,
                )
            )
        session.commit()


def _paired(db: Database, program: Program) -> set[tuple[str, str]]:
    with db.session() as session:
        proposal = pairing.propose(session, program, "UADMIN")
        session.commit()
        people = proposal.people
        return {
            (people[p.mentor_id].slack_user_id, people[p.mentee_id].slack_user_id)
            for p in proposal.pairs
        }


def test_the_roster_chain_excludes_a_skip_level_manager(database: Database) -> None:
    program = _program(database)
    # The mentee says nothing about a manager; the roster says: mentee -> lead -> director.
    _join(database, program, "UDIRECTOR", "mentor")
    _join(database, program, "UMENTEE", "mentee")
    assert _paired(database, program) == {("UDIRECTOR", "UMENTEE")}

    program2 = _program(database)
    _join(database, program2, "UDIRECTOR2", "mentor")
    _join(database, program2, "UMENTEE2", "mentee")
    _roster(database, {"UMENTEE2": "ULEAD2", "ULEAD2": "UDIRECTOR2", "UDIRECTOR2": None})
    assert _paired(database, program2) == set()


def test_the_roster_wins_over_a_self_declared_chain_and_the_named_manager_stays_excluded(
    database: Database,
) -> None:
    program = _program(database)
    # The mentee named UNAMED as manager, whose own (self-declared) manager is UOLDBOSS.
    _join(database, program, "UNAMED", "mentor", manager="UOLDBOSS")
    _join(database, program, "UOLDBOSS", "mentor")
    _join(database, program, "UMENTEE", "mentee", manager="UNAMED")
    # The roster: the mentee reports to someone else; UNAMED is not on the roster, UOLDBOSS is
    # (with nobody above), so the self-declared skip level no longer applies...
    _roster(database, {"UMENTEE": "UHRBOSS", "UHRBOSS": None, "UOLDBOSS": None})
    # ...but the manager the mentee named stays excluded.
    assert _paired(database, program) == {("UOLDBOSS", "UMENTEE")}


def test_a_named_manager_is_excluded_whatever_the_managers_map_says() -> None:
    def profile(user: str, role: str, manager: str | None = None) -> MatchProfile:
        return MatchProfile(
            participant_id=1,
            user_id=user,
            role=role,
            department="",
            topics_offered=frozenset({"t"}),
            topics_wanted=frozenset({"t"}),
            development_areas=frozenset(),
            meeting_frequency=None,
            meeting_format=None,
            available_days=frozenset(),
            time_of_day=None,
            utc_offset_minutes=0,
            manager_user_id=manager,
        )

    mentor, mentee = profile("UA", "mentor"), profile("UB", "mentee", manager="UA")
    roster = {"UB": "UC", "UC": None}
    assert (
        is_excluded(mentor, mentee, managers=roster, previous_pairs=frozenset())
        == EXCLUDED_REPORTING_LINE
    )


def test_the_review_and_the_why_never_show_roster_fields_the_person_did_not_share(
    database: Database,
) -> None:
    program = _program(database)
    _join(database, program, "UMENTOR", "mentor")
    _join(database, program, "UMENTEE", "mentee")
    _roster(database, {"UMENTOR": None, "UMENTEE": None})
    with database.session() as session:
        proposal = pairing.propose(session, program, "UADMIN")
        session.commit()
        assert len(proposal.pairs) == 1
        reasons = json.dumps([p.reasons for p in proposal.pairs])
        program_row = session.get(Program, program.id)
        assert program_row is not None
        _ = translator("en")
        view = review_modal(
            program_row,
            proposal.run.id or 0,
            proposal.pairs,
            proposal.run.waiting_list,
            proposal.people,
            _,
        )
        pair = proposal.pairs[0]
        intro = intro_blocks(
            program_row, pair, proposal.people[pair.mentor_id], proposal.people[pair.mentee_id], _
        )
    shown = json.dumps(view) + reasons + json.dumps([b.to_dict() for b in intro])
    for secret in ("Secret Roster", '"level"'):
        assert secret not in shown


def test_mydata_includes_what_the_roster_says_about_the_person(database: Database) -> None:
    program = _program(database)
    person = _join(database, program, "UMENTEE", "mentee")
    with database.session() as session:
        assert enrollment.personal_data(session, person)["roster"] is None
    _roster(database, {"UMENTEE": "ULEAD"})
    with database.session() as session:
        roster = enrollment.personal_data(session, person)["roster"]
    assert roster["manager_slack_id"] == "ULEAD"
    assert roster["department"] == "Secret Roster Department" and roster["level"] == 7
