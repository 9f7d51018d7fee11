"""Lineage graphs as SVG, drawn here: a layered layout (longest path from the sources), one
column of boxes per layer, boxes coloured by domain, edges as curves. No external service.

>>> svg = render_svg([Node("a", "a", "d1"), Node("b", "b", "d2")], [("a", "b")], title="t")
>>> svg.startswith("<svg") and svg.count('fill="#fff"') == 2 and "<path" in svg  # 2 boxes, 1 edge
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d",
           "#dc2626")
BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 260, 46, 90, 18, 20


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    domain: str
    sublabel: str = ""
    href: str | None = None
    highlight: bool = False


def domain_colours(domains: Iterable[str]) -> dict[str, str]:
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(sorted(set(domains)))}


def _layers(nodes: Sequence[Node], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    ids = {n.id for n in nodes}
    parents: dict[str, set[str]] = defaultdict(set)
    for up, down in edges:
        if up in ids and down in ids and up != down:
            parents[down].add(up)
    layer: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str]) -> int:
        if node in layer:
            return layer[node]
        ups = [p for p in parents[node] if p not in seen]  # a cycle is cut where it closes
        d = 0 if not ups else 1 + max(depth(p, seen | {node}) for p in ups)
        layer[node] = d
        return d

    for n in nodes:
        depth(n.id, frozenset())
    return layer


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_svg(nodes: Sequence[Node], edges: Sequence[tuple[str, str]], *, title: str,
               colours: dict[str, str] | None = None) -> str:
    """An SVG of the graph; every label is escaped (names come from metadata)."""
    if not nodes:
        return ""
    colours = colours or domain_colours(n.domain for n in nodes)
    layer = _layers(nodes, edges)
    columns: dict[int, list[Node]] = defaultdict(list)
    for n in sorted(nodes, key=lambda n: (n.domain, n.label)):
        columns[layer[n.id]].append(n)
    pos: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        for row, n in enumerate(members):
            pos[n.id] = (PAD + col * (BOX_W + GAP_X), PAD + 22 + row * (BOX_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (BOX_W + GAP_X) - GAP_X
    height = PAD * 2 + 22 + max(len(m) for m in columns.values()) * (BOX_H + GAP_Y) - GAP_Y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#94a3b8"/></marker></defs>']
    # Domain legend.
    x = PAD
    for domain, colour in sorted(colours.items()):
        if not any(n.domain == domain for n in nodes):
            continue
        out.append(f'<rect x="{x}" y="{PAD - 6}" width="10" height="10" rx="2" fill="{colour}"/>'
                   f'<text x="{x + 15}" y="{PAD + 3}" class="legend">{escape(domain)}</text>')
        x += 30 + 7 * len(domain)
    for up, down in edges:
        if up not in pos or down not in pos:
            continue
        (x1, y1), (x2, y2) = pos[up], pos[down]
        sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H // 2, x2, y2 + BOX_H // 2
        mid = (sx + ex) // 2
        out.append(f'<path class="edge" d="M{sx},{sy} C{mid},{sy} {mid},{ey} {ex - 2},{ey}" '
                   f'fill="none" stroke="#94a3b8" stroke-width="1.5" marker-end="url(#arrow)"/>')
    for n in nodes:
        nx, ny = pos[n.id]
        colour = colours.get(n.domain, "#64748b")
        stroke_width = "3" if n.highlight else "1.5"
        box = [f'<g class="node" data-id="{escape(n.id)}">',
               f"<title>{escape(n.id)}</title>",
               f'<rect x="{nx}" y="{ny}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#fff"'
               f' stroke="{colour}" stroke-width="{stroke_width}"/>',
               f'<rect x="{nx}" y="{ny}" width="6" height="{BOX_H}" rx="3" fill="{colour}"/>',
               f'<text x="{nx + 16}" y="{ny + 19}" class="label">{escape(_truncate(n.label, 34))}'
               "</text>"]
        if n.sublabel:
            box.append(f'<text x="{nx + 16}" y="{ny + 36}" class="sublabel">'
                       f"{escape(_truncate(n.sublabel, 40))}</text>")
        box.append("</g>")
        if n.href:
            box = [f'<a href="{escape(n.href)}">', *box, "</a>"]
        out += box
    out.append("</svg>")
    return "\n".join(out)
