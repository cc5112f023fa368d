"""Digest charts as PNG bytes (matplotlib, Agg canvas, no pyplot state): messages per day and
a weekday × hour heatmap.

Chinese labels use the CJK font shipped with the Python dependencies
(:mod:`groupops.digest.fonts`: Noto Sans CJK SC from ``mplfonts``), registered with matplotlib
here; a system CJK font serves when that package is missing. Without any, the charts still
render, with English labels and group ids instead of names, so no glyph is ever drawn as a box
(``tests/test_digest.py`` fails when a chart would fall back).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from groupops.digest.fonts import BUNDLED_FAMILY, bundled_cjk_font
from groupops.mail.i18n import Language, translate, weekday_names

log = logging.getLogger(__name__)

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899")
DPI = 150


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first CJK font family matplotlib can use: the bundled one (registered here), else a
    system font installed after matplotlib's cache was built; ``None`` when there is none."""
    bundled = bundled_cjk_font()
    if bundled is not None:
        try:
            font_manager.fontManager.addfont(str(bundled))
        except (OSError, RuntimeError, ValueError):
            log.warning("the bundled CJK font %s cannot be read", bundled)
        else:
            return BUNDLED_FAMILY
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        lowered = Path(path).name.lower()
        if any(tag in lowered for tag in ("cjk", "wqy", "sourcehansans", "droidsansfallback")):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    log.warning("no CJK font found: charts use English labels (install fonts-noto-cjk)")
    return None


def chart_language(language: Language) -> Language:
    """The language charts can be labelled in here."""
    return language if language == "en" or cjk_font() else "en"


@contextmanager
def _fonts() -> Iterator[None]:
    """Every text in the chart in the CJK font when there is one (it has Latin glyphs too)."""
    family = cjk_font()
    if family is None:
        yield
        return
    with rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"]}):
        yield


def _label(text: str, fallback: str) -> str:
    """``text``, or ``fallback`` when ``text`` needs glyphs no installed font has."""
    return text if cjk_font() or text.isascii() else fallback


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color("#cbd5e1")
    ax.tick_params(colors="#475569", labelsize=8)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


#: Charts drawn in this process, by what they show: the owner's and the admins' digests of
#: the same groups carry the same charts, drawn once (bounded: cleared when full).
_DRAWN: dict[tuple[object, ...], bytes] = {}
_DRAWN_MAX = 64


def _drawn(key: tuple[object, ...], draw: Callable[[], bytes]) -> bytes:
    png = _DRAWN.get(key)
    if png is None:
        png = draw()
        if len(_DRAWN) >= _DRAWN_MAX:
            _DRAWN.clear()
        _DRAWN[key] = png
    return png


def _values_key(values: pd.Series | pd.DataFrame) -> tuple[object, ...]:
    """What a chart of ``values`` depends on, hashable (labels, dtype, the numbers' bytes)."""
    columns = tuple(values.columns) if isinstance(values, pd.DataFrame) else ()
    array = values.to_numpy()
    data = repr(array.tolist()) if array.dtype == object else array.tobytes()
    return (tuple(map(str, values.index)), columns, str(array.dtype), array.shape, data)


def daily_chart(
    series: Mapping[str, pd.Series],
    language: Language,
    *,
    fallback_labels: Sequence[str] | None = None,
) -> bytes:
    """Stacked bars of messages per local day, one colour per group (``{label: series}``, all
    on the same day index). ``fallback_labels`` (e.g. group ids) replace labels that need a
    CJK font when none is installed."""
    key = ("daily", language, tuple(fallback_labels or ()),
           tuple((label, _values_key(values)) for label, values in series.items()))  # fmt: skip
    return _drawn(key, lambda: _daily_chart(series, language, fallback_labels))


def _daily_chart(
    series: Mapping[str, pd.Series], language: Language, fallback_labels: Sequence[str] | None
) -> bytes:
    lang = chart_language(language)
    fallbacks = list(fallback_labels or [f"#{i + 1}" for i in range(len(series))])
    with _fonts():
        fig = _figure(7.0, 2.6)
        ax = fig.add_subplot()
        bottom: np.ndarray | None = None
        days: pd.DatetimeIndex | None = None
        for i, (label, values) in enumerate(series.items()):
            days = pd.DatetimeIndex(values.index)
            heights = values.to_numpy(dtype=float)
            ax.bar(range(len(values)), heights, bottom=bottom, width=0.7,
                   color=PALETTE[i % len(PALETTE)], label=_label(label, fallbacks[i]))  # fmt: skip
            bottom = heights if bottom is None else bottom + heights
        if days is not None:
            step = max(1, len(days) // 10)
            ticks = list(range(0, len(days), step))
            names = weekday_names(lang)
            labels = [f"{d.month}/{d.day}" + (f"\n{names[d.weekday()]}" if len(days) <= 14 else "")
                      for d in days[ticks]]  # fmt: skip
            ax.set_xticks(ticks, labels)
        ax.set_ylabel(translate("digest.chart.messages", lang), fontsize=8, color="#475569")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", color="#eef2f7", linewidth=0.8)
        ax.set_axisbelow(True)
        if len(series) > 1:
            ax.legend(fontsize=8, frameon=False, ncol=min(4, len(series)), loc="upper left",
                      bbox_to_anchor=(0, 1.18))  # fmt: skip
        _style(ax)
        return _png(fig)


HEAT = LinearSegmentedColormap.from_list("groupops", ["#f8fafc", "#bfdbfe", "#3b82f6", "#1e3a8a"])


def heatmap_chart(table: pd.DataFrame, language: Language) -> bytes:
    """A weekday (rows, Monday first) × hour (0–23) heatmap of message counts."""
    return _drawn(("heatmap", language, _values_key(table)), lambda: _heatmap(table, language))


def _heatmap(table: pd.DataFrame, language: Language) -> bytes:
    lang = chart_language(language)
    with _fonts():
        fig = _figure(7.0, 2.5)
        ax = fig.add_subplot()
        values = table.reindex(index=range(7), columns=range(24), fill_value=0).to_numpy()
        image = ax.imshow(values, cmap=HEAT, aspect="auto", vmin=0, vmax=max(1, int(values.max())))
        ax.set_yticks(range(7), weekday_names(lang))
        ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        _style(ax)
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
        bar.ax.tick_params(labelsize=7, colors="#475569", length=0)
        bar.outline.set_visible(False)
        bar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _png(fig)
