"""The admin report: text (every figure, for screen readers too), charts, App Home part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

from bot.domain import pulse
from bot.domain.report import Report
from bot.i18n import N_, Translator
from bot.views import campaigns as campaign_views
from bot.views import charts, kit
from bot.views.labels import ROLE, STATUS, label, program_goals, program_name, topic_name

REPORT_ACTION = "home_report"
EXPORT_ACTION = "home_export"
CLOSE_ROUND_ACTION = "pulse_close_round"
MAX_TOPICS = 12
MAX_TEXTS = 10
MEETING_RATE_RULE = N_(
    "Meeting rate: pairs that met ÷ pairs asked in the cycle; a pair that did not answer "
    "counts as not met."
)
COMPLETION_RULE = N_(
    "Completion rule: a pair completes the programme once it has met in {n} check-in cycles; "
    "certificates follow this rule."
)


def number_text(value: float | None, _: Translator, digits: int = 1) -> str:
    """A figure in the reader's locale (5.0 / 5,0), or a dash when there is none."""
    return "—" if value is None else _.decimal(value, digits)


def percent_text(value: float | None, _: Translator) -> str:
    return "—" if value is None else _.percent(value)


def nps_text(value: float | None, _: Translator) -> str:
    return "—" if value is None else _.signed(value)


def meeting_series(report: Report) -> list[tuple[str, float | None]]:
    return [
        (c.period, None if c.meeting_rate is None else round(c.meeting_rate)) for c in report.cycles
    ]


def survey_series(report: Report, key: str) -> list[tuple[str, float | None]]:
    """Per closed, visible survey round: NPS (rounded) or the average of `key` (1 decimal)."""
    out: list[tuple[str, float | None]] = []
    for result in report.surveys:
        if result.overall is None:
            continue
        if key == "nps":
            value = None if result.overall.nps is None else round(result.overall.nps)
        else:
            average = result.overall.averages.get(key)
            value = None if average is None else round(average, 1)
        out.append((result.round.period, value))
    return out


def topic_rows(report: Report, _: Translator) -> list[tuple[str, int, int]]:
    return [
        (topic_name(report.program, {"id": t.topic_id, "label": t.label}, _), t.supply, t.demand)
        for t in report.topics[:MAX_TOPICS]
    ]


def _group_line(name: str, group: pulse.GroupResult | None, _: Translator) -> str:
    if group is None:
        return _("{group}: hidden (protects a small group)", group=name)
    parts = [f"n={_.number(group.respondents)}"]
    for key, title in (("value", _("value")), ("pairing", _("pairing"))):
        if key in group.averages:
            parts.append(f"{title} {number_text(group.averages[key], _)}")
    if group.nps is not None:
        parts.append(f"NPS {nps_text(group.nps, _)}")
    if "again" in group.averages:
        parts.append(_("would join again: {share}", share=_.percent(100 * group.averages["again"])))
    if "match" in group.distribution:
        counts = group.distribution["match"]
        parts.append(
            _(
                "yes {yes}, not sure {unsure}, help {help}",
                yes=counts.get(pulse.MATCH_YES, 0),
                unsure=counts.get(pulse.MATCH_NOT_SURE, 0),
                help=counts.get(pulse.MATCH_HELP, 0),
            )
        )
    return f"{name}: " + " · ".join(parts)


def shown_rounds(results: list[pulse.RoundResult]) -> list[pulse.RoundResult]:
    """The rounds worth a line: a round nobody was invited to says nothing ("0 of 0")."""
    return [result for result in results if result.round.invited > 0]


def _round_lines(result: pulse.RoundResult, _: Translator) -> list[str]:
    r = result.round
    kind = {
        "pulse": _("Pulse"),
        "final": _("End-of-programme survey"),
        "match_check": _("Match check"),
    }[r.kind]
    head = f"*{kind} {_.period(r.period)}*: " + _(
        "{answered} of {invited} answered",
        answered=_.number(result.answered),
        invited=_.number(r.invited),
    )
    if r.status == "open":
        return [head + " — " + _("open; results appear after it closes")]
    if result.overall is None:
        return [
            head + " — " + _("fewer than {n} answers: results hidden", n=_.number(result.threshold))
        ]
    lines = [head, "• " + _group_line(_("Everyone"), result.overall, _)]
    for role, group in result.by_role.items():
        lines.append("• " + _group_line(label(ROLE, role, _), group, _))
    for department, group in result.by_department.items():
        lines.append("• " + _group_line(kit.escape(department or "—"), group, _))
    for question, texts in result.texts.items():
        for text in texts[:MAX_TEXTS]:
            lines.append("> " + kit.escape(kit.clip(" ".join(text.split()), 300)))
        del question
    return lines


def report_sections(report: Report, _: Translator) -> list[tuple[str, list[str]]]:
    """(title, lines) per part of the report: the text every chart's numbers also appear in."""
    people = [
        f"{label(ROLE, role, _)} / {label(STATUS, status, _)}: {_.number(count)}"
        for (role, status), count in sorted(report.by_role_status.items())
    ]
    pairs = [
        _("Active: {n}", n=_.number(report.pairs["active"])),
        _(
            "At risk (no meeting for 45 days, or a request open): {n}",
            n=_.number(report.pairs["at_risk"]),
        ),
        _("Ended: {n}", n=_.number(report.pairs["ended"])),
        _("Proposed, awaiting approval: {n}", n=_.number(report.pairs["proposed"])),
    ]
    meetings = [
        _(
            "{period}: {rate} met ({met} of {asked} pairs asked; {silent} did not answer), "
            "rating {rating}",
            period=_.period(c.period),
            rate=percent_text(c.meeting_rate, _),
            met=_.number(c.pairs_met),
            asked=_.number(c.pairs_asked),
            silent=_.number(c.pairs_silent),
            rating=number_text(c.average_rating, _),
        )
        for c in report.cycles
    ]
    if meetings:
        meetings.insert(0, _(MEETING_RATE_RULE))
    completion = report.completion
    goals = [
        _("Average session rating: {rating}", rating=number_text(report.average_rating, _)),
        _(
            "Pair goals: {done} done, {open} open, {dropped} dropped; average progress {p}",
            done=_.number(report.goals.get("done", 0)),
            open=_.number(report.goals.get("open", 0)),
            dropped=_.number(report.goals.get("dropped", 0)),
            p=percent_text(report.goal_progress, _),
        ),
        _(COMPLETION_RULE, n=completion.cycles),
        _(
            "Completed: {reached} of {total} pairs",
            reached=_.number(completion.reached),
            total=_.number(completion.pairs),
        ),
    ]
    goals += [
        _("Programme goal: {goal}", goal=kit.escape(goal))
        for goal in program_goals(report.program, _)
    ]
    surveys = [line for result in shown_rounds(report.surveys) for line in _round_lines(result, _)]
    checks = [
        line for result in shown_rounds(report.match_checks) for line in _round_lines(result, _)
    ]
    topics = [
        _(
            "{topic}: {supply} offer, {demand} want",
            topic=kit.escape(name),
            supply=_.number(s),
            demand=_.number(d),
        )
        for name, s, d in topic_rows(report, _)
    ]
    none = [_("No data yet.")]
    return [
        (_("Participants by role and status"), people or none),
        (_("Pairs"), pairs),
        (_("Meeting rate per check-in cycle"), meetings or none),
        (_("Ratings and goals"), goals),
        (_("Pulse surveys (anonymous)"), surveys or none),
        (_("Match checks (anonymous)"), checks or none),
        (_("Topic demand vs supply"), topics or none),
    ]


def report_message(report: Report, _: Translator) -> dict[str, Any]:
    title = _("Programme report: {name}", name=program_name(report.program, _))
    blocks: list[Any] = [kit.header(title)]
    blocks.append(
        kit.context(
            _(
                "Survey results show only closed rounds and groups of at least {n} people.",
                n=_.number(report.threshold),
            )
        )
    )
    for heading, lines in report_sections(report, _):
        text = "*" + heading + "*\n" + "\n".join(lines)
        blocks.append(kit.section(kit.clip(text, kit.SECTION_TEXT_LIMIT)))
    blocks.extend(campaign_views.funnel_blocks(report.campaigns, _))
    open_rounds = [
        r.round
        for r in shown_rounds(report.surveys + report.match_checks)
        if r.round.status == "open"
    ]
    buttons = [
        kit.button(
            _("Close survey {period} now", period=_.period(r.period)), CLOSE_ROUND_ACTION, str(r.id)
        )
        for r in open_rounds[-5:]
    ]
    if buttons:
        blocks.append(kit.actions(*buttons, block_id="close_rounds"))
    return kit.message(title, blocks)


@dataclass(frozen=True)
class Chart:
    """One chart of the report: its file name, title, figure and the figures it shows."""

    name: str
    title: str
    figure: Figure
    data: object

    def png(self) -> bytes:
        return charts.png(self.figure, self.data, self.title)


def _line(name: str, title: str, series: dict[str, Any], y_label: str, scale: Any) -> Chart:
    data = {key: [[label, value] for label, value in points] for key, points in series.items()}
    return Chart(name, title, charts.line_figure(title, series, y_label, scale), data)


def report_figures(report: Report, _: Translator) -> list[Chart]:
    """Each chart that has data, as a figure (its axes readable before it is rendered)."""
    out = []

    def localised(series: list[tuple[str, float | None]]) -> list[tuple[str, float | None]]:
        # Periods as the reader writes them ("März 2027"), as the text names them.
        return [(_.period(period), value) for period, value in series]

    meetings = localised(meeting_series(report))
    if meetings:
        title = _("Meeting rate per cycle (%)")
        out.append(
            _line(
                "meeting-rate.png",
                title,
                {"%": meetings},
                "%",
                charts.in_locale(charts.PERCENT, _.locale),
            )
        )
    nps = localised(survey_series(report, "nps"))
    if nps:
        title = _("Pulse trend: NPS")
        out.append(
            _line(
                "pulse-nps.png", title, {"NPS": nps}, "NPS", charts.in_locale(charts.NPS, _.locale)
            )
        )
    value = localised(survey_series(report, "value"))
    if value:
        title = _("Pulse trend: value of sessions (1–5)")
        out.append(
            _line(
                "pulse-value.png",
                title,
                {"1–5": value},
                "1–5",
                charts.in_locale(charts.RATING, _.locale),
            )
        )
    topics = topic_rows(report, _)
    if topics:
        title = _("Topic supply and demand")
        names = (_("offer"), _("want"))
        figure = charts.bar_figure(title, topics, names)
        out.append(Chart("topics.png", title, figure, [list(row) for row in topics]))
    return out


def report_charts(report: Report, _: Translator) -> list[tuple[str, str, bytes]]:
    """(file name, title, PNG) for each chart that has data."""
    return [(chart.name, chart.title, chart.png()) for chart in report_figures(report, _)]


def home_blocks(
    report: Report | None, _: Translator, *, primary: bool = False, program_id: int | None = None
) -> list[Any]:
    """The admin part of App Home: the headline figures and the report and export buttons
    (`primary`: the full report is the admin's next step), for the programme `program_id`."""
    blocks: list[Any] = [kit.context(_("Admin: programme report"))]
    if report is not None:
        latest = next((r for r in reversed(report.surveys) if r.overall is not None), None)
        lines = [
            _(
                "Pairs active: {active}, at risk: {risk}, ended: {ended}",
                active=_.number(report.pairs["active"]),
                risk=_.number(report.pairs["at_risk"]),
                ended=_.number(report.pairs["ended"]),
            ),
            _("Average session rating: {rating}", rating=number_text(report.average_rating, _)),
        ]
        if latest is not None and latest.overall is not None:
            lines.append(
                _(
                    "Latest pulse ({period}): NPS {nps}",
                    period=_.period(latest.round.period),
                    nps=nps_text(latest.overall.nps, _),
                )
            )
        blocks.append(kit.section("\n".join(lines)))
    blocks.append(
        kit.actions(
            kit.button(
                _("Full report"),
                REPORT_ACTION,
                str(program_id or ""),
                style="primary" if primary else None,
            ),
            kit.button(_("Export data (CSV)"), EXPORT_ACTION, str(program_id or "")),
            block_id=f"report_actions_{program_id or 0}",
        )
    )
    return blocks
