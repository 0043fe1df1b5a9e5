"""Charts drawn on the server as SVG: nothing to download, print-friendly, readable by screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def bars(rows: Sequence[tuple[str, float, str]], title: str, unit: str = "", width: int = 720,
         bar_height: int = 16, label_width: int = 150) -> Markup:
    """Horizontal bars: (label, value, css class) per row; negative values grow to the left."""
    if not rows:
        return Markup("")
    values = [v for _, v, _ in rows]
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    plot = width - label_width - 90
    zero = label_width + plot * (-low / span)
    height = len(rows) * (bar_height + 4) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height - 20}" stroke="#8a93a0"/>']
    colours = {"own": "#d9822b", "inherited": "#4a78b5", "up": "#2e7d4f", "down": "#b3261e", "": "#4a78b5"}
    for i, (label, value, css) in enumerate(rows):
        y = i * (bar_height + 4) + 4
        x_end = label_width + plot * ((value - low) / span)
        x, w = (zero, x_end - zero) if value >= 0 else (x_end, zero - x_end)
        parts.append(f'<text x="{label_width - 6}" y="{y + bar_height - 4}" text-anchor="end" font-size="12">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{bar_height}" '
                     f'fill="{colours.get(css, colours[""])}">'
                     f'<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>')
        parts.append(f'<text x="{max(x_end, zero) + 4:.1f}" y="{y + bar_height - 4}" font-size="12">'
                     f'{value:g}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
