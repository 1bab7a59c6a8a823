"""The report's charts do not mislead: each chart's axis limits and ticks are read from the
figure the report draws (before it becomes a PNG), every label sits inside its frame, one data
point is a labelled bar, colours come from the Okabe–Ito palette. The PNGs are saved in
tests/artifacts/charts/ for a person to look at."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

from bot.domain import pulse
from bot.domain.overview import TopicBalance
from bot.domain.report import Completion, CycleRow, Report
from bot.i18n import translator
from bot.views import charts
from bot.views.report import Chart, report_figures
from storage.models import Program, PulseRound

ARTIFACTS = Path(__file__).parent / "artifacts" / "charts"
_ = translator("en")


def _survey(period: str, nps: float, value: float) -> pulse.RoundResult:
    done = PulseRound(
        program_id=1, kind="pulse", period=period, status="closed", invited=20, answered=12
    )
    overall = pulse.GroupResult(respondents=12, averages={"value": value}, nps=nps)
    return pulse.RoundResult(done, 5, overall)


def _report(
    cycles: list[tuple[str, int, int]],
    surveys: list[pulse.RoundResult] | None = None,
    topics: list[TopicBalance] | None = None,
) -> Report:
    """A report with these cycles (period, pairs asked, pairs met), surveys and topics."""
    return Report(
        program=Program(name="Charts", goals=[]),
        by_role_status={},
        pairs={"active": 0, "at_risk": 0, "ended": 0, "proposed": 0},
        cycles=[CycleRow(period, asked, asked, met, 4.0) for period, asked, met in cycles],
        average_rating=4.0,
        goals={},
        goal_progress=None,
        completion=Completion(6, 0, 0),
        surveys=surveys or [],
        topics=topics or [],
    )


def _charts(report: Report, case: str) -> dict[str, Chart]:
    """The report's charts by file name; each also saved as a PNG artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for chart in report_figures(report, _):
        data = chart.png()
        (ARTIFACTS / f"{case}-{chart.name}").write_bytes(data)
        described = json.loads(Image.open(io.BytesIO(data)).info["Description"])
        assert described == chart.data  # the PNG carries the numbers it shows
        found[chart.name] = chart
    return found


def _inside(inner: Bbox, outer: Bbox) -> bool:
    slack = 0.5  # pixels: rounding of text extents
    return (
        inner.x0 >= outer.x0 - slack
        and inner.y0 >= outer.y0 - slack
        and inner.x1 <= outer.x1 + slack
        and inner.y1 <= outer.y1 + slack
    )


def _assert_everything_fits(chart: Chart) -> None:
    """Value labels inside the plot's frame, every other text inside the picture."""
    figure = chart.figure
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    [axes] = figure.axes
    frame = axes.get_window_extent(renderer)
    assert axes.texts, "every value has its label"
    for label in axes.texts:
        assert _inside(label.get_window_extent(renderer), frame), label.get_text()
    texts: list[Text] = [axes.title, axes.yaxis.label, axes.xaxis.label]
    texts += axes.get_xticklabels() + axes.get_yticklabels()
    for legend in figure.legends:
        texts += legend.get_texts()
    for text in texts:
        if text.get_visible() and text.get_text():
            assert _inside(text.get_window_extent(renderer), figure.bbox), text.get_text()


def _labels(chart: Chart) -> list[str]:
    return [text.get_text() for text in chart.figure.axes[0].texts]


def test_meeting_rate_runs_from_0_to_100_percent_with_its_labels_inside() -> None:
    report = _report([("2027-02", 19, 18), ("2027-03", 18, 18), ("2027-04", 19, 19)])
    chart = _charts(report, "three-cycles")["meeting-rate.png"]
    axes = chart.figure.axes[0]
    assert axes.get_ylim() == (0, 100)
    assert list(axes.get_yticks()) == [0, 20, 40, 60, 80, 100]
    assert [t.get_text() for t in axes.get_yticklabels()] == [
        "0%",
        "20%",
        "40%",
        "60%",
        "80%",
        "100%",
    ]
    # Months as the reader writes them, as the report's text names them.
    assert [t.get_text() for t in axes.get_xticklabels()] == [
        "February 2027",
        "March 2027",
        "April 2027",
    ]
    [line] = axes.lines
    assert list(line.get_ydata()) == [95, 100, 100]
    assert to_hex(line.get_color()) == to_hex(charts.PALETTE[0])
    assert _labels(chart) == ["95%", "100%", "100%"]
    _assert_everything_fits(chart)


def test_a_single_cycle_is_a_labelled_bar_on_the_whole_percent_axis() -> None:
    chart = _charts(_report([("2027-02", 3, 1)]), "one-cycle")["meeting-rate.png"]
    axes = chart.figure.axes[0]
    assert axes.get_ylim() == (0, 100)  # not 31.5–34.5 %
    assert not axes.lines  # no line through one point
    [bar] = axes.patches
    assert (bar.get_y(), bar.get_height()) == (0, 33)
    assert to_hex(bar.get_facecolor()) == to_hex(charts.PALETTE[0])
    assert _labels(chart) == ["33%"]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["February 2027"]
    _assert_everything_fits(chart)


@pytest.mark.parametrize("rate", [0, 100])
def test_a_single_cycle_at_either_end_keeps_its_label_inside(rate: int) -> None:
    chart = _charts(_report([("2027-02", 4, rate // 25)]), f"one-cycle-{rate}")["meeting-rate.png"]
    assert _labels(chart) == [f"{rate}%"]
    _assert_everything_fits(chart)


def test_pulse_trends_use_the_whole_nps_and_1_to_5_scales() -> None:
    surveys = [
        _survey("2027-02-02", 52, 4.2),
        _survey("2027-03-02", 100, 5.0),
        _survey("2027-04-02", -20, 1.0),
    ]
    found = _charts(_report([], surveys), "pulse")
    nps = found["pulse-nps.png"].figure.axes[0]
    assert nps.get_ylim() == (-100, 100)
    assert list(nps.get_yticks()) == [-100, -50, 0, 50, 100]
    assert _labels(found["pulse-nps.png"]) == ["+52", "+100", "-20"]
    value = found["pulse-value.png"].figure.axes[0]
    assert value.get_ylim() == (1, 5)
    assert list(value.get_yticks()) == [1, 2, 3, 4, 5]
    assert _labels(found["pulse-value.png"]) == ["4.2", "5.0", "1.0"]
    for chart in found.values():
        _assert_everything_fits(chart)


def test_a_single_survey_is_a_bar_from_the_bottom_of_its_scale() -> None:
    found = _charts(_report([], [_survey("2027-02-02", -30, 3.6)]), "one-survey")
    nps = found["pulse-nps.png"].figure.axes[0]
    [bar] = nps.patches
    assert (bar.get_y(), bar.get_height()) == (0, -30)  # below zero, from zero
    value = found["pulse-value.png"].figure.axes[0]
    [bar] = value.patches
    assert bar.get_y() == 1 and bar.get_height() == pytest.approx(2.6)
    assert value.get_ylim() == (1, 5)
    for chart in found.values():
        _assert_everything_fits(chart)


def test_topic_counts_have_whole_number_ticks_from_zero() -> None:
    topics = [
        TopicBalance("ai", "AI tools", 7, 3),
        TopicBalance("gen_z", "Gen Z perspectives", 5, 7),
        TopicBalance("sustainability", "Sustainability", 1, 4),
        TopicBalance("data", "Data literacy", 0, 1),
    ]
    chart = _charts(_report([], [], topics), "topics")["topics.png"]
    axes = chart.figure.axes[0]
    low, high = axes.get_xlim()
    assert low == 0 and high >= 8  # room for the longest bar's count
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks)
    offer, want = axes.containers
    assert [bar.get_width() for bar in offer] == [7, 5, 1, 0]
    assert [bar.get_width() for bar in want] == [3, 7, 4, 1]
    assert {to_hex(bar.get_facecolor()) for bar in offer} == {to_hex(charts.PALETTE[0])}
    assert {to_hex(bar.get_facecolor()) for bar in want} == {to_hex(charts.PALETTE[1])}
    # The first of each pair is drawn on top, as the legend lists it.
    assert offer[0].get_y() < want[0].get_y()
    assert [t.get_text() for t in chart.figure.legends[0].get_texts()] == ["offer", "want"]
    assert _labels(chart) == ["7", "5", "1", "0", "3", "7", "4", "1"]
    _assert_everything_fits(chart)


def test_few_small_counts_still_get_whole_number_ticks() -> None:
    chart = _charts(_report([], [], [TopicBalance("ai", "AI tools", 1, 2)]), "one-topic")[
        "topics.png"
    ]
    axes = chart.figure.axes[0]
    low, high = axes.get_xlim()
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert low == 0 and ticks == [0, 1, 2, 3]
    _assert_everything_fits(chart)


def test_a_year_of_cycles_in_german_keeps_every_label_inside() -> None:
    periods = [f"2027-{month:02d}" for month in range(1, 13)]
    report = _report([(p, 20, (7 * i) % 21) for i, p in enumerate(periods)])
    [chart] = report_figures(report, translator("de"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "year-de-meeting-rate.png").write_bytes(chart.png())
    axes = chart.figure.axes[0]
    assert chart.title == translator("de")("Meeting rate per cycle (%)")
    assert axes.get_ylim() == (0, 100)
    months = [translator("de").period(p) for p in periods]
    assert [t.get_text() for t in axes.get_xticklabels()] == months
    _assert_everything_fits(chart)
