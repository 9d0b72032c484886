"""Timing, machine description and the result files (JSON + Markdown) of each benchmark."""

from __future__ import annotations

import json
import os
import platform
import shlex
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.settings import Settings
from hpo.drivers.config import package_versions


@dataclass
class Table:
    """One result table: a title, its rows (a DataFrame) and notes printed under it."""

    title: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        body = self.frame.to_markdown(index=False, floatfmt=".4g") if len(self.frame) else "(no rows)"
        notes = "".join(f"\n- {n}" for n in self.notes)
        return f"### {self.title}\n\n{body}\n{notes}\n"

    def text(self) -> str:
        body = self.frame.to_string(index=False, float_format=lambda v: f"{v:.4g}") if len(self.frame) else "(no rows)"
        notes = "".join(f"\n  * {n}" for n in self.notes)
        return f"== {self.title} ==\n{body}{notes}\n"


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` leaves the elapsed wall-clock seconds in ``t["s"]``."""
    timer = {"start": time.perf_counter(), "s": 0.0}
    try:
        yield timer
    finally:
        timer["s"] = time.perf_counter() - timer["start"]


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, OS and Python of this machine."""
    import psutil

    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "os": platform.platform(),
        "python": platform.python_version(),
    }



def write_result(
    name: str, title: str, tables: list[Table], settings: Settings, out: Path, *, argv: Sequence[str], elapsed_s: float, host: dict[str, Any]
) -> tuple[Path, Path]:
    """Write ``<out>/<name>[.<label>][.quick].json`` and ``.md`` (``argv``: the command's arguments); returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    stem = ".".join(part for part in (name, settings.label, "quick" if settings.quick else None) if part)
    header = {
        "benchmark": name,
        "title": title,
        "mode": settings.mode,
        "command": "python -m benchmarks " + shlex.join(argv),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "machine": host,
        "versions": package_versions(),
        "settings": vars(settings),
        "notes": list(settings.notes),
    }
    document = {**header, "tables": [{"title": t.title, "notes": t.notes, "rows": t.frame.to_dict(orient="records")} for t in tables]}
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    _write_atomic(json_path, json.dumps(document, indent=2, default=_json_default))
    md = [
        f"## {title} ({', '.join(filter(None, (settings.mode, settings.label)))})\n",
        f"- command: `{header['command']}`",
        f"- date: {header['date']}, {header['elapsed_s']} s",
        f"- machine: {host['usable_cores']} cores ({host['cpu_model']}), {host['memory_gib']} GiB, "
        f"load average {host['load_average_1m_at_start']} at start",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in header["versions"].items()),
        f"- events per dataset: {settings.events or 'all'}; seeds: {settings.seeds}; workers: {settings.jobs}",
        *(f"- {n}" for n in settings.notes),
        "",
        *(t.markdown() for t in tables),
    ]
    _write_atomic(md_path, "\n".join(md))
    return json_path, md_path


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)
