"""Every view and message the app builds, with long German/Vietnamese-sized content.

Shared by the limit checks (test_i18n) and the sandbox renderer's tests; a new view is added
here once and is then checked everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.domain import digest as digest_domain
from bot.domain import milestones as ms
from bot.domain.enrollment import EnrollmentForm
from bot.domain.programs import DEFAULT_TOPICS, catalogue_from_labels, form_from_program
from bot.i18n import Translator, translator
from bot.views import common, home, matching
from bot.views import enrollment as enrollment_views
from bot.views import program as program_views
from bot.views import pulse as pulse_views
from bot.views import recognition as recognition_views
from handlers import guard
from storage.models import Pair, Participant, Program, ShoutOut, SuccessStory


def sample_program() -> Program:
    return Program(
        id=1,
        name="Ein sehr langer Programmname für Führungskräfte " * 2,
        goals=["Ziel " * 50] * 3,
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topic_catalogue=catalogue_from_labels(list(DEFAULT_TOPICS) + [f"T{i}" for i in range(50)]),
        settings={"offices": [f"Büro Frankfurt am Main {i} " * 2 for i in range(20)]},
    )


def sample_program_numbered(number: int) -> Program:
    program = sample_program()
    program.id = number
    return program


def program_with_texts() -> Program:
    """The sample programme with the admin's versions of every text in every language."""
    program = sample_program()
    offered = [topic["id"] for topic in program.topic_catalogue]
    program.settings = {
        "channel_language": "vi",
        "texts": {
            locale: {
                "name": "Chương trình cố vấn ngược " * 5,
                "goals": ["Mục tiêu " * 35] * 3,
                "topics": {topic: "Chủ đề dài " * 5 for topic in offered},
            }
            for locale in ("en", "de", "vi")
        },
    }
    return program


def sample_person(index: int, role: str) -> Participant:
    return Participant(
        id=index,
        program_id=1,
        slack_user_id=f"U{index:05d}",
        role=role,
        display_name="Nguyễn Thị Minh Khai " * 3,
        department="Finance",
        topics_offered=["ai_tools", "social_media"],
        topics_wanted=["ai_tools"],
        personal_goals="x" * 1000,
        success_definition="y" * 1000,
        meeting_frequency="monthly",
        meeting_format="video",
        available_days=["mon", "tue"],
        time_of_day="morning",
        office="Büro Frankfurt am Main 3 " * 2 if role == "mentor" else "remote",
        languages=["en", "fr", "zh", "ja", "ko"],
        locale="vi",
    )


def sample_pair() -> Pair:
    return Pair(
        id=1,
        program_id=1,
        mentor_id=1,
        mentee_id=2,
        score=12,
        reasons=[
            {"code": "shared_topics", "params": {"topics": ["ai_tools", "social_media"]}},
            {"code": "overlap_hours", "params": {"hours": 3}},
            {"code": "same_frequency", "params": {"frequency": "monthly"}},
            {"code": "shared_days", "params": {"days": ["mon", "tue"]}},
            {"code": "different_departments", "params": {}},
            {
                "code": "remote_pair",
                "params": {
                    "mentor_place": "Büro Frankfurt am Main 3 " * 2,
                    "mentee_place": None,
                    "formats": ["video", "chat"],
                },
            },
            {"code": "common_language", "params": {"languages": ["en", "fr", "zh"]}},
            {"code": "shared_hours", "params": {"hours": 4, "longest_minutes": 75}},
            {"code": "risk_short_overlap", "params": {"longest_minutes": 75}},
            {
                "code": "risk_second_language",
                "params": {"language": "en", "who": ["mentor", "mentee"]},
            },
        ],
    )


def all_views(_: Translator) -> dict[str, dict[str, Any]]:
    """Name -> rendered view or message payload, in the translator's language."""
    program, mentor, mentee = (
        sample_program(),
        sample_person(1, "mentor"),
        sample_person(2, "mentee"),
    )
    pair = sample_pair()
    waiting = [
        {
            "participant_id": 2,
            "role": "mentee",
            "reason": {"code": "no_mentor_offers", "params": {"topics": ["ai_tools"]}},
        }
    ] * 300
    people = {1: mentor, 2: mentee}
    return {
        "help": common.help_message(_, is_admin=True, is_super_admin=True),
        "program_modal": program_views.program_modal(
            form_from_program(None, date(2027, 1, 1)), _, is_new=True
        ),
        "program_modal_languages": program_views.program_modal(
            form_from_program(program_with_texts(), date(2027, 1, 1)), _, is_new=False
        ),
        "program_saved": program_views.saved_modal(
            program_with_texts(), _, created=False, channel_language="vi"
        ),
        "pulse_survey": pulse_views.survey_modal("pulse", 1, _, threshold=5),
        "enrollment_modal": enrollment_views.enrollment_modal(
            program,
            EnrollmentForm(role="mentor"),
            _,
            timezone="Asia/Ho_Chi_Minh",
            locale_name="Tiếng Việt",
            editing=False,
        ),
        "enrolled_confirmation": enrollment_views.enrolled_confirmation(
            program, mentor, _, created=True
        ),
        "training_mentor": enrollment_views.training_message(mentor, _),
        "training_mentee_read": enrollment_views.training_message(
            mentee, _, read_at="1. Januar 2027"
        ),
        "leave_modal": enrollment_views.leave_modal(program, _, paired=True),
        "partner_unreachable": enrollment_views.partner_unreachable_message(_),
        "partner_departed": enrollment_views.partner_departed_message(_),
        "review_modal": matching.review_modal(program, 1, [pair] * 40, waiting, people, _, page=1),
        "intro": matching.intro_message(program, pair, mentor, mentee, [_, translator("en")]),
        "goals_modal": matching.goals_modal(1, _),
        "goals_saved": matching.goals_saved_message(
            ["Ziel " * 60] * 3, "U00001", [_, translator("en")]
        ),
        "rematch_modal": matching.rematch_modal(_),
        "rematch_modal_pick_pair": matching.rematch_modal(
            _, [(i, "Ein sehr langer Name " * 5) for i in range(120)], "Grund " * 200
        ),
        "approved_modal_discarded": matching.approved_modal(12, _, discarded=3),
        "already_approved_modal": matching.already_approved_modal(_),
        "still_saving_modal": guard.still_saving_modal(_),
        "outcome_modal": guard.outcome_modal(common.unavailable(_)["text"], _),
        "loading_modal": matching.loading_modal(_, "match_review_" + "f" * 32),
        "home_admin_participant": home.home_view(
            [home.HomeState(program, mentor, ["U00002"], True, None)], _
        ),
        "home_newcomer": home.home_view(
            [home.HomeState(program, None, [], False, None, may_join=True)], _
        ),
        # A super-admin with more programmes than one Home shows, each with its buttons.
        "home_many_programmes": home.home_view(
            [
                home.HomeState(sample_program_numbered(n), mentor, ["U00002"], True, None)
                for n in range(1, 10)
            ],
            _,
            super_admin=True,
        ),
        **journey_views(program, _),
        **recognition_catalogue(program, _),
        "cross_programme_report": comparison_catalogue(_),
        **roster_catalogue(_),
        **campaign_views(program, _),
    }


def campaign_views(program: Program, _: Translator) -> dict[str, dict[str, Any]]:
    from bot.domain.campaigns import Segment
    from bot.views import campaigns

    choices = {
        "department": [f"Abteilung für Digitalisierung {i} " * 4 for i in range(150)],
        "country": ["Deutschland", "Việt Nam"],
        "office": [f"Büro {i}" for i in range(30)],
    }
    form = campaigns.CampaignForm(
        role="mentee",
        segment=Segment(department=choices["department"][3], title_contains="Leiter " * 14),
        level_text="5",
    )
    sample = [f"U{i:05d}" for i in range(5)]
    return {
        "campaign_modal": campaigns.campaign_modal(program, choices, campaigns.CampaignForm(), _),
        "campaign_modal_preview": campaigns.campaign_modal(
            program, choices, form, _, campaigns.Preview(12345, sample)
        ),
        "campaign_modal_nobody": campaigns.campaign_modal(
            program, {}, form, _, campaigns.Preview(0, [])
        ),
        "campaign_sent": campaigns.sent_modal(12345, _),
        "campaign_invitation": campaigns.invitation_message(program, 1, "mentor", _),
        "campaign_reminder": campaigns.invitation_message(program, 1, "mentee", _, reminder=True),
        "campaign_declined": campaigns.declined_message(_),
    }


def roster_catalogue(_: Translator) -> dict[str, dict[str, Any]]:
    """The roster import's modals, the preview with a file full of problems."""
    from bot.domain.roster import parse_roster, plan_import
    from bot.usecases.roster import Applied, RosterPreview
    from bot.views import roster as roster_views

    bad = "email,manager,level\n" + "\n".join(
        f"<b>{n}@example.com,boss{n}@example.com,{'x' * 80}" for n in range(400)
    )
    parsed = parse_roster(bad.encode())
    good = parse_roster(("email\n" + "\n".join(f"p{n}@example.com" for n in range(300))).encode())
    plan = plan_import(good, {}, {}, [], full=True)
    named = "Personalliste Frankfurt am Main " * 8 + ".csv"

    def preview(parsed_file: object, planned: object) -> RosterPreview:
        return RosterPreview(named, "d" * 64, True, parsed_file, planned)  # type: ignore[arg-type]

    metadata = {"url": "https://files.slack.com/" + "x" * 400, "name": named, "full": True}
    return {
        "roster_upload": roster_views.upload_modal(_),
        "roster_problems": roster_views.preview_modal(
            preview(parsed, plan_import(parsed, {}, {}, [], full=False)), {}, _
        ),
        "roster_preview": roster_views.preview_modal(preview(good, plan), metadata, _),
        "roster_done": roster_views.outcome_modal(
            roster_views.applied_text(Applied(1, 9000, 900, 100), _), _
        ),
    }


def comparison_catalogue(_: Translator) -> dict[str, Any]:
    """Twenty long-named programmes side by side, half of their pulse figures hidden."""
    from bot.domain.comparison import Comparison, ProgrammeFigures, PulseFigure, pooled_pulse
    from bot.views import comparison

    figures = []
    for n in range(1, 21):
        shown = n % 2 == 0
        pulse = PulseFigure(
            "2027-03-01", 5, shown, 40 if shown else None, 12.5 if shown else None,
            4.2 if shown else None, {9: 30, 3: 10} if shown else {}, {4: 40} if shown else {},
        )  # fmt: skip
        figures.append(
            ProgrammeFigures(
                sample_program_numbered(n),
                250,
                250,
                12,
                240,
                7,
                3,
                "2027-03",
                71.0,
                88.0,
                120,
                480,
                64.0,
                30,
                243,
                pulse,
            )  # fmt: skip
        )
    return comparison.comparison_message(Comparison(figures, pooled_pulse(figures)), _)


def journey_views(program: Program, _: Translator) -> dict[str, dict[str, Any]]:
    from datetime import UTC, datetime

    from bot.domain.journey import HOURS_APART, MeetingOptions, NearTime, PairProgress
    from bot.views import journey
    from storage.models import Goal

    goals = [Goal(id=i, pair_id=1, title="Ziel <b> " * 40, progress=50) for i in range(1, 4)]
    slots = [datetime(2027, 3, 26 + i, 8, 0, tzinfo=UTC) for i in range(3)]
    suggestion = {"subject": {"goal": "Ziel " * 60}, "format": "hands_on"}
    return {
        "checkin": journey.checkin_message(program, 1, "U00002", suggestion, _),
        "nudge": journey.nudge_message(program, 1, "U00002", _),
        "escalation": journey.escalation_message(1, "U00001", "U00002", ["2027-01", "2027-02"], _),
        "contact_pair": journey.contact_pair_message("U00001", [_, translator("en")]),
        "not_yet": journey.not_yet_message(
            MeetingOptions(slots), "Asia/Ho_Chi_Minh", "Europe/Berlin", "U00002", 1, _
        ),
        "not_yet_relaxed": journey.not_yet_message(
            MeetingOptions(slots, relaxed=True), "Asia/Ho_Chi_Minh", "Europe/Berlin", "U00002", 1, _
        ),
        "not_yet_hours_apart": journey.not_yet_message(
            MeetingOptions(
                [],
                obstacle=HOURS_APART,
                near=[
                    NearTime(slot, ("me", "partner")[i % 2], 45 + 60 * i)
                    for i, slot in enumerate(slots)
                ],
            ),
            "Asia/Ho_Chi_Minh",
            "America/New_York",
            "U00002",
            1,
            _,
        ),
        "meeting_modal": journey.meeting_modal(1, goals, datetime(2027, 3, 1).date(), _),
        "meeting_logged": journey.meeting_logged(1, _),
        "delivery_failed": journey.delivery_failed_message(
            [("account_inactive", 3)], _, [f"U{n:010d}" for n in range(500)]
        ),
        "journey_status": journey.status_message(
            [PairProgress("U00002", goals, 3)] * 3, "2027-04", datetime(2027, 5, 1).date(), _
        ),
    }


def recognition_catalogue(program: Program, _: Translator) -> dict[str, dict[str, Any]]:
    text = "Danke für die großartige <KI>-Werkstatt & mehr! " * 30
    many = [f"U{i:05d}" for i in range(20)]
    digest = digest_domain.Digest(
        program,
        digest_domain.period_before(datetime(2027, 3, 2, tzinfo=UTC), "Europe/Berlin"),
        meetings=120,
        goals_achieved=33,
        milestones=60,
        shared_milestones=[digest_domain.MilestoneLine(ms.FIRST_MEETING, ("U1", "U2"))] * 40,
        shoutouts=[
            ShoutOut(program_id=1, author_slack_id="U1", recipient_slack_ids=many, message=text)
        ]
        * 30,
        story=SuccessStory(program_id=1, pair_id=1, author_id=1, text="x" * 1500),
        story_names=("U1", "U2"),
    )
    return {
        "shoutout_channel": recognition_views.channel_shoutout(many, text, "U1", _),
        "shoutout_thanks_dm": recognition_views.thanks_dm(text, "C1", _),
        "shoutout_done": recognition_views.shoutout_done("C1", many, many, _),
        "thanks_review": recognition_views.thanks_review(1, "U1", "U2", text, _),
        "milestone_goal": recognition_views.milestone_dm(ms.GOAL_ACHIEVED, text[:300], _),
        "digest": recognition_views.digest_message(digest, _),
        "story_modal": recognition_views.story_modal(_),
        "story_partner": recognition_views.story_for_partner(1, "U1", "x" * 1500, _),
        "story_admins": recognition_views.story_for_admins(1, ("U1", "U2"), "x" * 1500, _),
    }
