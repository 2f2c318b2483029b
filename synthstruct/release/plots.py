"""Small inline SVG charts for the HTML report, written by hand (no plotting library, no JavaScript).

Every chart is one ``<svg role="img">`` string with a ``<title>`` and ``<desc>`` for screen readers, a
visible title, axis labels and a legend. Charts scale with the page (``viewBox``). All text passes
through :func:`html.escape`; callers pass aggregated numbers and schema-level labels only.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

__all__ = ["COLOURS", "bar_chart", "heatmap", "histogram", "line_chart", "nice_ticks"]

#: Series colours in order: real, synthetic, third series.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
_FONT = "font-family='system-ui,sans-serif'"
_W, _H = 360, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 44, 44

Series = tuple[str, Sequence[float | None]]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1e5 or abs(x) < 1e-3:
        return f"{x:.2g}"
    return f"{x:.3g}"


def _values(values: Sequence[float | None]) -> list[float]:
    out = []
    for v in values:
        out.append(float(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0.0)
    return out


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick positions from at most ``low`` to at least ``high`` (about ``count`` steps)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else [0.0]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(first, last + 1)]
    return ticks


def _open(plot_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    pid = _e(plot_id)
    return [f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' id='{pid}' role='img' "
            f"aria-labelledby='{pid}-t {pid}-d' viewBox='0 0 {width} {height}' {_FONT} font-size='11'>",
            f"<title id='{pid}-t'>{_e(title)}</title><desc id='{pid}-d'>{_e(desc)}</desc>",
            f"<text x='{width / 2:.1f}' y='16' text-anchor='middle' font-size='13' font-weight='600' "
            f"fill='#1b1f24'>{_e(_shorten(title, 58))}</text>"]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(names: Sequence[str], x: float, y: float, *, width: float = _W - _RIGHT,
            styles: Sequence[str] | None = None) -> str:
    """A one- or two-row legend starting at ``(x, y)``; ``styles`` may mark an entry ``dashed``."""
    parts, cursor, row = [], x, 0
    for i, name in enumerate(names):
        item_w = 22 + 5.6 * len(name)
        if cursor + item_w > width and cursor > x:
            cursor, row = x, row + 1
        yy = y + 13 * row
        if styles and i < len(styles) and styles[i] == "dashed":
            key = (f"<line x1='{cursor:.1f}' x2='{cursor + 10:.1f}' y1='{yy - 3:.1f}' y2='{yy - 3:.1f}' "
                   f"stroke='#999' stroke-width='2' stroke-dasharray='3 2'/>")
        else:
            key = (f"<rect x='{cursor:.1f}' y='{yy - 8:.1f}' width='10' height='10' "
                   f"fill='{COLOURS[i % len(COLOURS)]}' fill-opacity='0.85'/>")
        parts.append(f"{key}<text x='{cursor + 14:.1f}' y='{yy + 1:.1f}' fill='#333'>{_e(name)}</text>")
        cursor += item_w
    return f"<g class='legend'>{''.join(parts)}</g>"


def _y_axis(ticks: list[float], y_of, left: float, right: float, label: str, height: int) -> str:  # noqa: ANN001
    parts = [f"<line x1='{left}' y1='{y_of(ticks[0]):.1f}' x2='{left}' y2='{y_of(ticks[-1]):.1f}' stroke='#888'/>"]
    for t in ticks:
        y = y_of(t)
        parts.append(f"<line x1='{left}' x2='{right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>"
                     f"<text x='{left - 4}' y='{y + 3.5:.1f}' text-anchor='end' fill='#555'>{_fmt(t)}</text>")
    mid = (_TOP + height - _BOTTOM) / 2
    parts.append(f"<text transform='translate(11 {mid:.1f}) rotate(-90)' text-anchor='middle' "
                 f"fill='#333'>{_e(label)}</text>")
    return "".join(parts)


def _x_label(label: str, width: int, height: int) -> str:
    return (f"<text x='{(_LEFT + width - _RIGHT) / 2:.1f}' y='{height - 6}' text-anchor='middle' "
            f"fill='#333'>{_e(label)}</text>")


def histogram(plot_id: str, title: str, edges: Sequence[float | str], series: Sequence[Series], *,
              x_label: str, y_label: str = "share of rows", desc: str = "") -> str:
    """Overlaid step histograms sharing ``edges`` (``len(edges) == len(values) + 1``).

    Bins are drawn with equal width (the edges are evenly spaced); string edges (dates) are shown as
    their first ten characters.
    """
    bins = len(edges) - 1
    data = [(name, _values(vals)[:bins]) for name, vals in series]
    top = max([max(v, default=0.0) for _, v in data] + [1e-12])
    ticks = nice_ticks(0.0, top)
    top = max(top, ticks[-1])
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, _H - _BOTTOM, _TOP + (13 if len(data) > 2 else 0)  # legend rows
    bin_w = (x1 - x0) / max(bins, 1)

    def y_of(v: float) -> float:
        return y0 - (y0 - y1) * v / top

    parts = _open(plot_id, title, desc or f"{title}: {', '.join(n for n, _ in data)} over {bins} bins", _W, _H)
    parts.append(_y_axis(ticks, y_of, x0, x1, y_label, _H))
    for i, (name, vals) in enumerate(data):
        colour = COLOURS[i % len(COLOURS)]
        points = [f"{x0:.1f},{y0:.1f}"]
        for b, v in enumerate(vals):
            points += [f"{x0 + b * bin_w:.1f},{y_of(v):.1f}", f"{x0 + (b + 1) * bin_w:.1f},{y_of(v):.1f}"]
        points.append(f"{x0 + len(vals) * bin_w:.1f},{y0:.1f}")
        fill = f"fill='{colour}' fill-opacity='0.35'" if i == 0 else "fill='none'"
        parts.append(f"<polygon class='series' points='{' '.join(points)}' {fill} stroke='{colour}' "
                     f"stroke-width='{1.2 if i == 0 else 2}'><title>{_e(name)}</title></polygon>")
    parts.append(f"<line x1='{x0}' x2='{x1}' y1='{y0}' y2='{y0}' stroke='#888'/>")
    for idx in sorted({0, bins // 2, bins}):
        edge = edges[idx]
        text = edge[:10] if isinstance(edge, str) else _fmt(float(edge))
        anchor = "start" if idx == 0 else ("end" if idx == bins else "middle")
        parts.append(f"<text x='{x0 + idx * bin_w:.1f}' y='{y0 + 14}' text-anchor='{anchor}' fill='#555'>"
                     f"{_e(text)}</text>")
    parts.append(_x_label(x_label, _W, _H))
    parts.append(_legend([n for n, _ in data], x0, 33))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(plot_id: str, title: str, categories: Sequence[str], series: Sequence[Series], *,
              x_label: str, y_label: str = "share of rows", desc: str = "") -> str:
    """Grouped vertical bars: one group per category, one bar per series."""
    data = [(name, _values(vals)) for name, vals in series]
    n_cat, n_ser = len(categories), max(len(data), 1)
    chars_per_group = (_W - _LEFT - _RIGHT) / max(n_cat, 1) / 6
    rotate = any(len(str(c)) > chars_per_group for c in categories)
    label_room = 58 if rotate else 14
    height = _H + label_room - 14
    top = max([max(v, default=0.0) for _, v in data] + [1e-12])
    ticks = nice_ticks(0.0, top)
    top = max(top, ticks[-1])
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT, height - _BOTTOM - label_room + 14, _TOP
    group_w = (x1 - x0) / max(n_cat, 1)
    bar_w = group_w * 0.8 / n_ser

    def y_of(v: float) -> float:
        return y0 - (y0 - y1) * v / top

    parts = _open(plot_id, title, desc or f"{title}: {', '.join(n for n, _ in data)} for {n_cat} categories",
                  _W, height)
    parts.append(_y_axis(ticks, y_of, x0, x1, y_label, height - label_room + 14))
    for c, category in enumerate(categories):
        gx = x0 + c * group_w + group_w * 0.1
        bars = []
        for s, (name, vals) in enumerate(data):
            v = vals[c] if c < len(vals) else 0.0
            bars.append(f"<rect x='{gx + s * bar_w:.1f}' y='{y_of(v):.1f}' width='{max(bar_w - 1, 0.5):.1f}' "
                        f"height='{y0 - y_of(v):.1f}' fill='{COLOURS[s % len(COLOURS)]}'>"
                        f"<title>{_e(category)} · {_e(name)}: {_fmt(v)}</title></rect>")
        cx = x0 + (c + 0.5) * group_w
        label = _e(_shorten(str(category), 14))
        if not rotate:
            text = f"<text x='{cx:.1f}' y='{y0 + 13:.1f}' text-anchor='middle' fill='#555'>{label}</text>"
        else:
            text = (f"<text transform='translate({cx + 3:.1f} {y0 + 8:.1f}) rotate(-40)' text-anchor='end' "
                    f"font-size='{10 if n_cat <= 12 else 8}' fill='#555'>{label}</text>")
        parts.append(f"<g class='bars'>{''.join(bars)}{text}</g>")
    parts.append(f"<line x1='{x0}' x2='{x1}' y1='{y0}' y2='{y0}' stroke='#888'/>")
    parts.append(_x_label(x_label, _W, height))
    parts.append(_legend([n for n, _ in data], x0, 33))
    parts.append("</svg>")
    return "".join(parts)


def _diverging(value: float | None, low: float, high: float) -> str:
    """Blue (low) - light grey (0 or the middle) - red (high)."""
    if value is None or not math.isfinite(value):
        return "#ffffff"
    mid = 0.0 if low < 0 < high else (low + high) / 2
    if low >= 0:  # sequential: white to red
        t = min(max((value - low) / ((high - low) or 1), 0.0), 1.0)
        a, b = (247, 247, 247), (178, 24, 43)
    elif value >= mid:
        t = min((value - mid) / ((high - mid) or 1), 1.0)
        a, b = (247, 247, 247), (178, 24, 43)
    else:
        t = min((mid - value) / ((mid - low) or 1), 1.0)
        a, b = (247, 247, 247), (33, 102, 172)
    r, g, bl = (round(a[i] + (b[i] - a[i]) * t) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def heatmap(plot_id: str, title: str, labels: Sequence[str], matrix: Sequence[Sequence[float | None]], *,
            low: float = -1.0, high: float = 1.0, desc: str = "") -> str:
    """A square matrix as coloured cells with row/column labels and a colour scale."""
    n = len(labels)
    label_w = 92
    cell = max(4.0, min(22.0, 300 / max(n, 1)))
    font = 10 if cell >= 12 else (8 if cell >= 7 else 0)
    gy = 28 + (70 if font else 0)  # top of the grid: title, then the rotated column labels
    bar_y = gy + cell * n + 10  # colour scale below the grid
    width, height = int(label_w + cell * n + 16), int(bar_y + 24)
    parts = _open(plot_id, title, desc or f"{title}: {n} by {n} matrix, colour scale {low} to {high}",
                  width, height)
    for i in range(n):
        row = matrix[i] if i < len(matrix) else []
        for j in range(n):
            v = row[j] if j < len(row) else None
            shown = _fmt(float(v)) if isinstance(v, (int, float)) and math.isfinite(v) else "—"
            parts.append(f"<rect x='{label_w + j * cell:.1f}' y='{gy + i * cell:.1f}' width='{cell:.1f}' "
                         f"height='{cell:.1f}' fill='{_diverging(v, low, high)}' stroke='#fff' stroke-width='0.5'>"
                         f"<title>{_e(labels[i])} × {_e(labels[j])}: {shown}</title></rect>")
    if font:
        for i, name in enumerate(labels):
            short = _e(_shorten(str(name), 14))
            parts.append(f"<text x='{label_w - 4}' y='{gy + (i + 0.5) * cell + font / 3:.1f}' text-anchor='end' "
                         f"font-size='{font}' fill='#444'>{short}</text>")
            parts.append(f"<text transform='translate({label_w + (i + 0.5) * cell + font / 3:.1f} {gy - 4}) "
                         f"rotate(-60)' font-size='{font}' fill='#444'>{short}</text>")
    grad = f"{_e(plot_id)}-scale"
    stops = "".join(f"<stop offset='{k / 4:.2f}' stop-color='{_diverging(low + (high - low) * k / 4, low, high)}'/>"
                    for k in range(5))
    bar_w = max(60.0, min(160.0, cell * n))
    parts.append(f"<defs><linearGradient id='{grad}'>{stops}</linearGradient></defs>"
                 f"<rect x='{label_w}' y='{bar_y:.1f}' width='{bar_w:.1f}' height='8' fill='url(#{grad})' "
                 f"stroke='#ccc'/><text x='{label_w}' y='{bar_y + 19:.1f}' fill='#555'>{_fmt(low)}</text>"
                 f"<text x='{label_w + bar_w:.1f}' y='{bar_y + 19:.1f}' text-anchor='end' fill='#555'>"
                 f"{_fmt(high)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def line_chart(plot_id: str, title: str, series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *,
               x_label: str, y_label: str, diagonal: bool = False,
               marker: tuple[float, float, str] | None = None, desc: str = "") -> str:
    """Lines on a unit square (for ROC curves); optional chance diagonal and one labelled marker."""
    x0, x1, y0, y1 = _LEFT, _W - _RIGHT - 60, _H - _BOTTOM, _TOP

    def px(x: float) -> float:
        return x0 + (x1 - x0) * min(max(x, 0.0), 1.0)

    def py(y: float) -> float:
        return y0 - (y0 - y1) * min(max(y, 0.0), 1.0)

    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    parts = _open(plot_id, title, desc or title, _W, _H)
    parts.append(_y_axis(ticks, py, x0, x1, y_label, _H))
    parts.append(f"<line x1='{x0}' x2='{x1}' y1='{y0}' y2='{y0}' stroke='#888'/>")
    for t in ticks:
        parts.append(f"<text x='{px(t):.1f}' y='{y0 + 14}' text-anchor='middle' fill='#555'>{_fmt(t)}</text>")
    if diagonal:
        parts.append(f"<line x1='{px(0):.1f}' y1='{py(0):.1f}' x2='{px(1):.1f}' y2='{py(1):.1f}' stroke='#999' "
                     f"stroke-dasharray='4 3'><title>chance (random guessing)</title></line>")
    for i, (name, xs, ys) in enumerate(series):
        pts = " ".join(f"{px(float(x)):.1f},{py(float(y)):.1f}" for x, y in zip(_values(xs), _values(ys)))
        parts.append(f"<polyline class='series' points='{pts}' fill='none' stroke='{COLOURS[i % len(COLOURS)]}' "
                     f"stroke-width='2'><title>{_e(name)}</title></polyline>")
    if marker is not None:
        mx, my, text = marker
        ty = min(py(my) - 6, y0 - 18)
        parts.append(f"<circle cx='{px(mx):.1f}' cy='{py(my):.1f}' r='4' fill='#D55E00'><title>{_e(text)}</title>"
                     f"</circle><text x='{px(mx) + 8:.1f}' y='{ty:.1f}' fill='#D55E00' stroke='#fff' stroke-width='3' "
                     f"paint-order='stroke'>{_e(text)}</text>")
    parts.append(f"<text x='{(x0 + x1) / 2:.1f}' y='{_H - 6}' text-anchor='middle' fill='#333'>{_e(x_label)}</text>")
    names = [s[0] for s in series] + (["chance"] if diagonal else [])
    parts.append(_legend(names, x0, 33, styles=["solid"] * len(series) + ["dashed"]))
    parts.append("</svg>")
    return "".join(parts)
