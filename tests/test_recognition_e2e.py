"""Recognition end to end: shout-outs, partner thanks with approval, milestones, certificates,
the monthly digest and success stories, through signed requests and the simulated Slack, on
SQLite and PostgreSQL. Check-ins and goals are stored as rows (the journey feature writes them)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pypdf import PdfReader
from sqlalchemy import text
from sqlmodel import Session, col, select

from bot import clock
from bot.domain import enrollment
from bot.domain import recognition as rec
from bot.i18n import translator
from bot.simulated_slack import FakeSlack
from bot.views import common
from scheduler.job_report import JobReport
from scheduler.recognition import run_digest, run_milestones
from storage import repositories as repo
from storage.models import (
    Certificate,
    CheckInCycle,
    CheckInRequest,
    Goal,
    GoalStatus,
    Milestone,
    OutboxMessage,
    Pair,
    PairStatus,
    Participant,
    Program,
    ShoutOut,
    SuccessStory,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, database_down, eventually, open_modal

CHANNEL = "C0KUDOS"
MENTOR_NAME = "Jürgen Groß"
MENTEE_NAME = "Nguyễn Thị Hương"


@dataclass
class World:
    program_id: int
    pair_id: int
    mentor_id: int
    mentee_id: int


def _user(fake: FakeSlack, user_id: str, name: str, locale: str) -> None:
    fake.add_user(user_id, real_name=name, locale=locale, tz="Europe/Berlin", tz_offset=3600)


def _person(session: Session, program_id: int, user_id: str, name: str, **fields: Any) -> int:
    row = Participant(
        program_id=program_id,
        slack_user_id=user_id,
        display_name=name,
        status="paired",
        **{"shoutout_consent": True, **fields},
    )
    session.add(row)
    session.flush()
    return row.id or 0


def make_world(
    app: RunningApp,
    *,
    bot_in_channel: bool = True,
    mentee_consent: bool = True,
    completion_cycles: int = 6,
) -> World:
    fake = app.fake
    fake.add_channel(CHANNEL, "kudos", [ADMIN], bot_is_member=bot_in_channel)
    _user(fake, "UMENTOR1", MENTOR_NAME, "de-DE")
    _user(fake, "UMENTEE1", MENTEE_NAME, "vi-VN")
    _user(fake, "UOTHER01", "Olga Other", "en-US")
    with app.db.session() as session:
        program = Program(
            name="Digital Leaders 2027",
            start_date=date(2027, 1, 1),
            end_date=date(2027, 12, 31),
            community_channel=CHANNEL,
            timezone="Europe/Berlin",
            settings={"completion_cycles": completion_cycles},
        )
        session.add(program)
        session.flush()
        pid = program.id or 0
        mentor = _person(session, pid, "UMENTOR1", MENTOR_NAME, role="mentor", locale="de")
        mentee = _person(
            session,
            pid,
            "UMENTEE1",
            MENTEE_NAME,
            role="mentee",
            locale="vi",
            shoutout_consent=mentee_consent,
        )
        _person(session, pid, "UOTHER01", "Olga Other", role="mentor", locale="en")
        pair = Pair(
            program_id=pid,
            mentor_id=mentor,
            mentee_id=mentee,
            status=PairStatus.ACTIVE,
            approved_at=datetime(2027, 1, 5, tzinfo=UTC),
        )
        session.add(pair)
        session.flush()
        return World(pid, pair.id or 0, mentor, mentee)


def channel_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages(CHANNEL)]


def shoutouts(app: RunningApp) -> list[ShoutOut]:
    with app.db.session() as session:
        return list(session.exec(select(ShoutOut).order_by(ShoutOut.id)).all())


# Shout-outs ---------------------------------------------------------------------------------


def test_admin_shout_out_lands_in_the_channel_and_in_each_dm_in_their_language(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app)
    reply = command_reply(app, ADMIN, "shoutout <@UMENTOR1> Great <AI> workshop & demo!")
    assert "Posted in <#C0KUDOS>" in reply["text"]
    [post] = channel_posts(app.fake)
    text = FakeSlack.message_text(post)
    assert "<@UMENTOR1>" in text
    assert "Great &lt;AI&gt; workshop &amp; demo!" in text  # typed text is escaped
    de = translator("de")
    dms = eventually(lambda: app.fake.dm_texts("UMENTOR1"))
    assert de("You received a shout-out in <#{channel}>. Thank you!", channel=CHANNEL) in dms[0]
    [row] = shoutouts(app)
    assert row.recipient_slack_ids == ["UMENTOR1"] and row.status == "posted"
    assert row.message_ts and row.channel == CHANNEL


def test_shout_out_to_several_people_honours_consent(running_app: RunningApp) -> None:
    app = running_app
    make_world(app, mentee_consent=False)
    reply = command_reply(app, ADMIN, "shoutout <@UMENTOR1|juergen> <@UMENTEE1> Thank you both")
    [post] = channel_posts(app.fake)
    text = FakeSlack.message_text(post)
    assert "<@UMENTOR1>" in text and "UMENTEE1" not in text  # no consent: not named publicly
    assert "<@UMENTEE1> did not agree to public recognition" in reply["text"]
    vi = translator("vi")
    mentee_dms = eventually(lambda: app.fake.dm_texts("UMENTEE1"))
    assert vi("You received a thank-you from the mentoring programme:") in mentee_dms[0]
    assert "Thank you both" in mentee_dms[0]
    assert eventually(lambda: app.fake.dm_texts("UMENTOR1"))
    [row] = shoutouts(app)
    assert row.recipient_slack_ids == ["UMENTOR1", "UMENTEE1"]


def test_non_admin_shout_out_is_refused_and_nothing_is_posted(running_app: RunningApp) -> None:
    app = running_app
    make_world(app)
    reply = command_reply(app, "UMENTOR1", "shoutout <@UMENTEE1> Thanks")
    assert reply["text"] == common.admins_only(translator("de"))["text"]
    assert channel_posts(app.fake) == []
    assert shoutouts(app) == []


def test_empty_text_unknown_people_and_a_channel_without_the_bot_post_nothing(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app, bot_in_channel=False)
    assert "Add a few words" in command_reply(app, ADMIN, "shoutout <@UMENTOR1>")["text"]
    assert "Mention the people" in command_reply(app, ADMIN, "shoutout well done")["text"]
    unknown = command_reply(app, ADMIN, "shoutout <@UNOBODY99> well done")["text"]
    assert "can't find <@UNOBODY99>" in unknown
    refused = command_reply(app, ADMIN, "shoutout <@UMENTOR1> well done")["text"]
    assert "Invite the app" in refused and "<#C0KUDOS>" in refused
    assert [c for c in app.fake.calls("chat.postMessage") if c.ok] == []  # no DM, no post
    assert shoutouts(app) == []
    app.fake.set_bot_membership(CHANNEL, True)  # the admin invited the app: now it works
    assert "Posted in" in command_reply(app, ADMIN, "shoutout <@UMENTOR1> well done")["text"]
    assert len(channel_posts(app.fake)) == 1


def test_partner_thanks_waits_for_one_admin_approval(running_app: RunningApp) -> None:
    app = running_app
    make_world(app)
    not_partner = command_reply(app, "UMENTOR1", "thanks <@UOTHER01> thanks!")["text"]
    assert not_partner == translator("de")(rec.ONLY_PARTNER)
    reply = command_reply(app, "UMENTOR1", "thanks <@UMENTEE1> You made TikTok make sense")
    assert reply["text"] == translator("de")(
        "Thank you! Your message goes to the programme team; it's shared once they approve it."
    )
    assert channel_posts(app.fake) == []  # nothing public before approval
    review = eventually(
        lambda: [m for m in app.fake.posted_messages("D" + ADMIN) if "shoutout_approve" in str(m)]
    )[0]
    [row] = shoutouts(app)
    assert row.status == "proposed"
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    eventually(lambda: channel_posts(app.fake))
    eventually(lambda: shoutouts(app)[0].status == "posted")
    eventually(
        lambda: any(
            "Approved by" in FakeSlack.message_text(m)
            for m in app.fake.posted_messages("D" + ADMIN)
        )
    )
    # A second click (another admin, a double click) posts nothing more.
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    eventually(
        lambda: any(
            "already handled" in FakeSlack.message_text(m)
            for m in app.fake.posted_messages("D" + ADMIN)
        )
    )
    assert len(channel_posts(app.fake)) == 1
    assert "You made TikTok make sense" in FakeSlack.message_text(channel_posts(app.fake)[0])
    assert eventually(lambda: app.fake.dm_texts("UMENTEE1"))
    assert eventually(lambda: app.fake.dm_texts("UMENTOR1"))


def test_rejected_thanks_is_never_posted(running_app: RunningApp) -> None:
    app = running_app
    make_world(app)
    command_reply(app, "UMENTEE1", "thanks <@UMENTOR1> Danke!")
    review = eventually(
        lambda: [m for m in app.fake.posted_messages("D" + ADMIN) if "shoutout_reject" in str(m)]
    )[0]
    row = shoutouts(app)[0]
    app.slack.block_action(ADMIN, "shoutout_reject", value=str(row.id), message=review)
    eventually(lambda: shoutouts(app)[0].status == "rejected")
    assert eventually(lambda: app.fake.dm_texts("UMENTEE1"))
    eventually(
        lambda: any(
            "Rejected by" in FakeSlack.message_text(m)
            for m in app.fake.posted_messages("D" + ADMIN)
        )
    )
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    eventually(
        lambda: any(
            "already handled" in FakeSlack.message_text(m)
            for m in app.fake.posted_messages("D" + ADMIN)
        )
    )
    assert channel_posts(app.fake) == []


def scheduled(
    app: RunningApp, job: Callable[..., JobReport], at: datetime, *, dry_run: bool = False
) -> JobReport:
    """A scheduled run at `at`, as the scheduler does it: the job queues what it owes, and
    each message is delivered once it is due (the clock moves on to the last one's time)."""
    manual = clock.ManualClock(at)
    previous = clock.install(manual)
    try:
        report = job(app.services, at, dry_run=dry_run)
        if report.keys and not dry_run:
            with app.db.session() as session:
                due = session.exec(
                    select(OutboxMessage.not_before).where(
                        col(OutboxMessage.dedupe_key).in_(report.keys)
                    )
                ).all()
            manual.set(max([at, *due]))
            app.services.delivery.deliver_now(report.keys, budget_seconds=30)
    finally:
        clock.install(previous)
    return report


# Milestones and certificates -----------------------------------------------------------------


def _met(app: RunningApp, world: World, period: str, *, met: bool = True) -> None:
    """Both partners answer the period's check-in (the cycle is created when missing)."""
    with app.db.session() as session:
        cycle = session.exec(
            select(CheckInCycle).where(
                CheckInCycle.program_id == world.program_id, CheckInCycle.period == period
            )
        ).first()
        if cycle is None:
            cycle = CheckInCycle(program_id=world.program_id, period=period)
            session.add(cycle)
            session.flush()
        for person in (world.mentor_id, world.mentee_id):
            answer = session.exec(
                select(CheckInRequest).where(
                    CheckInRequest.cycle_id == cycle.id,
                    CheckInRequest.pair_id == world.pair_id,
                    CheckInRequest.participant_id == person,
                )
            ).first() or CheckInRequest(
                cycle_id=cycle.id or 0, pair_id=world.pair_id, participant_id=person
            )
            answer.status = "met" if met else "not_yet"
            session.add(answer)


def _goal(app: RunningApp, world: World, title: str, *, at: datetime, done: bool = True) -> None:
    with app.db.session() as session:
        session.add(
            Goal(
                pair_id=world.pair_id,
                title=title,
                status=GoalStatus.DONE if done else GoalStatus.OPEN,
                progress=100 if done else 40,
                updated_at=at,
            )
        )


def _milestones(app: RunningApp) -> list[str]:
    with app.db.session() as session:
        return sorted(m.kind for m in session.exec(select(Milestone)).all())


def test_milestones_fire_once_each_however_often_the_job_runs(running_app: RunningApp) -> None:
    app = running_app
    world = make_world(app)
    at = datetime(2027, 2, 10, tzinfo=UTC)
    assert scheduled(app, run_milestones, at).queued == 0
    _met(app, world, "2027-01")
    report = scheduled(app, run_milestones, at)
    assert report.queued == 2  # first meeting, to each partner
    assert scheduled(app, run_milestones, at).queued == 0
    _met(app, world, "2027-01", met=False)  # an edited answer takes nothing back ...
    _met(app, world, "2027-01")  # ... and re-confirming celebrates nothing again
    assert scheduled(app, run_milestones, at).queued == 0
    _met(app, world, "2027-02")
    _met(app, world, "2027-03")
    _goal(app, world, "Post weekly on <LinkedIn>", at=at)
    _goal(app, world, "Try three AI tools", at=at, done=False)
    dry = scheduled(app, run_milestones, at, dry_run=True)
    assert dry.queued == 4 and _milestones(app) == ["first_meeting"]
    assert scheduled(app, run_milestones, at).queued == 4  # third meeting + a goal, each to two
    assert scheduled(app, run_milestones, at).queued == 0
    kinds = _milestones(app)
    assert kinds[0] == "first_meeting" and kinds[-1] == "third_meeting"
    assert kinds[1].startswith("goal_achieved:") and len(kinds) == 3
    de, vi = translator("de"), translator("vi")
    mentor_dms = eventually(
        lambda: len(app.fake.dm_texts("UMENTOR1")) == 3 and app.fake.dm_texts("UMENTOR1")
    )
    assert any(de("You held your first mentoring meeting. A great start!") in t for t in mentor_dms)
    assert any("Post weekly on &lt;LinkedIn&gt;" in t for t in mentor_dms)
    mentee_dms = app.fake.dm_texts("UMENTEE1")
    assert any(vi("Three meetings done: your pair is finding its rhythm.") in t for t in mentee_dms)
    assert len(mentee_dms) == 3


def test_completion_brings_a_certificate_pdf_with_the_exact_name_and_figures(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, completion_cycles=2)
    at = datetime(2027, 3, 3, tzinfo=UTC)
    _met(app, world, "2027-01")
    _met(app, world, "2027-02")
    _goal(app, world, "Run a Copilot session", at=at)
    scheduled(app, run_milestones, at)
    scheduled(app, run_milestones, at)  # again: no second certificate
    files = eventually(lambda: len(app.fake.uploaded_files()) >= 2 and app.fake.uploaded_files())
    assert len(files) == 2
    by_channel = {f["channel"]: f for f in files}
    mentee_pdf = by_channel["DUMENTEE1"]["bytes"]
    assert mentee_pdf.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(mentee_pdf)).pages[0].extract_text()
    vi = translator("vi")
    assert MENTEE_NAME in text
    assert vi("Certificate of participation") in text
    assert "Digital Leaders 2027" in text
    assert vi("Sessions held: {sessions} · Goals achieved: {goals}", sessions=2, goals=1) in text
    assert vi("Mentee") in text
    mentor_text = PdfReader(io.BytesIO(by_channel["DUMENTOR1"]["bytes"])).pages[0].extract_text()
    assert MENTOR_NAME in mentor_text
    assert translator("de")("Reverse mentor") in mentor_text
    admin_dms = eventually(lambda: app.fake.dm_texts(ADMIN))
    assert any("<@UMENTOR1> and <@UMENTEE1> completed the programme" in t for t in admin_dms)
    with app.db.session() as session:
        certificates = session.exec(select(Certificate)).all()
    assert sorted(c.status for c in certificates) == ["uploaded", "uploaded"]
    assert "completed" in _milestones(app)


@contextmanager
def clock_at(at: datetime) -> Iterator[clock.ManualClock]:
    """The app's clock says `at` (and moves only when the test moves it)."""
    manual = clock.ManualClock(at)
    previous = clock.install(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _certificates(app: RunningApp) -> list[Certificate]:
    with app.db.session() as session:
        return list(session.exec(select(Certificate).order_by(col(Certificate.id))).all())


def _shared_once_each(app: RunningApp) -> None:
    """Each partner's DM holds their certificate once, and the certificate knows that file."""
    files = app.fake.uploaded_files()
    assert sorted(f["channel"] for f in files) == ["DUMENTEE1", "DUMENTOR1"]
    certificates = _certificates(app)
    assert [c.status for c in certificates] == ["uploaded", "uploaded"]
    assert {c.file_id for c in certificates} == {f["id"] for f in files}
    for channel in ("DUMENTEE1", "DUMENTOR1"):
        shared = [m for m in app.fake.posted_messages(channel) if m.get("files")]
        assert len(shared) == 1  # as the person sees it in Slack


def test_a_certificate_whose_sharing_answer_was_lost_is_shared_once(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, completion_cycles=2)
    at = datetime(2027, 3, 3, 10, tzinfo=UTC)  # a Wednesday, inside Berlin's working day
    _met(app, world, "2027-01")
    _met(app, world, "2027-02")
    # Slack shares the first PDF, but its answer never reaches the app.
    app.fake.lose_answer_next("files.completeUploadExternal")
    with clock_at(at) as now:
        scheduled(app, run_milestones, at)
        assert len(app.fake.uploaded_files()) == 2
        assert [c.status for c in _certificates(app)].count("pending") == 1
        now.advance(timedelta(minutes=5))  # the scheduler's outbox run retries it
        app.services.delivery.flush(owner="scheduler", budget_seconds=10)
    _shared_once_each(app)
    assert len(app.fake.calls("files.completeUploadExternal")) == 2  # never shared again


def test_a_sender_that_dies_after_sharing_a_certificate_does_not_share_it_again(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, completion_cycles=2)
    at = datetime(2027, 3, 3, 10, tzinfo=UTC)
    _met(app, world, "2027-01")
    _met(app, world, "2027-02")
    died: list[BaseException] = []
    with clock_at(at) as now:
        report = run_milestones(app.services, at)
        certificates = [key for key in report.keys if key.startswith("certificate:")]
        assert len(certificates) == 2

        def send() -> None:
            try:
                app.services.delivery.deliver_now(certificates, budget_seconds=30)
            except Exception as error:  # noqa: BLE001 - the sender dies: the test looks at it
                died.append(error)

        sender = threading.Thread(target=send)
        with ExitStack() as database_gone:
            # The sender shares the first PDF; Slack answers only once the database is gone,
            # so the sender dies before it can record the share (its claim stays 'sending').
            with app.fake.holding("files.completeUploadExternal"):
                sender.start()
                eventually(lambda: app.fake.held("files.completeUploadExternal") == 1)
                database_gone.enter_context(database_down(app))
            sender.join(timeout=60)
        assert died and not sender.is_alive()
        assert len(app.fake.uploaded_files()) == 1
        with app.db.session() as session:
            claims = session.exec(
                select(OutboxMessage.status).where(OutboxMessage.kind == "certificate")
            ).all()
        assert claims == ["sending", "sending"]
        now.advance(timedelta(minutes=11))  # the claims go stale; another replica's run
        app.services.delivery.flush(owner="replica-2", budget_seconds=10)
    _shared_once_each(app)  # two files for two people, not four (nor three)


# The digest ---------------------------------------------------------------------------------


def test_digest_counts_match_the_stored_data_and_it_is_posted_once_per_month(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, mentee_consent=False)
    feb = datetime(2027, 2, 14, 12, tzinfo=UTC)
    _met(app, world, "2027-01")
    _met(app, world, "2027-02")
    _goal(app, world, "Old goal", at=datetime(2027, 1, 20, tzinfo=UTC))  # January: not counted
    _goal(app, world, "Feb goal A", at=feb)
    _goal(app, world, "Feb goal B", at=feb)
    _goal(app, world, "Open goal", at=feb, done=False)
    scheduled(app, run_milestones, feb)  # first meeting, two goals... plus the old one
    command_reply(app, ADMIN, "shoutout <@UMENTOR1> For the AI workshop")
    with app.db.session() as session:  # stored in February (the command ran "now")
        for row in session.exec(select(ShoutOut)).all():
            row.created_at = feb
            session.add(row)
    before = len(channel_posts(app.fake))
    report = scheduled(app, run_digest, datetime(2027, 3, 2, 9, tzinfo=UTC))
    assert report.queued == 1
    posts = eventually(lambda: len(channel_posts(app.fake)) > before and channel_posts(app.fake))
    digest = posts[-1]
    text = FakeSlack.message_text(digest)
    assert "*Meetings held*\n1" in text  # the pair met in February's check-in
    assert "*Goals achieved*\n2" in text
    assert "*Milestones*\n4" in text  # the first meeting and three goals, all in February
    assert "*Shout-outs*\n1" in text
    assert "For the AI workshop" in text
    assert "held their first meeting" not in text  # the mentee did not consent to be named
    assert "/mentoring join" in str(digest["blocks"])
    again = scheduled(app, run_digest, datetime(2027, 3, 20, tzinfo=UTC))
    assert again.queued == 0 and again.skipped == 1
    assert len(channel_posts(app.fake)) == len(posts)


def test_a_story_is_shared_after_the_partner_agrees_and_an_admin_approves(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app)
    view = open_modal(app, "UMENTOR1", "story")
    empty = app.slack.view_submission("UMENTOR1", view, {"story": {"story": {"value": " "}}})
    assert "errors" in empty.json()
    story_text = "We built a <prompt> library together"
    ok = app.slack.view_submission("UMENTOR1", view, {"story": {"story": {"value": story_text}}})
    assert ok.status == 200
    ask = eventually(
        lambda: [m for m in app.fake.posted_messages("DUMENTEE1") if "story_agree" in str(m)]
    )[0]
    with app.db.session() as session:
        story = session.exec(select(SuccessStory)).one()
    assert story.status == "awaiting_partner"
    # Nobody but the partner can agree for them.
    app.slack.block_action("UOTHER01", "story_agree", value=str(story.id), message=ask)
    app.slack.block_action("UMENTEE1", "story_agree", value=str(story.id), message=ask)
    review = eventually(
        lambda: [m for m in app.fake.posted_messages("D" + ADMIN) if "story_approve" in str(m)]
    )[0]
    app.slack.block_action(ADMIN, "story_approve", value=str(story.id), message=review)

    def status() -> str:
        with app.db.session() as session:
            return session.exec(select(SuccessStory)).one().status

    eventually(lambda: status() == "approved")
    scheduled(app, run_digest, datetime(2027, 3, 2, tzinfo=UTC))
    post = eventually(lambda: channel_posts(app.fake))[-1]
    assert "We built a &lt;prompt&gt; library together" in FakeSlack.message_text(post)
    assert status() == "published"
    # March had nothing else to report: no second post, so the story was shared once.
    april = scheduled(app, run_digest, datetime(2027, 4, 2, tzinfo=UTC))
    assert april.queued == 0 and "nothing to report for 2027-03: no digest posted" in april.notes
    assert len(channel_posts(app.fake)) == 1


def test_nobody_consenting_means_private_thanks_and_no_channel_post(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app, mentee_consent=False, bot_in_channel=False)
    reply = command_reply(app, ADMIN, "shoutout <@UMENTEE1> Cảm ơn!")
    assert "<@UMENTEE1> did not agree to public recognition" in reply["text"]
    assert "Posted in" not in reply["text"]
    assert channel_posts(app.fake) == []
    assert "Cảm ơn!" in eventually(lambda: app.fake.dm_texts("UMENTEE1"))[0]
    [row] = shoutouts(app)
    assert row.status == "private" and row.message_ts is None


def test_erasing_a_person_removes_their_pair_story_and_the_name_on_their_certificate(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, completion_cycles=1)
    _met(app, world, "2027-01")
    with app.db.session() as session:
        session.add(
            SuccessStory(
                program_id=world.program_id,
                pair_id=world.pair_id,
                author_id=world.mentor_id,
                text="Our story",
            )
        )
    # Slack refuses the uploads for now: the certificates stay owed (pending) ...
    app.fake.fail_next("files.getUploadURLExternal", status=200, error="internal_error", times=2)
    scheduled(app, run_milestones, datetime(2027, 2, 2, tzinfo=UTC))
    with app.db.session() as session:
        assert {c.status for c in session.exec(select(Certificate)).all()} == {"pending"}
        exported = enrollment.personal_data(session, session.get(Participant, world.mentor_id))
        assert [story["text"] for story in exported["stories"]] == ["Our story"]
        assert exported["certificates"][0]["detail"]["name"] == MENTOR_NAME
        repo.forget_user(session, "UMENTEE1")  # ... when the mentee erases their data
    with app.db.session() as session:
        assert session.exec(select(SuccessStory)).all() == []
        mentee_certificate = session.exec(
            select(Certificate).where(Certificate.participant_id == world.mentee_id)
        ).one()
        assert mentee_certificate.detail == {}
        assert MENTEE_NAME not in str(mentee_certificate.model_dump())


def test_a_shout_out_that_cannot_be_stored_is_taken_back_from_the_channel(
    running_app: RunningApp,
) -> None:
    from tests.test_owed_messages_e2e import outbox_writes_fail

    app = running_app
    make_world(app)
    with outbox_writes_fail(app):
        reply = command_reply(app, ADMIN, "shoutout <@UMENTOR1> Great work")
    # A database that refuses writes is "unavailable", as everywhere else in the app.
    assert reply["text"] == common.unavailable(translator("en"))["text"]
    assert len(channel_posts(app.fake)) == 1  # it was posted ...
    assert app.fake.posted_messages(CHANNEL) == []  # ... and removed again
    assert shoutouts(app) == []
    assert app.fake.dm_texts("UMENTOR1") == []


def test_approving_thanks_for_a_channel_without_the_app_posts_nothing_until_invited(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app, bot_in_channel=False)
    command_reply(app, "UMENTEE1", "thanks <@UMENTOR1> Danke für alles")
    review = eventually(
        lambda: [m for m in app.fake.posted_messages("D" + ADMIN) if "shoutout_approve" in str(m)]
    )[0]
    row = shoutouts(app)[0]
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    told = eventually(lambda: app.fake.ephemeral_messages(ADMIN))
    assert "Invite the app" in told[-1]["text"]
    assert shoutouts(app)[0].status == "proposed"  # waits for approval again
    assert app.fake.dm_texts("UMENTOR1") == [] and channel_posts(app.fake) == []
    app.fake.set_bot_membership(CHANNEL, True)
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    eventually(lambda: shoutouts(app)[0].status == "posted")
    assert len(channel_posts(app.fake)) == 1
    assert "Danke für alles" in eventually(lambda: app.fake.dm_texts("UMENTOR1"))[0]


def test_thanks_for_a_partner_without_consent_is_passed_on_privately(
    running_app: RunningApp,
) -> None:
    app = running_app
    make_world(app, mentee_consent=False)
    command_reply(app, "UMENTOR1", "thanks <@UMENTEE1> Cảm ơn em")
    review = eventually(
        lambda: [m for m in app.fake.posted_messages("D" + ADMIN) if "shoutout_approve" in str(m)]
    )[0]
    row = shoutouts(app)[0]
    app.slack.block_action(ADMIN, "shoutout_approve", value=str(row.id), message=review)
    eventually(lambda: shoutouts(app)[0].status == "private")
    assert channel_posts(app.fake) == []
    vi, de = translator("vi"), translator("de")
    mentee = eventually(lambda: app.fake.dm_texts("UMENTEE1"))
    assert vi("You received a thank-you from the mentoring programme:") in mentee[0]
    author = eventually(lambda: app.fake.dm_texts("UMENTOR1"))
    assert (
        de("Your partner prefers no public recognition, so we passed your thanks on privately.")
        in author[0]
    )


def _story(app: RunningApp, world: World, words: str) -> int:
    """A story both partners agreed to and an admin approved (the flow has its own test)."""
    with app.db.session() as session:
        story = SuccessStory(
            program_id=world.program_id,
            pair_id=world.pair_id,
            author_id=world.mentor_id,
            text=words,
            status="approved",
        )
        session.add(story)
        session.flush()
        return story.id or 0


def _story_state(app: RunningApp, story_id: int) -> tuple[str, str | None] | None:
    with app.db.session() as session:
        story = session.get(SuccessStory, story_id)
        return (story.status, story.published_period) if story else None


def test_a_digest_refused_for_good_leaves_its_story_for_the_next_one(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, bot_in_channel=False)  # nobody invited the app to the channel
    story_id = _story(app, world, "We automated our monthly report")
    scheduled(app, run_digest, datetime(2027, 3, 2, 9, tzinfo=UTC))
    with app.db.session() as session:
        [march] = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()
    assert (march.status, march.last_error) == ("failed", "not_in_channel")
    assert channel_posts(app.fake) == []
    assert _story_state(app, story_id) == ("approved", None)  # not swallowed
    app.fake.set_bot_membership(CHANNEL, True)  # an admin invites the app
    scheduled(app, run_digest, datetime(2027, 4, 5, 9, tzinfo=UTC))
    [april] = channel_posts(app.fake)
    assert "We automated our monthly report" in FakeSlack.message_text(april)
    assert _story_state(app, story_id) == ("published", "2027-03")
    # April had nothing else to tell: no digest in May, and the story is never shared twice.
    may = scheduled(app, run_digest, datetime(2027, 5, 3, 9, tzinfo=UTC))
    assert may.queued == 0 and any("nothing to report" in note for note in may.notes)
    assert len(channel_posts(app.fake)) == 1


def _outbox_text(app: RunningApp) -> str:
    """Every column of every outbox row, as the database stores it."""
    with app.db.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM outbox_message")).all()
    return "\n".join(str(tuple(row)) for row in rows)


def test_erasing_a_person_named_in_a_sent_digest_does_not_post_it_again(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app)
    _met(app, world, "2027-01")
    scheduled(app, run_milestones, datetime(2027, 2, 10, 9, tzinfo=UTC))  # a DM to each
    command_reply(app, ADMIN, "shoutout <@UMENTEE1> For the prompt library")
    _story(app, world, "We built a prompt library")
    scheduled(app, run_digest, datetime(2027, 3, 2, 9, tzinfo=UTC))
    [digest_post] = [p for p in channel_posts(app.fake) if "prompt library" in str(p)][-1:]
    assert "<@UMENTEE1>" in FakeSlack.message_text(digest_post)
    eventually(lambda: "UMENTEE1" in _outbox_text(app))  # the thanks DM's key names them too
    posts = len(channel_posts(app.fake))
    # The mentee leaves and asks for their data to be erased, through Slack.
    view = open_modal(app, "UMENTEE1", "leave")
    from bot.simulated_slack import signed_requests as sr

    left = app.slack.view_submission(
        "UMENTEE1", view, sr.values_from({"erase": sr.checkboxes(["erase"])})
    )
    assert left.status == 200

    def farewell_sent() -> bool:
        with app.db.session() as session:
            row = session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == "farewell")
            ).first()
            return row is not None and row.status == "sent"

    eventually(farewell_sent)
    again = scheduled(app, run_digest, datetime(2027, 3, 20, 9, tzinfo=UTC))
    assert again.queued == 0 and again.skipped == 1
    assert len(channel_posts(app.fake)) == posts  # March's digest is not posted twice
    stored = _outbox_text(app)
    assert "UMENTEE1" not in stored, [r for r in stored.splitlines() if "UMENTEE1" in r]
    with app.db.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    keys = {row.kind: row.dedupe_key for row in rows}
    assert keys["digest"] == f"digest:{world.program_id}:2027-02"  # names nobody: kept
    assert "erased-" in keys["shoutout_thanks"]
    assert all(row.status != "pending" for row in rows)
