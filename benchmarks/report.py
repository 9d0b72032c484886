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

    def markdown(self, level: int = 3) -> str:
        """The table under a heading of ``level`` (3: inside a result file), its notes as a list."""
        body = self.frame.to_markdown(index=False, floatfmt=".4g") if len(self.frame) else "(no rows)"
        notes = "".join(f"\n- {n}" for n in self.notes)
        return f"{'#' * level} {self.title}\n\n{body}\n{notes}\n"

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
    name: str,
    title: str,
    tables: list[Table],
    settings: Settings,
    out: Path,
    *,
    argv: Sequence[str] = (),
    elapsed_s: float,
    host: dict[str, Any],
    command: str | None = None,
    sources: Sequence[dict[str, Any]] = (),
    versions: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """Write ``<out>/<name>[.<label>][.quick].json`` and ``.md``; returns both paths.

    ``argv``: the arguments of ``python -m benchmarks``, unless ``command`` gives the whole command;
    ``sources``: the result files this one combines (``file``, ``command``, ``date``, ``elapsed_s``, ``load``),
    and ``versions`` the package versions they ran with (default: this environment's).
    """
    out.mkdir(parents=True, exist_ok=True)
    stem = ".".join(part for part in (name, settings.label, "quick" if settings.quick else None) if part)
    header = {
        "benchmark": name,
        "title": title,
        "mode": settings.mode,
        "command": command or "python -m benchmarks " + shlex.join(argv),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 1),
        "machine": host,
        "versions": versions or package_versions(),
        "settings": vars(settings),
        "notes": list(settings.notes),
        "combines": list(sources),
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
        *(f"- combines `{s['file']}`: `{s['command']}` ({s['date']}, {s['elapsed_s']} s, load average {s['load']} at start)" for s in sources),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in header["versions"].items()),
        f"- events per dataset: {settings.events or 'all'}; seeds: {_seeds(settings.seed_values)}; workers: {settings.jobs}",
        *(f"- {n}" for n in settings.notes),
        "",
        *(t.markdown() for t in tables),
    ]
    _write_atomic(md_path, "\n".join(md))
    return json_path, md_path


def _seeds(values: range) -> str:
    """``3`` for seeds 0, 1, 2; ``1 (seed 2)`` or ``2 (seeds 2-3)`` for a run that starts later."""
    if values.start == 0:
        return str(len(values))
    return f"{len(values)} (seed {values.start})" if len(values) == 1 else f"{len(values)} (seeds {values.start}-{values[-1]})"


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
