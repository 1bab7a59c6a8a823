"""The sandbox in a real browser: headless Chromium (Debian's package) driven by Playwright.

Walks what an adopter would try first: the admin sets up a programme, two people enroll, the
admin matches and approves, and the pair reads its introduction. A second walk steers time (an
hour, a day, a member's working morning, each member's local time beside their name), reads
what a job run queued and when it arrives, and mentions people by typing `@` and a name. The
Home tab has no message box, as in Slack. Screenshots of every step go to tests/artifacts/sandbox/
(git-ignored) so a person can look at them.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest

from bot import clock
from bot.i18n import translator
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID
from tests.test_sandbox import programme_and_pair

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).parent / "artifacts" / "sandbox"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium installed (apt-get install chromium); .ci/run installs it"
)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(
        port=0,
        people=4,
        seed=7,
        database_url=f"sqlite:///{tmp_path}/sandbox.db",
        start_at=START,  # a Monday morning: the walk does not depend on today's date
    )
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def page(sandbox: Sandbox) -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(sandbox.url)
        page.wait_for_selector("#member option", state="attached")
        yield page
        browser.close()


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def _as(page: object, user_id: str) -> None:
    page.select_option("#member", user_id)  # type: ignore[attr-defined]
    page.wait_for_selector(".bk-home, #messages p")  # type: ignore[attr-defined]


def _command(page: object, text: str) -> None:
    """Types a command where Slack has a message box: the Home tab has none, so in the app's
    DM (the Home tab's hint opens it)."""
    if not page.is_visible("#compose"):  # type: ignore[attr-defined]
        page.click("#open-dm")  # type: ignore[attr-defined]
    page.fill("#command", text)  # type: ignore[attr-defined]
    page.press("#command", "Enter")  # type: ignore[attr-defined]


def _submit(page: object) -> None:
    """Submits the modal and waits until it is gone. When saving takes long the app shows the
    outcome in the modal instead (as in Slack): read it, then close it."""
    page.click('.bk-modal [data-kind="submit"]')  # type: ignore[attr-defined]
    try:
        page.wait_for_function(  # type: ignore[attr-defined]
            """() => !document.querySelector('.overlay.open') ||
                     !document.querySelector('.bk-modal .bk-input')""",
            timeout=30_000,
        )
    except playwright_api.TimeoutError:
        _shot(page, "failed-submit")
        notice = page.inner_text("#notice")  # type: ignore[attr-defined]
        modal = page.inner_text(".bk-modal")  # type: ignore[attr-defined]
        pytest.fail(f"the modal stayed open; notice {notice!r}; modal {modal[:800]!r}")
    if page.query_selector(".overlay.open"):  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "() => !/Still saving|Vẫn đang lưu|Wird noch gespeichert/.test("
            "document.querySelector('.bk-modal')?.innerText || '')",
            timeout=30_000,
        )
        page.click('.bk-modal [data-kind="close"]')  # type: ignore[attr-defined]
    page.wait_for_selector(".overlay:not(.open)", state="attached")  # type: ignore[attr-defined]


def _input(page: object, block_id: str) -> str:
    return f'.bk-modal [data-kind="input"][data-block-id="{block_id}"]'


def test_set_up_enroll_match_and_read_the_intro(sandbox: Sandbox, page: object) -> None:
    p = page  # the Playwright page
    assert "Simulated workspace" in p.inner_text(".banner")  # type: ignore[attr-defined]
    people = [person for person in sandbox.people if not person.is_admin]
    mentee, mentor = people[0], people[1]

    _as(p, ADMIN_ID)
    # Slack has no message box on the App Home tab: the page shows none, and says where to type.
    assert not p.is_visible("#compose")  # type: ignore[attr-defined]
    assert "no message box" in p.inner_text("#home-hint")  # type: ignore[attr-defined]
    _shot(p, "00-home-without-composer")
    p.click("#open-dm")  # type: ignore[attr-defined]
    assert p.is_visible("#compose")  # type: ignore[attr-defined]
    assert p.evaluate("document.activeElement.id") == "command"  # type: ignore[attr-defined]
    assert p.inner_text("#pane-title") == "Reverse Mentoring"  # type: ignore[attr-defined]
    _command(p, "/mentoring program")
    p.wait_for_selector(".bk-modal")  # type: ignore[attr-defined]
    p.fill(_input(p, "name"), "Digital Leaders 2027")  # type: ignore[attr-defined]
    p.fill(_input(p, "offices"), "Berlin\nHanoi\nNew York")  # type: ignore[attr-defined]
    p.select_option(_input(p, "community_channel"), "C0MENTORING")  # type: ignore[attr-defined]
    p.wait_for_timeout(2500)  # type: ignore[attr-defined]  # the page refreshes every 2 s ...
    assert p.input_value(_input(p, "name")) == "Digital Leaders 2027"  # type: ignore[attr-defined]
    # An end before the start: the app's inline error shows, and what was typed stays.
    p.fill(_input(p, "end_date"), "2026-12-01")  # type: ignore[attr-defined]
    p.click('.bk-modal [data-kind="submit"]')  # type: ignore[attr-defined]
    p.wait_for_selector(".bk-modal .bk-error:not(.bk-required)")  # type: ignore[attr-defined]
    assert p.input_value(_input(p, "name")) == "Digital Leaders 2027"  # type: ignore[attr-defined]
    assert p.input_value(_input(p, "community_channel")) == "C0MENTORING"  # type: ignore[attr-defined]
    assert p.input_value(_input(p, "end_date")) == "2026-12-01"  # type: ignore[attr-defined]
    p.fill(_input(p, "end_date"), "2027-07-01")  # type: ignore[attr-defined]
    _shot(p, "01-program-modal")
    _submit(p)

    for person, role, field in (
        (mentee, "mentee", "topics_wanted"),
        (mentor, "mentor", "topics_offered"),
    ):
        _as(p, person.user_id)
        _command(p, "/mentoring join")
        p.wait_for_selector(".bk-modal")  # type: ignore[attr-defined]
        p.check(f'{_input(p, "role")} input[value="{role}"]')  # type: ignore[attr-defined]
        p.select_option(_input(p, "seniority"), index=1)  # type: ignore[attr-defined]
        first_topic = p.eval_on_selector(  # type: ignore[attr-defined]
            _input(p, field), "el => [...el.options].find(o => o.value).value"
        )
        p.select_option(_input(p, field), [first_topic])  # type: ignore[attr-defined]
        # Where they work, and English besides their Slack language (German, Vietnamese).
        p.select_option(_input(p, "office"), person.office.city)  # type: ignore[attr-defined]
        p.select_option(_input(p, "languages"), ["en"])  # type: ignore[attr-defined]
        _shot(p, f"02-join-{role}")
        _submit(p)
        p.click('[data-conversation^="D"]')  # type: ignore[attr-defined]
        p.wait_for_selector(".msg")  # type: ignore[attr-defined]
        assert p.locator(".msg").count() >= 2  # type: ignore[attr-defined]  # welcome + training
        _shot(p, f"03-dm-{role}")

    _as(p, ADMIN_ID)
    _command(p, "/mentoring match")
    p.wait_for_selector('.bk-modal [data-kind="submit"]')  # type: ignore[attr-defined]
    # The review says where each works, their common language and hours, and flags the risk:
    # English is the first language of neither (Hanoi and Berlin). The admin reads German.
    review = p.inner_text(".bk-modal")  # type: ignore[attr-defined]
    assert "Hanoi ↔ Berlin" in review and "🗣 English" in review, review[:800]
    assert "⚠️" in review, review[:800]
    _shot(p, "04-review")
    p.click('.bk-modal [data-kind="submit"]')  # type: ignore[attr-defined]

    _as(p, mentee.user_id)
    group = p.locator('[data-conversation^="G"]')  # type: ignore[attr-defined]
    group.first.wait_for()
    group.first.click()
    p.wait_for_selector(".msg")  # type: ignore[attr-defined]
    text = p.inner_text("#messages")  # type: ignore[attr-defined]
    assert mentor.name in text or "@" + mentor.name in text
    _shot(p, "05-intro")

    # A month later the admin runs the check-in job; the mentee answers "Yes, we met".
    _as(p, ADMIN_ID)
    if p.query_selector(".overlay.open"):  # type: ignore[attr-defined]  # "pairs approved"
        p.click('.bk-modal [data-kind="close"]')  # type: ignore[attr-defined]
    p.click('[data-clock="month"]')  # type: ignore[attr-defined]
    p.select_option("#job", "checkin")  # type: ignore[attr-defined]
    p.click("#run-job")  # type: ignore[attr-defined]
    p.wait_for_selector("#report:has-text('Job checkin ran')")  # type: ignore[attr-defined]
    _as(p, mentee.user_id)
    p.click('[data-conversation^="D"]')  # type: ignore[attr-defined]
    p.click('[data-action-id="journey_met"]')  # type: ignore[attr-defined]
    p.wait_for_selector(".bk-modal")  # type: ignore[attr-defined]
    p.select_option(_input(p, "duration"), "60")  # type: ignore[attr-defined]
    p.select_option(_input(p, "rating"), "5")  # type: ignore[attr-defined]
    _shot(p, "06-log-meeting")
    _submit(p)
    logged = translator(mentee.office.locale)(
        "Thanks! Your meeting is logged. Answer again any time to update it."
    )
    p.wait_for_selector(f"#messages :text('{logged[:20]}')")  # type: ignore[attr-defined]
    _shot(p, "07-meeting-logged")


def _option_label(page: object, select: str, user_id: str) -> str:
    return str(
        page.eval_on_selector(  # type: ignore[attr-defined]
            f'{select} option[value="{user_id}"]', "o => o.textContent"
        )
    )


def test_time_job_summary_local_times_and_mentions(sandbox: Sandbox, page: object) -> None:
    p = page
    berliner = next(x for x in sandbox.people if x.office.city == "Berlin" and not x.is_admin)
    new_yorker = next(x for x in sandbox.people if x.office.city == "New York")
    programme_and_pair(sandbox, berliner, new_yorker)  # through Slack's client, as the demo

    # Monday 09:00 UTC: each member's local time beside their name; New York is asleep.
    _as(p, new_yorker.user_id)
    p.wait_for_function(  # type: ignore[attr-defined]
        f"""() => document.querySelector('#member option[value="{new_yorker.user_id}"]')
                  .textContent.includes('Mon 04:00')"""
    )
    assert _option_label(p, "#member", new_yorker.user_id).endswith("Mon 04:00 ☾")
    assert _option_label(p, "#member", berliner.user_id).endswith("Mon 10:00")
    assert "Mon 04:00 in New York" in p.inner_text("#my-time")  # type: ignore[attr-defined]
    _as(p, ADMIN_ID)
    # Whose morning to jump to: the member just shown.
    assert p.input_value("#morning-of") == new_yorker.user_id  # type: ignore[attr-defined]
    if p.query_selector(".overlay.open"):  # type: ignore[attr-defined]  # "matches approved"
        p.click('.bk-modal [data-kind="close"]')  # type: ignore[attr-defined]

    # +1 hour and +1 day move the clock; the summary says nothing was waiting.
    p.click('[data-clock="hour"]')  # type: ignore[attr-defined]
    p.wait_for_selector("#clock:has-text('2027-01-04 10:00')")  # type: ignore[attr-defined]
    p.click('[data-clock="day"]')  # type: ignore[attr-defined]
    p.wait_for_selector("#clock:has-text('2027-01-05 10:00')")  # type: ignore[attr-defined]
    assert "Nothing was waiting" in p.inner_text("#report")  # type: ignore[attr-defined]
    p.click('[data-clock="month"]')  # type: ignore[attr-defined]
    p.wait_for_selector("#clock:has-text('2027-02-04 10:00')")  # type: ignore[attr-defined]

    # The check-in job: Berlin's arrives now, New York's waits for its working morning.
    p.select_option("#job", "checkin")  # type: ignore[attr-defined]
    p.click("#run-job")  # type: ignore[attr-defined]
    p.wait_for_selector("#report:has-text('Job checkin ran')")  # type: ignore[attr-defined]
    report = p.inner_text("#report")  # type: ignore[attr-defined]
    assert "2 messages: 1 sent, 1 waiting" in report
    assert f"{berliner.name}\tcheckin\tsent arrived Thu 4 Feb 11:00 their time (Berlin)" in report
    assert (
        f"{new_yorker.name}\tcheckin\twaiting arrives Thu 4 Feb 09:00 their time (New York), in 4 h"
    ) in report
    assert "U0" not in report  # names, not ids
    assert "error" not in (p.get_attribute("#notice", "class") or "")  # type: ignore[attr-defined]
    _shot(p, "08-job-summary")

    # Jump to New York's working morning: the waiting check-in arrives.
    p.click("#jump-morning")  # type: ignore[attr-defined]
    p.wait_for_selector("#report:has-text('next working morning')")  # type: ignore[attr-defined]
    assert "1 message: 1 sent, 0 waiting" in p.inner_text("#report")  # type: ignore[attr-defined]
    assert "2027-02-04 14:00" in p.inner_text("#clock")  # type: ignore[attr-defined]
    _shot(p, "09-working-morning")
    _as(p, new_yorker.user_id)
    assert _option_label(p, "#member", new_yorker.user_id).endswith("Thu 09:00")
    p.click('[data-conversation^="D"]')  # type: ignore[attr-defined]
    p.wait_for_selector('[data-action-id="journey_met"]')  # type: ignore[attr-defined]
    _shot(p, "10-checkin-in-new-york")

    # A shout-out typed as people type it: "@" and the start of a name, picked from the list.
    _as(p, ADMIN_ID)
    p.click("#open-dm")  # type: ignore[attr-defined]
    p.click("#command")  # type: ignore[attr-defined]
    p.keyboard.type("/mentoring shoutout @" + new_yorker.name[:3])  # type: ignore[attr-defined]
    p.wait_for_selector("#mentions li")  # type: ignore[attr-defined]
    assert new_yorker.name in p.inner_text("#mentions")  # type: ignore[attr-defined]
    _shot(p, "11-mention-suggestions")
    p.keyboard.press("Enter")  # type: ignore[attr-defined]  # picks, does not send
    assert p.input_value("#command") == f"/mentoring shoutout @{new_yorker.name} "  # type: ignore[attr-defined]
    # A name typed in full, without picking, is a mention too.
    p.keyboard.type(f"@{berliner.name} great prompt library!")  # type: ignore[attr-defined]
    assert p.is_hidden("#mentions")  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    p.click('[data-conversation="C0MENTORING"]')  # type: ignore[attr-defined]
    p.wait_for_selector("#messages .bk-mention")  # type: ignore[attr-defined]
    channel = p.inner_text("#messages")  # type: ignore[attr-defined]
    assert f"@{new_yorker.name}" in channel and f"@{berliner.name}" in channel
    assert "great prompt library!" in channel
    _shot(p, "12-shout-out-with-mentions")


@pytest.fixture
def other_site() -> Iterator[str]:
    """Another web page the person has open (its own origin on loopback)."""

    def app(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<!doctype html><title>another site</title>"]

    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_another_sites_page_cannot_drive_the_sandbox(
    sandbox: Sandbox, page: object, other_site: str
) -> None:
    """A page elsewhere sends the request a form would (no-cors, text/plain): refused."""
    before = clock.utcnow()
    page.goto(other_site)  # type: ignore[attr-defined]
    sent = page.evaluate(  # type: ignore[attr-defined]
        """async ([url, user]) => {
             await fetch(url + "api/clock", {method: "POST", mode: "no-cors",
               headers: {"Content-Type": "text/plain"},
               body: JSON.stringify({user, step: "month"})});
             return true;
           }""",
        [sandbox.url, ADMIN_ID],
    )
    assert sent is True
    assert clock.utcnow() - before < timedelta(days=1)
    # The sandbox's own page still moves the clock.
    page.goto(sandbox.url)  # type: ignore[attr-defined]
    page.wait_for_selector("#member option", state="attached")  # type: ignore[attr-defined]
    _as(page, ADMIN_ID)
    page.click('[data-clock="month"]')  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => !document.querySelector('#clock').textContent.includes('{START.date()}')"
    )
    assert clock.utcnow() - before >= timedelta(days=28)


@pytest.fixture
def example_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """`reverse-mentoring sandbox --example`, its clock a month into the programmes."""
    box = Sandbox(
        port=0,
        database_url=f"sqlite:///{tmp_path}/sandbox.db",
        start_at=datetime(2027, 2, 10, 9, 0, tzinfo=UTC),  # a Wednesday morning
        example=True,
    )
    box.start()
    try:
        yield box
    finally:
        box.stop()


def _programme_ids(box: Sandbox) -> dict[str, int]:
    from sqlmodel import select

    from storage.models import Program

    with box.runtime.services.db.session() as session:
        return {p.name: p.id or 0 for p in session.exec(select(Program))}


def test_the_example_workspace_in_german_and_vietnamese(example_sandbox: Sandbox) -> None:
    """The example's people: a Berlin leader and a Hanoi leader see their Home in their own
    language, a month into their programme; each owner sees their programme's admin view."""
    from bot.sandbox import example

    box = example_sandbox
    ids = _programme_ids(box)
    dach, vietnam = ids["DACH 2027"], ids["Việt Nam 2027"]
    de, vi = translator("de"), translator("vi")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        p: Any = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        p.goto(box.url)
        p.wait_for_selector("#member option", state="attached")
        names = p.eval_on_selector_all("#member option", "os => os.map(o => o.value)")
        assert {"UBE0CFO03", "UHN0SAL04", "UBE0HR002", "UHN0HR002"} <= set(names)
        _as(p, ADMIN_ID)
        p.wait_for_selector("#clock:has-text('2027-02-10 09:00')")  # a month in

        # A DACH leader: Home in German, their partner, their programme only.
        _as(p, "UBE0CFO03")
        p.wait_for_selector(f'[data-block-id="participant_actions_{dach}"]')
        home = p.inner_text("#messages")
        assert de("Your partner") in home and "DACH 2027" in home, home[:600]
        assert "Việt Nam 2027" not in home
        _shot(p, "20-example-dach-leader-home")
        # The pair's group DM: the introduction and the goals, in German.
        p.locator('[data-conversation^="G"]').first.click()
        p.wait_for_selector(".msg")
        _shot(p, "21-example-dach-pair")

        # A Hanoi leader: Home in Vietnamese.
        _as(p, "UHN0SAL04")
        p.wait_for_selector(f'[data-block-id="participant_actions_{vietnam}"]')
        home = p.inner_text("#messages")
        assert vi("Your partner") in home and "Việt Nam 2027" in home, home[:600]
        assert "DACH 2027" not in home
        _shot(p, "22-example-hanoi-leader-home")

        # The DACH owner (Berlin HR): the enrollment overview of DACH, not of Việt Nam.
        _as(p, example.OWNERS[example.DACH])
        p.wait_for_selector(f'[data-block-id="admin_actions_{dach}"]')
        assert p.locator(f'[data-block-id="admin_actions_{vietnam}"]').count() == 0
        home = p.inner_text("#messages")
        assert de("You run this programme: enrollment overview") in home, home[:600]
        _shot(p, "23-example-dach-owner-home")
        p.locator("#messages [data-surface='home']").evaluate("el => el.scrollIntoView(false)")
        p.mouse.wheel(0, 900)
        _shot(p, "24-example-dach-owner-overview")

        # The Việt Nam owner (Hanoi HR): hers, in Vietnamese.
        _as(p, example.OWNERS[example.VIETNAM])
        p.wait_for_selector(f'[data-block-id="admin_actions_{vietnam}"]')
        assert p.locator(f'[data-block-id="admin_actions_{dach}"]').count() == 0
        assert vi("You run this programme: enrollment overview") in p.inner_text("#messages")
        _shot(p, "25-example-vietnam-owner-home")

        # The DACH community channel: the owner's shout-out, in German.
        _as(p, example.OWNERS[example.DACH])
        p.click(f'[data-conversation="{example.DACH_CHANNEL[0]}"]')
        p.wait_for_selector("#messages .msg")
        assert "Social-Media-Leitfaden" in p.inner_text("#messages")
        _shot(p, "26-example-dach-channel")
        # Hanoi's people are in their programme's channel, not in DACH's.
        _as(p, example.OWNERS[example.VIETNAM])
        assert p.locator(f'[data-conversation="{example.DACH_CHANNEL[0]}"]').count() == 0
        p.click(f'[data-conversation="{example.VIETNAM_CHANNEL[0]}"]')
        p.wait_for_selector("#messages .msg")
        assert "Bảng điều khiển AI" in p.inner_text("#messages")
        _shot(p, "27-example-vietnam-channel")
        browser.close()
