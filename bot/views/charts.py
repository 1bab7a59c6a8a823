"""Report charts: a pure function builds each matplotlib figure (so a test can read its axis
limits and ticks), `png` renders it headless (Agg). Each PNG carries its figures as JSON in its
`Description` metadata, the same numbers the report's text gives for screen readers.

So that no chart misleads: a rate's axis runs from 0 to 100 %, an NPS axis from -100 to +100
and a 1–5 score's from 1 to 5, whatever the data; counts get whole-number ticks from 0; a
single data point is a labelled bar, not a line; every value label sits inside the plot's
frame and every text inside the picture; colours come from the Okabe–Ito palette, which
people with the common colour-vision deficiencies tell apart.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import matplotlib
from babel.numbers import get_decimal_symbol

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

from matplotlib.axes import Axes  # noqa: E402 - after choosing the backend
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

Series = Sequence[tuple[str, float | None]]

# Okabe & Ito, "Color Universal Design" (2008): blue, orange, bluish green, reddish purple,
# sky blue, vermillion, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
# The share of the axis at its top where a value label goes below its point, not above.
_TOP_MARGIN = 0.14


@dataclass(frozen=True)
class Scale:
    """A value axis fixed by what the figure measures, never by the data's own range."""

    low: float
    high: float
    ticks: tuple[float, ...]
    base: float  # where a bar starts
    unit: str = ""
    signed: bool = False  # NPS: +52, -10
    decimals: int | None = None  # a value's label as the report's text writes it (4.0)
    decimal_mark: str = "."  # the reader's ("4,0" in German)

    def label(self, value: float) -> str:
        """A tick's label."""
        text = f"{value:+g}" if self.signed and value else f"{value:g}"
        return text.replace(".", self.decimal_mark) + self.unit

    def value_label(self, value: float) -> str:
        """A data point's label."""
        if self.decimals is None:
            return self.label(value)
        return f"{value:.{self.decimals}f}".replace(".", self.decimal_mark) + self.unit


def in_locale(scale: Scale, locale: str) -> Scale:
    """`scale` with the reader's decimal mark."""
    return replace(scale, decimal_mark=get_decimal_symbol(locale))


PERCENT = Scale(0, 100, (0, 20, 40, 60, 80, 100), 0, unit="%")
NPS = Scale(-100, 100, (-100, -50, 0, 50, 100), 0, signed=True)
RATING = Scale(1, 5, (1, 2, 3, 4, 5), 1, decimals=1)


def png(figure: Figure, data: object, title: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        dpi=100,
        metadata={"Title": title, "Description": json.dumps(data, ensure_ascii=False)},
    )
    return buffer.getvalue()


def _value_label(axes: Axes, x: float, y: float, scale: Scale, *, inside_bar: bool = False) -> None:
    """The value beside its point: above it, or below it near the top of the axis, so the
    label never leaves the frame (on a bar near the top, inside the bar in white)."""
    near_top = y > scale.high - _TOP_MARGIN * (scale.high - scale.low)
    below = near_top or (inside_bar and y < scale.base)
    offset = -8 if below else 6
    colour = "white" if inside_bar and near_top else "#222222"
    axes.annotate(
        scale.value_label(y),
        (x, y),
        textcoords="offset points",
        xytext=(0, offset),
        ha="center",
        va="top" if below else "bottom",
        fontsize=9,
        color=colour,
        fontweight="bold" if inside_bar else "normal",
    )


def line_figure(title: str, series: dict[str, Series], y_label: str, scale: Scale) -> Figure:
    """One line per named series over the same labelled x positions, on `scale`'s fixed axis;
    with a single x position, one labelled bar per series instead."""
    figure = Figure(figsize=(7, 3.5), layout="constrained")
    axes = figure.add_subplot()
    labels = [label for label, _value in next(iter(series.values()), [])]
    single = len(labels) == 1
    width = 0.5 / max(len(series), 1)
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        xs = [i for i, (_label, value) in enumerate(points) if value is not None]
        ys = [float(value) for _label, value in points if value is not None]
        if single:
            x = (index - (len(series) - 1) / 2) * width
            for y in ys:
                bottom = scale.base
                axes.bar(
                    [x], [y - bottom], width=width * 0.9, bottom=bottom, color=colour, label=name
                )
                _value_label(axes, x, y, scale, inside_bar=True)
            continue
        # Not clipped: a point at the top or bottom of the axis shows whole.
        axes.plot(
            xs, ys, marker="o", linewidth=2, markersize=6, color=colour, label=name, clip_on=False
        )
        for x, y in zip(xs, ys, strict=True):
            _value_label(axes, x, y, scale)
    slanted = len(labels) > 4  # long runs of periods: slanted so that they never overlap
    axes.set_xticks(
        range(len(labels)),
        labels,
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
        fontsize=8,
    )
    axes.set_xlim(-1 if single else -0.5, 1 if single else max(len(labels), 1) - 0.5)
    axes.set_ylim(scale.low, scale.high)
    axes.set_yticks(scale.ticks, [scale.label(t) for t in scale.ticks])
    if scale.low < 0 < scale.high:
        axes.axhline(0, color="#888888", linewidth=0.8)
    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if len(series) > 1:
        figure.legend(loc="outside lower center", ncols=len(series), frameon=False)
    return figure


def bar_figure(title: str, rows: Sequence[tuple[str, int, int]], names: tuple[str, str]) -> Figure:
    """Paired horizontal bars of counts (e.g. supply and demand per topic), the first of each
    pair on top as in the legend, each bar with its count."""
    figure = Figure(figsize=(7, max(2.8, 0.45 * len(rows) + 1.4)), layout="constrained")
    axes = figure.add_subplot()
    positions = list(range(len(rows)))
    for index, offset in enumerate((-0.2, 0.2)):
        bars = axes.barh(
            [p + offset for p in positions],
            [r[1 + index] for r in rows],
            height=0.4,
            label=names[index],
            color=PALETTE[index],
        )
        axes.bar_label(bars, padding=3, fontsize=8)
    axes.set_yticks(positions, [r[0] for r in rows], fontsize=8)
    axes.invert_yaxis()
    most = max((max(r[1], r[2]) for r in rows), default=0)
    # Room for the count at the end of the longest bar, inside the frame.
    axes.set_xlim(0, most + max(1, math.ceil(most * 0.12)))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_title(title)
    figure.legend(loc="outside lower center", ncols=2, frameon=False)
    return figure


def line_chart(title: str, series: dict[str, Series], y_label: str, scale: Scale) -> bytes:
    data = {name: [[label, value] for label, value in points] for name, points in series.items()}
    return png(line_figure(title, series, y_label, scale), data, title)


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]], names: tuple[str, str]) -> bytes:
    data = [[label, a, b] for label, a, b in rows]
    return png(bar_figure(title, rows, names), data, title)


def count_scale(values: Sequence[float | None]) -> Scale:
    """A count axis from 0 with room above the highest bar for its label."""
    most = max((v for v in values if v is not None), default=0)
    high = float(most + max(1, math.ceil(most * 0.15)))
    # A round step (1, 2, 5, 10, 20, 50 …) giving at most six ticks.
    step = next(s * 10**e for e in range(12) for s in (1, 2, 5) if high / (s * 10**e) <= 5)
    return Scale(0, high, tuple(float(t) for t in range(0, int(high) + 1, int(step))), 0)


def grouped_bar_figure(
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float | None]],
    scale: Scale,
    missing: str = "—",
) -> Figure:
    """Vertical bars side by side: one group per programme (`groups`), one bar per named
    series in each, on `scale`'s fixed axis, each bar with its value; a value that is None
    (hidden or not measured) gets no bar but the `missing` mark, so it is not read as 0."""
    wide = max(7.0, 0.6 * len(groups) * max(len(series), 1))
    figure = Figure(figsize=(min(wide, 12.0), 4), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, values in enumerate(series.values()):
        colour = PALETTE[index % len(PALETTE)]
        offset = (index - (len(series) - 1) / 2) * width
        for position, value in enumerate(values):
            x = position + offset
            if value is None:
                axes.annotate(
                    missing, (x, scale.base), textcoords="offset points", xytext=(0, 4),
                    ha="center", va="bottom", fontsize=9, color="#222222",
                )  # fmt: skip
                continue
            axes.bar(
                [x],
                [float(value) - scale.base],
                width=width * 0.9,
                bottom=scale.base,
                color=colour,
            )
            _value_label(axes, x, float(value), scale, inside_bar=True)
    slanted = len(groups) > 4
    axes.set_xticks(
        range(len(groups)),
        list(groups),
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
        fontsize=8,
    )
    axes.set_xlim(-0.6, max(len(groups), 1) - 0.4)
    axes.set_ylim(scale.low, scale.high)
    axes.set_yticks(scale.ticks, [scale.label(t) for t in scale.ticks])
    if scale.low < 0 < scale.high:
        axes.axhline(0, color="#888888", linewidth=0.8)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_title(title)
    if len(series) > 1:  # one entry per series, whether or not its first bar is drawn
        handles = [
            Patch(color=PALETTE[i % len(PALETTE)], label=name) for i, name in enumerate(series)
        ]
        figure.legend(handles=handles, loc="outside lower center", ncols=len(series), frameon=False)
    return figure
