"""Chart pictures drawn with matplotlib: the staff page's weekly charts and the weekly digest's picture (PNG).

Run in the drawing process (`drawing.py`), so this module imports nothing of the web or the
database; matplotlib (≈ 50 MB and 0.6 s to import) is imported on the first chart, and only its
object-oriented API is used (a `Figure` with the Agg canvas; no pyplot, no global figure state).
The labels are Chinese, so a CJK font is looked up by family and, failing that, by the file
Debian's fonts-noto-cjk installs; without one the labels would be empty boxes, which is logged.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers import texts_requests as texts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger("linli.staff_web.charts")

CATEGORY_ORDER = tuple(texts.CATEGORY_NAMES)  # as handlers.digest orders them

# One color per category, in CATEGORY_ORDER; the charts' legends name them.
CATEGORY_COLORS: dict[str, tuple[int, int, int]] = {
    "repair": (47, 128, 237), "sanitation": (39, 174, 96), "safety": (235, 87, 87), "parking": (242, 153, 74),
    "dispute": (155, 81, 224), "elderly_care": (242, 201, 76), "policy": (86, 204, 242),
}
OTHER_COLOR = (130, 130, 130)
WECHAT_GREEN = "#07c160"
TEXT, MUTED, LINE = "#191919", "#999999", "#e5e5e5"

DPI = 100
WEEKLY_SIZE = (480, 240)  # the digest's picture: pixels
PAGE_CHART_SIZE = (720, 300)  # the staff page's two charts

# --- the charts' words (user-facing) -------------------------------------------------------------
CATEGORY_WEEKS_TITLE = "每周各类别工单数"
MEDIAN_TITLE = "每周办结工单的处理时长中位数"
WEEK_AXIS = "周（自周一起）"
COUNT_AXIS = "工单数（件）"
HOURS_AXIS = "处理时长（小时）"
CATEGORY_AXIS = "类别"
NOTHING_RESOLVED = "无办结"
RATES_TITLE = "每周按期办结率与回访满意率"
SHARE_AXIS = "比例（%）"
ON_TIME_LABEL = "按期办结率"
SATISFIED_LABEL = "回访满意率（4-5 分）"
ON_TIME_COLOR = (47, 128, 237)


def weekly_title(start: dt.date, end: dt.date) -> str:
    return f"本周各类别工单数（{start.month}/{start.day}–{end.month}/{end.day}）"


# --- the font --------------------------------------------------------------------------------------

# Families that cover Simplified Chinese, best first; Noto Sans CJK's Japanese face draws the same
# characters (with a few Japanese glyph shapes), so it is the last resort.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Noto Sans CJK JP")
# Where fonts-noto-cjk puts it (Debian, Ubuntu), then Arch's and Fedora's paths.
CJK_FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
                  "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc")


@dataclass(frozen=True)
class CjkFont:
    family: str
    path: str


@functools.cache
def cjk_font() -> CjkFont | None:
    """The CJK font the charts use, or None (logged once: the labels would be empty boxes)."""
    from matplotlib import font_manager

    manager = font_manager.fontManager

    def known() -> CjkFont | None:
        names = {entry.name for entry in manager.ttflist}
        family = next((f for f in CJK_FAMILIES if f in names), None)
        if family is None:
            return None
        return CjkFont(family, str(manager.findfont(font_manager.FontProperties(family=family),
                                                    fallback_to_default=False)))

    font = known()
    # matplotlib lists the system's fonts once, in a cache under ~/.cache/matplotlib: a font
    # installed after that is only found by its file.
    for path in CJK_FONT_FILES:
        if font is not None:
            break
        if Path(path).is_file():
            manager.addfont(path)
            font = known()
    if font is None:
        log.warning("no CJK font for the charts (looked for the families %s and the files %s): their Chinese "
                    "labels will show as empty boxes; install Debian's fonts-noto-cjk", ", ".join(CJK_FAMILIES),
                    ", ".join(CJK_FONT_FILES))
    else:
        log.info("charts are labelled in %s (%s)", font.family, font.path)
    return font


@functools.cache
def _style() -> dict[str, Any]:
    font = cjk_font()
    return {
        "font.family": "sans-serif",
        "font.sans-serif": ([font.family] if font else []) + ["DejaVu Sans"],
        "font.size": 9,
        "text.color": TEXT, "axes.labelcolor": TEXT, "xtick.color": TEXT, "ytick.color": TEXT,
        "axes.edgecolor": "#bbbbbb", "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 11, "axes.titleweight": "bold",
        "axes.grid": True, "axes.grid.axis": "y", "grid.color": LINE, "axes.axisbelow": True,
        "figure.facecolor": "white", "axes.facecolor": "white",
        "svg.fonttype": "path",
    }


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return (color[0] / 255, color[1] / 255, color[2] / 255)


def _draw(size: tuple[int, int], paint: Any) -> bytes:
    """A figure of `size` pixels, painted by `paint(figure, axes)`, as PNG bytes."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        paint(figure, axes)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _week_label(week: dt.date) -> str:
    return f"{week.month}/{week.day}"


def category_weeks_png(weeks: Sequence[dt.date], counts: Mapping[dt.date, Mapping[str, int]]) -> bytes:
    """Stacked bars: one per week, one segment per category, the week's total above it."""

    def paint(figure: Figure, axes: Axes) -> None:
        x = range(len(weeks))
        bottoms = [0] * len(weeks)
        for category in CATEGORY_ORDER:
            heights = [counts.get(w, {}).get(category, 0) for w in weeks]
            axes.bar(x, heights, 0.6, bottom=bottoms, color=_rgb(CATEGORY_COLORS.get(category, OTHER_COLOR)),
                     label=texts.category_name(category))
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        for i, total in enumerate(bottoms):
            if total:
                axes.annotate(str(total), (i, total), xytext=(0, 2), textcoords="offset points", ha="center",
                              va="bottom", fontsize=8)
        axes.set_ylim(0, max([*bottoms, 1]) * 1.15)
        axes.set_xticks(list(x), [_week_label(w) for w in weeks])
        axes.set(title=CATEGORY_WEEKS_TITLE, xlabel=WEEK_AXIS, ylabel=COUNT_AXIS)
        figure.legend(loc="outside lower center", ncols=len(CATEGORY_ORDER), frameon=False, fontsize=8)

    return _draw(PAGE_CHART_SIZE, paint)


def median_hours_png(weeks: Sequence[dt.date], medians: Mapping[dt.date, float | None]) -> bytes:
    """Bars of the median hours from filing to resolution, for requests resolved in each week."""

    def paint(figure: Figure, axes: Axes) -> None:
        values = [medians.get(w) for w in weeks]
        bars = axes.bar(range(len(weeks)), [v or 0 for v in values], 0.6, color=WECHAT_GREEN)
        labels = axes.bar_label(bars, labels=[f"{v:.1f}" if v is not None else NOTHING_RESOLVED for v in values],
                                padding=2, fontsize=8, color=TEXT)
        for label, value in zip(labels, values, strict=True):
            if value is None:
                label.set_color(MUTED)
        axes.set_ylim(0, max([v for v in values if v is not None] + [1.0]) * 1.15)
        axes.set_xticks(list(range(len(weeks))), [_week_label(w) for w in weeks])
        axes.set(title=MEDIAN_TITLE, xlabel=WEEK_AXIS, ylabel=HOURS_AXIS)

    return _draw(PAGE_CHART_SIZE, paint)


def rates_png(weeks: Sequence[dt.date], on_time: Mapping[dt.date, float | None],
              satisfied: Mapping[dt.date, float | None]) -> bytes:
    """Two bars a week, in percent: resolved by the deadline (of those resolved that week with one), and
    satisfied residents (of the 回访 answers that week); a week without any shows no bar."""

    def paint(figure: Figure, axes: Axes) -> None:
        x = range(len(weeks))
        for offset, values, color, label in ((-0.2, on_time, _rgb(ON_TIME_COLOR), ON_TIME_LABEL),
                                             (0.2, satisfied, WECHAT_GREEN, SATISFIED_LABEL)):
            shares = [values.get(w) for w in weeks]
            bars = axes.bar([i + offset for i in x], [100 * v if v is not None else 0 for v in shares], 0.38,
                            color=color, label=label)
            axes.bar_label(bars, labels=[f"{100 * v:.0f}" if v is not None else "" for v in shares], padding=2,
                           fontsize=7)
        axes.set_ylim(0, 115)
        axes.set_xticks(list(x), [_week_label(w) for w in weeks])
        axes.set(title=RATES_TITLE, xlabel=WEEK_AXIS, ylabel=SHARE_AXIS)
        figure.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)

    return _draw(PAGE_CHART_SIZE, paint)


def weekly_png(start: dt.date, end: dt.date, counts: Mapping[str, int]) -> bytes:
    """The digest's weekly picture: one bar per category with its count, the week in the title."""

    def paint(figure: Figure, axes: Axes) -> None:
        values = [counts.get(k, 0) for k in CATEGORY_ORDER]
        bars = axes.bar(range(len(values)), values, 0.6,
                        color=[_rgb(CATEGORY_COLORS.get(k, OTHER_COLOR)) for k in CATEGORY_ORDER])
        axes.bar_label(bars, padding=2, fontsize=8)
        axes.set_ylim(0, max([*values, 1]) * 1.2)
        axes.set_xticks(list(range(len(values))), [texts.category_name(k) for k in CATEGORY_ORDER], fontsize=8)
        axes.set(title=weekly_title(start, end), xlabel=CATEGORY_AXIS, ylabel=COUNT_AXIS)

    return _draw(WEEKLY_SIZE, paint)
