"""Enrollment and pairing rules, tested directly against storage (no Slack)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import enrollment, pairing
from bot.domain.programs import ProgramForm, save_program
from storage import repositories as repo
from storage.db import Database
from storage.models import MatchRun, PairStatus, Participant, Program


def _program(db: Database, capacity: int = 1, open_: bool = True) -> Program:
    form = ProgramForm(
        name="P",
        goals=["g"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topics=["AI tools", "Social media"],
        mentor_capacity=capacity,
        enrollment_open=open_,
    )
    with db.session() as session:
        return save_program(session, form, admin_id="UADMIN")


def _person(user_id: str) -> enrollment.Person:
    return enrollment.Person(user_id, f"Name {user_id}", "en", "Europe/Berlin", 60)


def _join(db: Database, program: Program, user_id: str, role: str, **extra: object) -> Participant:
    topics = (
        {"topics_offered": ["ai_tools"]} if role == "mentor" else {"topics_wanted": ["ai_tools"]}
    )
    form = enrollment.EnrollmentForm(role=role, **(topics | extra))  # type: ignore[arg-type]
    with db.session() as session:
        return enrollment.enroll(session, program, _person(user_id), form).participant


def test_validation_rules() -> None:
    program = Program(name="P", topic_catalogue=[{"id": "ai_tools", "label": "AI tools"}])
    assert (
        enrollment.validate_enrollment(
            enrollment.EnrollmentForm(role="mentor", topics_offered=["ai_tools"]), program, "U1"
        )
        == {}
    )
    errors = enrollment.validate_enrollment(
        enrollment.EnrollmentForm(
            role="boss",
            personal_goals="x" * 1001,
            avoid_user_ids=["U1"],
            manager_user_id="U1",
            meeting_format="telepathy",
        ),
        program,
        "U1",
    )
    assert set(errors) == {"role", "personal_goals", "avoid", "manager", "meeting_format"}
    growth = enrollment.EnrollmentForm(
        role="mentor", topics_offered=["ai_tools"], development_areas=["growth_strategic_thinking"]
    )
    assert enrollment.validate_enrollment(growth, program, "U1") == {}


def test_enroll_is_idempotent_and_rejoin_works(database: Database) -> None:
    program = _program(database)
    first = _join(database, program, "U1", "mentor")
    again = _join(database, program, "U1", "mentor", department="Design")
    assert first.id == again.id and again.department == "Design"
    with database.session() as session:
        enrollment.leave(session, repo.participant_by_user(session, program.id, "U1"), erase=False)
    with database.session() as session:
        result = enrollment.enroll(
            session,
            program,
            _person("U1"),
            enrollment.EnrollmentForm(role="mentor", topics_offered=["ai_tools"]),
        )
    assert result.created is True and result.participant.status == "waiting"


def test_closed_enrollment_refuses_newcomers_but_lets_members_edit(database: Database) -> None:
    program = _program(database)
    _join(database, program, "U1", "mentor")
    program = _program(database, open_=False)  # a second programme, closed to newcomers
    with database.session() as session:
        active = session.get(Program, program.id)
    assert active is not None and not active.enrollment_open
    with pytest.raises(enrollment.EnrollmentClosed):
        _join(database, active, "U2", "mentee")


def test_matching_round_propose_approve_and_rematch(database: Database) -> None:
    program = _program(database)
    mentor = _join(database, program, "UM", "mentor")
    mentee = _join(database, program, "UE", "mentee")
    with database.session() as session:
        proposal = pairing.propose(session, program, "UADMIN")
    assert [(p.mentor_id, p.mentee_id) for p in proposal.pairs] == [(mentor.id, mentee.id)]
    with database.session() as session:
        approved = pairing.approve(session, proposal.run.id or 0, "UADMIN")
        assert len(approved) == 1
        again = pairing.approve(session, proposal.run.id or 0, "UADMIN")
        assert again.pairs == [] and not again.closed  # closed already: a no-op
    with database.session() as session:
        person = repo.participant_by_user(session, program.id or 0, "UE")
        request = pairing.request_rematch(session, person, "no chemistry")
        assert request is not None
        again = pairing.request_rematch(session, person, "still")
        assert again is not None and again.id == request.id
        outcome = pairing.resolve_rematch(session, request.id or 0, "UADMIN", end=True)
        assert outcome is not None and outcome.ended and outcome.partner.slack_user_id == "UM"
    with database.session() as session:
        assert {p.status for p in repo.participants(session, program.id or 0)} == {"waiting"}
        assert [p.status for p in repo.pairs(session, program.id or 0)] == [PairStatus.ENDED]
        # The earlier pair is excluded next time.
        assert pairing.propose(session, program, "UADMIN").pairs == []


def test_approval_skips_pairs_that_became_invalid(database: Database) -> None:
    program = _program(database)
    _join(database, program, "UM", "mentor")
    _join(database, program, "UE", "mentee")
    with database.session() as session:
        proposal = pairing.propose(session, program, "UADMIN")
        enrollment.leave(session, repo.participant_by_user(session, program.id, "UE"), erase=True)
    with database.session() as session:
        assert pairing.approve(session, proposal.run.id or 0, "UADMIN").pairs == []
        assert session.get(MatchRun, proposal.run.id).status == "closed"


def test_capacity_two_mentor_takes_two_mentees(database: Database) -> None:
    program = _program(database, capacity=2)
    _join(database, program, "UM", "mentor")
    _join(database, program, "UE1", "mentee")
    _join(database, program, "UE2", "mentee")
    _join(database, program, "UE3", "mentee")
    with database.session() as session:
        proposal = pairing.propose(session, program, "UADMIN")
        assert len(proposal.pairs) == 2
        assert [w["reason"]["code"] for w in proposal.run.waiting_list] == ["capacity_full"]
        pairing.approve(session, proposal.run.id or 0, "UADMIN")
    with database.session() as session:
        # The mentor is full now; the third mentee stays on the waiting list.
        assert pairing.propose(session, program, "UADMIN").pairs == []


def test_personal_data_export_and_erasure(database: Database) -> None:
    program = _program(database)
    mentor = _join(
        database, program, "UM", "mentor", personal_goals="Teach AI", manager_user_id="UBOSS"
    )
    with database.session() as session:
        data = enrollment.personal_data(session, session.get(Participant, mentor.id))
    assert data["profile"]["personal_goals"] == "Teach AI"
    assert data["profile"]["manager_slack_id"] == "UBOSS"
    with database.session() as session:
        enrollment.leave(session, session.get(Participant, mentor.id), erase=True)
    with database.session() as session:
        erased = session.get(Participant, mentor.id)
        assert erased.personal_goals is None and erased.manager_slack_id is None
        assert erased.slack_user_id.startswith("erased-") and erased.role == "mentor"
        assert repo.manager_map(session) == {}


def test_matching_weights_come_from_programme_settings() -> None:
    program = Program(name="P", settings={"matching_weights": {"central_topic": 5, "bogus": 9}})
    assert pairing.weights_for(program).central_topic == 5
    broken = Program(name="P", settings={"matching_weights": {"central_topic": -1}})
    assert pairing.weights_for(broken) == pairing.MatchWeights()


def test_pair_goals_only_for_members_and_newcomer_proposals(database: Database) -> None:
    program = _program(database)
    _join(database, program, "UM", "mentor")
    _join(database, program, "UE", "mentee")
    with database.session() as session:
        newcomer = repo.participant_by_user(session, program.id, "UE")
        assert pairing.propose_for_newcomer(session, newcomer) == 0  # matching not begun yet
        proposal = pairing.propose(session, program, "UADMIN")
        pair = pairing.approve(session, proposal.run.id or 0, "UADMIN").pairs[0]
    with database.session() as session:
        assert pairing.pair_of_member(session, pair.id or 0, "UOTHER") is None
        member_pair = pairing.pair_of_member(session, pair.id or 0, "UE")
        assert member_pair is not None
        goals = pairing.add_goals(
            session, member_pair, [("Learn prompts", "Weekly"), ("  ", ""), ("Post", "")], "UE"
        )
        assert [(g.title, g.measure) for g in goals] == [
            ("Learn prompts", "Weekly"),
            ("Post", None),
        ]
    later = _join(database, program, "UE2", "mentee")
    with database.session() as session:
        # The only mentor is taken, so the newcomer fits nobody yet.
        assert pairing.propose_for_newcomer(session, session.get(Participant, later.id)) == 0
    _join(database, program, "UM2", "mentor")
    with database.session() as session:
        mentor = repo.participant_by_user(session, program.id, "UM2")
        assert pairing.propose_for_newcomer(session, mentor) == 1
