"""The bar chart of the gains report, laid out here and drawn as inline SVG by the template.

No script and no chart library (the CSP allows neither inline script nor other origins): the
geometry is computed on the server. Three bars per group (target, estimated, confirmed) on a
shared value axis; negative values (losses) go below the zero line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from followup.gains.reports import GroupRow

SERIES = ("target", "estimated", "confirmed")
SERIES_LABELS = {
    "target": _l("Target"),
    "estimated": _l("Estimated"),
    "confirmed": _l("Confirmed"),
}
# Geometry in SVG user units; the SVG scales to the width of its box.
PLOT_TOP = 40  # room for the legend
PLOT_HEIGHT = 240
LEFT = 72  # room for the value labels
RIGHT = 12
BAR_WIDTH = 18
BAR_GAP = 2
GROUP_WIDTH = 3 * BAR_WIDTH + 2 * BAR_GAP + 34
LABEL_LINE = 14
LABEL_LINES = 3
LABEL_CHARS = 14
MIN_WIDTH = 460
TICKS = 5


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    height: float
    value: Decimal


@dataclass(frozen=True)
class GroupBars:
    label: str
    lines: list[str]
    center: float
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    left: float
    right: float
    zero_y: float
    plot_top: float
    plot_bottom: float
    groups: list[GroupBars]
    ticks: list[Tick]
    unit_label: str
    bar_width: float
    label_top: float


def _nice_step(span: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) that gives about TICKS ticks."""
    raw = span / TICKS
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _scale(largest: float) -> tuple[float, str]:
    """Divide the tick values so their labels stay short, and name what they count."""
    if largest >= 1_000_000:
        return 1_000_000, str(_l("NOK million"))
    if largest >= 10_000:
        return 1_000, str(_l("NOK thousand"))
    return 1, "NOK"


def wrap(label: str, width: int = LABEL_CHARS, lines: int = LABEL_LINES) -> list[str]:
    """The label in up to `lines` lines of about `width` characters, cut with … if longer."""
    result: list[str] = []
    for word in label.split():
        if result and len(result[-1]) + 1 + len(word) <= width:
            result[-1] += " " + word
        else:
            result.append(word)
    if len(result) > lines:
        result = result[:lines]
        result[-1] = result[-1][: width - 1].rstrip() + "…"
    return [line if len(line) <= width + 4 else line[: width + 3] + "…" for line in result]


def bar_chart(groups: list[GroupRow]) -> Chart | None:
    """The chart's geometry for the report's groups, or None when there is nothing to draw."""
    if not groups:
        return None
    values = [float(getattr(g.figures, s)) for g in groups for s in SERIES]
    high, low = max(0.0, *values), min(0.0, *values)
    if high == low:  # every figure is zero: an axis from 0 to 1 still shows the groups
        high = 1.0
    step = _nice_step(high - low)
    top_value = math.ceil(high / step) * step
    bottom_value = math.floor(low / step) * step
    span = top_value - bottom_value

    def y_of(value: float) -> float:
        return PLOT_TOP + (top_value - value) / span * PLOT_HEIGHT

    divisor, unit_label = _scale(max(abs(top_value), abs(bottom_value)))
    ticks = []
    count = round(span / step)
    for n in range(count + 1):
        value = bottom_value + n * step
        ticks.append(Tick(y=y_of(value), label=format_decimal(value / divisor, "#,##0.##")))
    zero_y = y_of(0.0)
    chart_groups = []
    for index, group in enumerate(groups):
        x0 = LEFT + index * GROUP_WIDTH + (GROUP_WIDTH - 3 * BAR_WIDTH - 2 * BAR_GAP) / 2
        bars = []
        for n, series in enumerate(SERIES):
            value = getattr(group.figures, series)
            y = y_of(float(value))
            bars.append(
                Bar(
                    series=series,
                    x=x0 + n * (BAR_WIDTH + BAR_GAP),
                    y=min(y, zero_y),
                    height=abs(zero_y - y),
                    value=value,
                )
            )
        chart_groups.append(
            GroupBars(
                label=group.label,
                lines=wrap(group.label),
                center=LEFT + index * GROUP_WIDTH + GROUP_WIDTH / 2,
                bars=bars,
            )
        )
    plot_bottom = PLOT_TOP + PLOT_HEIGHT
    width = max(MIN_WIDTH, LEFT + len(groups) * GROUP_WIDTH + RIGHT)
    return Chart(
        width=width,
        height=plot_bottom + 8 + LABEL_LINES * LABEL_LINE + 4,
        left=LEFT,
        right=width - RIGHT,
        zero_y=zero_y,
        plot_top=PLOT_TOP,
        plot_bottom=plot_bottom,
        groups=chart_groups,
        ticks=ticks,
        unit_label=unit_label,
        bar_width=BAR_WIDTH,
        label_top=plot_bottom + 8 + LABEL_LINE - 2,
    )
