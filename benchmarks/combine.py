"""``python -m benchmarks.combine NAME LABEL LABEL ... --label OUT``: one result from runs over different seeds.

A run with ``--first-seed`` adds seeds to an earlier run of the same benchmark and settings (for
example ``--seeds 2`` then ``--first-seed 2 --seeds 1``). This reads the per-study rows of their
result files ``results/<NAME>.<LABEL>.json``, checks that the runs differ only in their seeds, and
summarises the rows again as one run over all the seeds would, into ``<NAME>.<OUT>.json`` and
``.md``. The combined file names its sources, and ``benchmarks.compose`` shows it in their place.
Only benchmarks whose module has ``tables(runs, settings)`` can be combined.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import BENCHMARKS, RESULTS
from benchmarks.report import write_result
from benchmarks.settings import Settings, parse_label

#: Settings in which the combined runs may differ.
SEED_SETTINGS = ("seeds", "first_seed", "label")


class CombineError(ValueError):
    """Result files that cannot be combined; the message names the file and the field."""


def load(results: Path, name: str, label: str) -> dict[str, Any]:
    """The JSON result of benchmark ``name`` labelled ``label``."""
    path = results / f"{name}.{label}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CombineError(f"{path}: no such result file; run the benchmark with --label {label} first") from None
    if document.get("benchmark") != name or document.get("mode") != "full":
        raise CombineError(f"{path}: not a full-mode result of {name}")
    return document


def settings_of(document: dict[str, Any], path: str) -> Settings:
    """The :class:`Settings` a result file records (tuples restored; a file from before ``first_seed`` ran from seed 0)."""
    known = {f.name for f in fields(Settings)}
    recorded = document["settings"]
    unknown = sorted(set(recorded) - known)
    if unknown:
        raise CombineError(f"{path}: settings {', '.join(unknown)} unknown to this version of the benchmarks")
    return Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in recorded.items()})


def combine(name: str, labels: Sequence[str], out_label: str, results: Path = RESULTS) -> tuple[Path, Path]:
    """Combine the runs ``labels`` of benchmark ``name`` into ``<name>.<out_label>``; returns the JSON and Markdown paths."""
    module = BENCHMARKS.get(name)
    if module is None:
        raise CombineError(f"unknown benchmark {name}; choose from {', '.join(BENCHMARKS)}")
    if not hasattr(module, "tables"):
        raise CombineError(f"benchmark {name} cannot be combined (its module has no tables(runs, settings))")
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise CombineError("give two or more different labels to combine")
    if out_label in labels:
        raise CombineError(f"--label {out_label} would overwrite one of the runs it combines; give a new label")
    documents = {label: load(results, name, label) for label in labels}
    recorded = {label: settings_of(document, f"{name}.{label}.json") for label, document in documents.items()}
    first_label, first = labels[0], documents[labels[0]]
    base = recorded[first_label]
    runs, seeds = [], set()
    for label, document in documents.items():
        path, settings = f"{name}.{label}.json", recorded[label]
        for field in fields(Settings):
            if field.name not in SEED_SETTINGS and getattr(settings, field.name) != getattr(base, field.name):
                raise CombineError(f"{path}: setting {field.name} is {getattr(settings, field.name)!r}, "
                                   f"{getattr(base, field.name)!r} in {name}.{first_label}.json; only the seeds may differ")  # fmt: skip
        if document["versions"] != first["versions"]:
            raise CombineError(f"{path}: package versions {document['versions']} differ from {name}.{first_label}.json's")
        rows = pd.DataFrame(document["tables"][-1]["rows"])
        overlap = seeds & set(rows["seed"])
        if overlap:
            raise CombineError(f"{path}: seed(s) {sorted(overlap)} already in another file; run the new seeds with --first-seed")
        seeds |= set(rows["seed"])
        runs.append(rows)
    if seeds != set(range(min(seeds), min(seeds) + len(seeds))):
        raise CombineError(f"the seeds {sorted(seeds)} leave a gap; run the missing ones with --first-seed")
    settings = replace(base, seeds=len(seeds), first_seed=min(seeds), label=out_label)
    frame = pd.concat(runs, ignore_index=True).sort_values("seed", kind="stable", ignore_index=True)
    sources = [
        {"file": f"{name}.{label}", "command": d["command"], "date": d["date"], "elapsed_s": d["elapsed_s"],
         "load": d["machine"]["load_average_1m_at_start"]}
        for label, d in documents.items()
    ]  # fmt: skip
    command = "python -m benchmarks.combine " + shlex.join([name, *labels, "--label", out_label])
    return write_result(
        name, module.TITLE, module.tables(frame, settings), settings, results, command=command, sources=sources,
        elapsed_s=sum(d["elapsed_s"] for d in documents.values()), host=first["machine"], versions=first["versions"],
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.combine", description="Combine result files of one benchmark, run over different seeds, into one result.")
    p.add_argument("name", metavar="NAME", help="the benchmark, e.g. equal-time")
    p.add_argument("labels", nargs="+", metavar="LABEL", help="labels of the runs to combine")
    p.add_argument("--label", type=parse_label, required=True, help="label of the combined result")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder of the result files (default: %(default)s)")
    args = p.parse_args(argv)
    try:
        json_path, md_path = combine(args.name, args.labels, args.label, args.out)
    except CombineError as exc:
        print(f"python -m benchmarks.combine: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {json_path} and {md_path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
