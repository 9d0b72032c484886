"""A report as one self-contained HTML page (PNG figures embedded as base64) and its Markdown twin.

A report is a list of :class:`Section` objects; both renderings come from the same sections, so
they always say the same thing. Numbers with a ``key`` are tagged in the HTML
(``<span id="KEY" data-value="FULL PRECISION">``) so that tools and tests can read them back.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd


@dataclass(frozen=True)
class Fact:
    """One labelled value of a section (``key``: an HTML id for machine reading)."""

    label: str
    value: Any
    key: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.value, float):
            return f"{self.value:.4f}" if abs(self.value) < 1e4 else f"{self.value:.4g}"
        return str(self.value)


@dataclass(frozen=True)
class FigureRef:
    """A PNG file of the report and its caption."""

    path: Path
    caption: str


@dataclass
class Section:
    """A titled part of a report: facts, notes (plain sentences), an optional table and figures."""

    title: str
    facts: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figures: list[FigureRef] = field(default_factory=list)


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #eee; text-align: left; } td.num { text-align: right; font-family: monospace; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: 90%; }
.note { color: #7a4b00; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Generated {{ generated }} by hpo.</p>
{% for section in sections %}
<section id="section-{{ loop.index }}">
<h2>{{ section.title }}</h2>
{% if section.facts %}
<table class="facts">
{% for fact in section.facts %}
<tr><th>{{ fact.label }}</th><td class="num">{% if fact.key %}<span id="{{ fact.key }}" data-value="{{ fact.value }}">{{ fact.text }}</span>{% else %}{{ fact.text }}{% endif %}</td></tr>
{% endfor %}
</table>
{% endif %}
{% for note in section.notes %}<p class="note">{{ note }}</p>
{% endfor %}
{% if section.table is not none %}{{ section.table | safe }}{% endif %}
{% for figure in section.figures %}
<figure><img src="data:image/png;base64,{{ figure.data }}" alt="{{ figure.caption }}"><figcaption>{{ figure.caption }} ({{ figure.name }})</figcaption></figure>
{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""
)


def _figure_context(ref: FigureRef) -> dict[str, str]:
    return {"data": base64.b64encode(ref.path.read_bytes()).decode("ascii"), "caption": ref.caption, "name": ref.path.name}


def render_html(title: str, sections: list[Section]) -> str:
    """The self-contained HTML page: every figure is embedded, nothing is fetched."""
    context = [
        {
            "title": s.title,
            "facts": s.facts,
            "notes": s.notes,
            "table": None if s.table is None else s.table.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:.4g}"),
            "figures": [_figure_context(f) for f in s.figures],
        }
        for s in sections
    ]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return _TEMPLATE.render(title=title, sections=context, generated=generated)


def render_markdown(title: str, sections: list[Section], relative_to: Path) -> str:
    """The Markdown twin; figures are linked as PNG files relative to ``relative_to``."""
    lines = [f"# {title}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        if s.facts:
            lines += ["| | |", "|---|---|"] + [f"| {f.label} | {f.text} |" for f in s.facts] + [""]
        lines += [f"> {note}\n" for note in s.notes]
        if s.table is not None:
            lines += [s.table.to_markdown(index=False, floatfmt=".4g", missingval="-"), ""]
        for f in s.figures:
            lines += [f"![{f.caption}]({Path(os.path.relpath(f.path, relative_to)).as_posix()})", ""]
    return "\n".join(lines)


def write_report(title: str, sections: list[Section], stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.html`` and ``<stem>.md``; each file appears complete or not at all."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    outputs = {stem.with_suffix(".html"): render_html(title, sections),
               stem.with_suffix(".md"): render_markdown(title, sections, stem.parent)}
    for path, text in outputs.items():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return stem.with_suffix(".html"), stem.with_suffix(".md")
