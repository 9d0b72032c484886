"""``python -m benchmarks.compose``: rebuild the figures of ``benchmarks/RESULTS.md`` from the result files.

Everything above the ``## Figures`` heading is written by hand (what was run, the summary) and
kept; everything below it is replaced by the full-mode ``results/<name>[.<label>].md`` files,
verbatim but for their headings, which move down one level, in the order of :data:`BENCHMARKS`.
A result that ``benchmarks.combine`` merged into another is shown through the combined one only.
A benchmark whose module has ``overview(documents) -> Table`` gets that table, made from all its
full-mode JSON results, before its files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks import BENCHMARKS, RESULTS

HERE = Path(__file__).resolve().parent
FIGURES = "## Figures"


def _files_of(results: Path, name: str, suffix: str) -> list[Path]:
    """The result files of benchmark ``name`` ending in ``suffix``: unlabelled first, then by label."""
    found = [p for p in results.glob(f"{name}*{suffix}") if p.stem == name or p.stem.startswith(f"{name}.")]
    return sorted(found, key=lambda p: (p.stem != name, p.stem))


def result_files(results: Path) -> list[Path]:
    """The full-mode Markdown results in ``results``, benchmark by benchmark: unlabelled first, then by label."""
    files = []
    for name in BENCHMARKS:
        files += [p for p in _files_of(results, name, ".md") if not p.stem.endswith(".quick")]
    combined = {source["file"] for p in files for source in _combines(p.with_suffix(".json"))}
    return [p for p in files if p.stem not in combined]


def overviews(results: Path) -> dict[str, str]:
    """Benchmark name -> the Markdown of its overview of every full-mode result in ``results``, where it has one."""
    out = {}
    for name, module in BENCHMARKS.items():
        documents = [json.loads(p.read_text(encoding="utf-8")) for p in _files_of(results, name, ".json")]
        documents = [d for d in documents if d.get("mode") == "full"]
        if documents and hasattr(module, "overview"):
            out[name] = module.overview(documents).markdown(level=2).strip()
    return out


def _combines(path: Path) -> list[dict]:
    """The sources a JSON result combines (none for a plain run, or where there is no JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("combines", [])
    except FileNotFoundError:
        return []


def compose(document: Path = HERE / "RESULTS.md", results: Path = RESULTS) -> str:
    """Rewrite ``document`` below its figures heading from the files of ``results``; returns the new text."""
    text = document.read_text(encoding="utf-8")
    head, found, _ = text.partition(f"\n{FIGURES}\n")
    if not found:
        raise SystemExit(f"{document}: no '{FIGURES}' heading to write below; add it after the summary")
    pending = overviews(results)
    parts = []
    for path in result_files(results):
        name = path.stem.split(".", 1)[0]
        if name in pending:
            parts.append(pending.pop(name))
        parts.append(path.read_text(encoding="utf-8").strip())
    parts = [re.sub(r"^(#+) ", r"#\1 ", part, flags=re.MULTILINE) for part in parts]
    new = f"{head}\n{FIGURES}\n\n" + "\n\n".join(parts) + "\n"
    document.write_text(new, encoding="utf-8")
    return new


if __name__ == "__main__":
    compose()
