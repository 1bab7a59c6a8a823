"""The cross-programme report (super-admins): each figure with every programme side by side,
the pooled pulse figure and its rule, comparison charts (grouped bars per programme) and the
comparison as CSV and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.domain.comparison import Comparison, ProgrammeFigures, comparison_rows
from bot.domain.export import csv_bytes
from bot.i18n import N_, Translator
from bot.views import charts, kit
from bot.views.labels import program_name
from bot.views.report import Chart, nps_text, number_text, percent_text

CROSS_REPORT_ACTION = "home_cross_report"
ALL = "all"  # `/mentoring report all`
POOLED_RULE = N_(
    "Pooled pulse figures count only the programmes whose own figure is shown (each programme "
    "keeps its own anonymity threshold); a programme with a hidden figure is left out of them."
)


def names(comparison: Comparison, _: Translator) -> list[str]:
    return [program_name(f.program, _) for f in comparison.programmes]


def _pulse_cell(f: ProgrammeFigures, _: Translator) -> str:
    if f.pulse is None:
        return "—"
    if not f.pulse.shown:
        return _("hidden (fewer than {n} answers)", n=_.number(f.pulse.threshold))
    return _(
        "NPS {nps}, value {value} (n={n}, {period})",
        nps=nps_text(f.pulse.nps, _),
        value=number_text(f.pulse.value, _),
        n=_.number(f.pulse.respondents or 0),
        period=_.period(f.pulse.period),
    )


def figure_lines(comparison: Comparison, _: Translator) -> list[tuple[str, list[str]]]:
    """(figure, one "programme: value" per programme, the total last where it adds up)."""
    labels = [kit.escape(name) for name in names(comparison, _)]

    def row(cell: Callable[[ProgrammeFigures], str], total: str | None = None) -> list[str]:
        cells = [
            f"{name}: {cell(f)}" for name, f in zip(labels, comparison.programmes, strict=True)
        ]
        return cells + ([_("All programmes: {value}", value=total)] if total is not None else [])

    def count(name: str) -> list[str]:
        return row(lambda f: _.number(int(getattr(f, name))), _.number(comparison.total(name)))

    def cycle(f: ProgrammeFigures, rate: float | None) -> str:
        if f.period is None:
            return "—"
        return f"{percent_text(rate, _)} ({_.period(f.period)})"

    pooled = comparison.pooled
    if pooled is None:
        pooled_text = _("no programme's pulse figure is shown yet")
    else:
        pooled_text = _(
            "NPS {nps}, value {value} (n={n}; programmes counted: {count})",
            nps=nps_text(pooled.nps, _),
            value=number_text(pooled.value, _),
            n=_.number(pooled.respondents),
            count=_.number(len(pooled.included)),
        )
        left_out = [
            kit.escape(program_name(f.program, _))
            for f in comparison.programmes
            if (f.program.id or 0) in pooled.left_out
        ]
        if left_out:
            pooled_text += "; " + _("left out: {names}", names=", ".join(left_out))
    return [
        (_("Mentors (active)"), count("mentors")),
        (_("Mentees (active)"), count("mentees")),
        (_("Waiting list"), count("waiting")),
        (_("Pairs active"), count("pairs_active")),
        (_("Pairs at risk"), count("pairs_at_risk")),
        (_("Pairs ended"), count("pairs_ended")),
        (
            _("Met in the latest check-in cycle"),
            row(lambda f: cycle(f, f.meeting_rate)),
        ),
        (
            _("Check-in answer rate in the latest cycle"),
            row(lambda f: cycle(f, f.answer_rate)),
        ),
        (
            _("Goals done"),
            row(
                lambda f: _(
                    "{done} of {total}, average progress {p}",
                    done=_.number(f.goals_done),
                    total=_.number(f.goals_total),
                    p=percent_text(f.goal_progress, _),
                ),
                _.number(comparison.total("goals_done")),
            ),
        ),
        (
            _("Pairs that completed"),
            row(
                lambda f: _(
                    "{reached} of {total}",
                    reached=_.number(f.completed),
                    total=_.number(f.completion_pairs),
                ),
                _.number(comparison.total("completed")),
            ),
        ),
        (
            _("Latest pulse survey (anonymous)"),
            row(lambda f: _pulse_cell(f, _), pooled_text),
        ),
    ]


def comparison_message(comparison: Comparison, _: Translator) -> dict[str, Any]:
    title = _("Report across programmes")
    blocks: list[Any] = [kit.header(title)]
    if not comparison.programmes:
        return kit.message(title, [*blocks, kit.section(_("There is no programme yet."))])
    blocks.append(kit.context(_(POOLED_RULE)))
    for heading, lines in figure_lines(comparison, _):
        text = "*" + heading + "*\n" + "\n".join(lines)
        blocks.append(kit.section(kit.clip(text, kit.SECTION_TEXT_LIMIT)))
    return kit.message(title, blocks)


def comparison_figures(comparison: Comparison, _: Translator) -> list[Chart]:
    """Grouped bars per programme: pairs, the latest cycle's rates, the latest pulse NPS
    (a hidden programme gets no bar, and the pooled figure its own group)."""
    if not comparison.programmes:
        return []
    groups = names(comparison, _)
    out = []
    pairs = {
        _("active"): [f.pairs_active for f in comparison.programmes],
        _("at risk"): [f.pairs_at_risk for f in comparison.programmes],
        _("ended"): [f.pairs_ended for f in comparison.programmes],
    }
    title = _("Pairs per programme")
    scale = charts.count_scale([v for values in pairs.values() for v in values])
    figure = charts.grouped_bar_figure(title, groups, pairs, scale)
    out.append(Chart("pairs-by-programme.png", title, figure, {"programmes": groups, **pairs}))
    rates = {
        _("met"): [_round(f.meeting_rate) for f in comparison.programmes],
        _("answered"): [_round(f.answer_rate) for f in comparison.programmes],
    }
    title = _("Latest check-in cycle per programme (%)")
    scale = charts.in_locale(charts.PERCENT, _.locale)
    figure = charts.grouped_bar_figure(title, groups, rates, scale)
    out.append(Chart("checkins-by-programme.png", title, figure, {"programmes": groups, **rates}))
    if any(f.pulse is not None for f in comparison.programmes):
        nps = [
            _round(f.pulse.nps) if f.pulse is not None and f.pulse.shown else None
            for f in comparison.programmes
        ]
        labels = list(groups)
        if comparison.pooled is not None:
            labels.append(_("All (pooled)"))
            nps.append(_round(comparison.pooled.nps))
        title = _("Latest pulse NPS per programme")
        scale = charts.in_locale(charts.NPS, _.locale)
        figure = charts.grouped_bar_figure(title, labels, {"NPS": nps}, scale, missing=_("hidden"))
        out.append(
            Chart("pulse-by-programme.png", title, figure, {"programmes": labels, "NPS": nps})
        )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value)


def comparison_charts(comparison: Comparison, _: Translator) -> list[tuple[str, str, bytes]]:
    return [(c.name, c.title, c.png()) for c in comparison_figures(comparison, _)]


def comparison_files(comparison: Comparison) -> list[tuple[str, bytes]]:
    """The comparison as one CSV (a row per programme, then the totals) and one JSON file."""
    rows = comparison_rows(comparison)
    columns = list(rows[0]) if rows else []
    body = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    return [
        ("programmes-compared.csv", csv_bytes(rows, columns)),
        ("programmes-compared.json", body.encode("utf-8")),
    ]


def home_button(_: Translator) -> list[Any]:
    """The super-admin's entry on App Home."""
    return [
        kit.context(_("Super-admin: every programme side by side")),
        kit.actions(
            kit.button(_("Report across programmes"), CROSS_REPORT_ACTION, ALL),
            block_id="cross_report",
        ),
    ]
