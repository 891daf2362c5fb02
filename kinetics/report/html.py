"""The report's HTML: sections, tables, figures and notes, assembled into one self-contained page.

No script, no font, no stylesheet or image is fetched: CSS is inline and images are data URIs,
so the file opens the same offline, attached to an email or years later. Every piece of text
from the corpus (labels, messages, paths) is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape


@dataclass
class Section:
    """One part of the report: a heading, an introduction, blocks of HTML and notes on what is missing."""

    anchor: str
    title: str
    intro: str = ""
    blocks: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # plain text: what this section could not show, and why
    images: int = 0

    def add(self, block: str) -> None:
        self.blocks.append(block)

    def figure(self, uri: str, caption: str, *, alt: str | None = None) -> None:
        self.images += 1
        self.blocks.append(
            f'<figure><img src="{uri}" alt="{escape(alt or caption)}"><figcaption>{escape(caption)}</figcaption></figure>')

    def note_missing(self, text: str) -> None:
        self.missing.append(text)

    def render(self) -> str:
        parts = [f'<section id="{escape(self.anchor)}"><h2>{escape(self.title)}</h2>']
        if self.intro:
            parts.append(f'<p class="intro">{escape(self.intro)}</p>')
        parts.extend(f'<p class="missing">{escape(text)}</p>' for text in self.missing)
        parts.extend(self.blocks)
        parts.append("</section>")
        return "\n".join(parts)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, numeric_from: int = 1, caption: str | None = None,
          table_id: str | None = None) -> str:
    """An HTML table; columns from ``numeric_from`` on are right-aligned numbers (ints get thousands commas)."""
    head = "".join(f'<th{_num(i, numeric_from)}>{escape(str(h))}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{_num(i, numeric_from)}>{escape(cell_text(value))}</td>" for i, value in enumerate(row)) + "</tr>"
        for row in rows
    )
    title = f"<caption>{escape(caption)}</caption>" if caption else ""
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return f"<table{ident}>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cell_text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.{digits}f}%"


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def definition_list(items: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items) + "</dl>"


def _num(index: int, numeric_from: int) -> str:
    return ' class="num"' if index >= numeric_from else ""


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:0 24px 48px;color:#222}
header{border-bottom:2px solid #333;margin-bottom:12px}
h1{font-size:24px;margin:20px 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}
nav ol{columns:3;margin:6px 0 12px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}
figure{margin:10px 0 18px}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:12px;color:#555}
p.intro{color:#444}p.missing{background:#fff4e5;border-left:4px solid #edae49;padding:6px 10px;margin:6px 0}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dt{font-weight:600}dd{margin:0;word-break:break-all}
.summary{background:#f6f8fa;padding:8px 14px;border-radius:4px}
footer{margin-top:40px;font-size:12px;color:#666}
"""


def page(title: str, subtitle: str, sections: Sequence[Section], *, summary: Sequence[str] = (), footer: str = "") -> str:
    """The whole document: header, contents, a summary of what is missing, the sections."""
    contents = "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>' for s in sections)
    lines = "".join(f"<li>{escape(line)}</li>" for line in summary)
    summary_html = f'<div class="summary"><strong>Not shown</strong><ul>{lines}</ul></div>' if lines else ""
    body = "\n".join(s.render() for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<nav><ol>{contents}</ol></nav>{summary_html}\n{body}\n<footer>{escape(footer)}</footer></body></html>\n"
    )
