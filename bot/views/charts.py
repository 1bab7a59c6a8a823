"""Report charts as PNG bytes (matplotlib, headless). Each PNG carries its figures as JSON in
its `Description` metadata, the same numbers the report's text gives for screen readers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

from matplotlib.figure import Figure  # noqa: E402 - after choosing the backend

Series = Sequence[tuple[str, float | None]]


def _png(figure: Figure, data: object, title: str) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(
        buffer,
        format="png",
        dpi=100,
        metadata={"Title": title, "Description": json.dumps(data, ensure_ascii=False)},
    )
    return buffer.getvalue()


def line_chart(
    title: str,
    series: dict[str, Series],
    y_label: str,
    *,
    number: Callable[[float], str] = lambda value: f"{value:g}",
) -> bytes:
    """One line per named series over the same labelled x positions; `number` writes each
    point's figure (in the reader's locale)."""
    figure = Figure(figsize=(7, 3.5))
    axes = figure.add_subplot()
    for name, points in series.items():
        xs = [i for i, (_label, value) in enumerate(points) if value is not None]
        ys = [value for _label, value in points if value is not None]
        axes.plot(xs, ys, marker="o", label=name)
        for x, y in zip(xs, ys, strict=True):
            axes.annotate(number(y), (x, y), textcoords="offset points", xytext=(0, 6), ha="center")
    labels = [label for label, _value in next(iter(series.values()), [])]
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3)
    if len(series) > 1:
        axes.legend()
    data = {name: [[label, value] for label, value in points] for name, points in series.items()}
    return _png(figure, data, title)


def bar_chart(title: str, rows: Sequence[tuple[str, int, int]], names: tuple[str, str]) -> bytes:
    """Paired horizontal bars (e.g. supply and demand per topic)."""
    figure = Figure(figsize=(7, max(2.5, 0.4 * len(rows) + 1)))
    axes = figure.add_subplot()
    positions = list(range(len(rows)))
    axes.barh([p + 0.2 for p in positions], [r[1] for r in rows], height=0.4, label=names[0])
    axes.barh([p - 0.2 for p in positions], [r[2] for r in rows], height=0.4, label=names[1])
    axes.set_yticks(positions, [r[0] for r in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_title(title)
    axes.legend()
    data = [[label, a, b] for label, a, b in rows]
    return _png(figure, data, title)
