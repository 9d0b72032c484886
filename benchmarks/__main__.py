"""``python -m benchmarks [NAME ...] [--quick] [--out DIR] [--seeds N] ...``: run and record benchmarks."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import optuna

from benchmarks import BENCHMARKS, RESULTS
from benchmarks.report import machine, stopwatch, write_result
from benchmarks.session import Session
from benchmarks.settings import ALGOS, DATASETS, FEATURE_SETS, FULL, QUICK, ROWS, Settings, parse_label


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _choices(allowed: Sequence[str]):
    def parse(text: str) -> tuple[str, ...]:
        values = tuple(v for v in text.split(",") if v)
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad) or 'empty list'}; choose from {', '.join(allowed)}")
        return values

    return parse


def _positive(text: str) -> int:
    value = _ints(text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"expected one positive integer, got {text!r}")
    return value[0]


def _seed(text: str) -> int:
    """A seed: a non-negative integer."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _events(text: str) -> int | str:
    """A positive event count, or ``all``."""
    return "all" if text == "all" else _positive(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    p.add_argument("--quick", action="store_true", help="small CI-sized run (< 5 min on 2 cores), labelled as such")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and Markdown results (default: %(default)s)")
    p.add_argument("--seeds", type=_positive, help="seeds per configuration (medians are over these)")
    p.add_argument("--first-seed", type=_seed, help="the first seed (default 0): --first-seed 2 --seeds 1 adds a third seed to a run of 2")
    p.add_argument("--events", type=_events, help="events drawn from each dataset, or 'all' (default: 8000; quick 1500)")
    p.add_argument("--features", type=_choices(FEATURE_SETS), help="comma-separated feature sets of multi-fidelity and equal-time: low,high (default low)")
    p.add_argument("--budgets", type=_ints, help="equal-budget trial counts, e.g. 10,25,50,100")
    p.add_argument("--wall-budgets", type=_ints, help="equal-time budgets in seconds, e.g. 600,1800,3600 (the largest is each study's --timeout)")
    p.add_argument("--trials", type=_positive, help="trials of hpo studies in time-to-target, raw-libraries, scaling, multi-fidelity and small-sample")
    p.add_argument("--overhead-trials", type=_ints, help="the two study sizes of the overhead benchmark, e.g. 200,1000")
    p.add_argument("--jobs", type=_positive, help="worker processes (default 2)")
    p.add_argument("--datasets", type=_choices(list(DATASETS)), help=f"comma-separated: {', '.join(DATASETS)}")
    p.add_argument("--models", type=_choices(ROWS), help=f"comma-separated: {', '.join(ROWS)} (rf-xgboost: rf on XGBoost's engine)")
    p.add_argument("--algos", type=_choices(ALGOS), help=f"comma-separated: {', '.join(ALGOS)}")
    p.add_argument("--ann-epochs", type=_positive, help="epoch cap of the ANN")
    p.add_argument("--rf-max-trees", type=_positive, help="n_estimators cap of the general RF space (default 300)")
    p.add_argument("--no-exercise", dest="exercise", action="store_false", help="leave out the exercise's hand-picked configurations")
    p.add_argument("--label", type=parse_label, help="suffix of the result files, for one benchmark split over several runs")
    p.add_argument("--store", type=Path, metavar="DIR", help="keep the run's studies in DIR/benchmarks.db, to read with hpo list/show or the dashboard (default: a temporary store, removed at the end)")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else FULL
    overhead = args.overhead_trials
    if overhead is not None and len(overhead) != 2:
        raise SystemExit("--overhead-trials: give two sizes, e.g. 200,1000")
    settings = base.with_overrides(
        seeds=args.seeds, first_seed=args.first_seed, events=None if args.events == "all" else args.events, budgets=args.budgets, jobs=args.jobs, datasets=args.datasets,
        models=args.models, algos=args.algos, ann_epochs=args.ann_epochs, rf_max_trees=args.rf_max_trees,
        label=args.label, overhead_trials=overhead, exercise=args.exercise,
        target_trials=args.trials, raw_trials=args.trials, scaling_trials=args.trials,
        real_overhead_trials=args.trials, fidelity_trials=args.trials, noise_trials=args.trials, feature_sets=args.features,
        wall_budgets_s=args.wall_budgets,
    )  # fmt: skip
    return replace(settings, events=None) if args.events == "all" else settings


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser().error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    if args.store is not None:
        if args.store.exists() and not args.store.is_dir():
            parser().error(f"--store {args.store}: not a folder; give a new folder for the run's studies")
        if (args.store / "benchmarks.db").exists():
            parser().error(f"--store {args.store}: it already holds benchmarks.db; give a new folder (a timed study must start empty)")
    settings = settings_from(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    host = machine()
    session = Session(settings, store_dir=args.store)
    try:
        for name in args.names or list(BENCHMARKS):
            module = BENCHMARKS[name]
            print(f"\n#### {name}: {module.TITLE} ({settings.mode}) - started {time.strftime('%H:%M:%S')}", flush=True)
            with stopwatch() as t:
                tables = module.run(session)
            for table in tables:
                print(table.text(), flush=True)
            json_path, md_path = write_result(name, module.TITLE, tables, settings, args.out, argv=argv, elapsed_s=t["s"], host=host)
            print(f"{name}: {t['s']:.0f} s; wrote {json_path} and {md_path.name}", flush=True)
    finally:
        session.close()
    if args.store is not None:
        print(f"studies kept in {session.storage}: hpo list --storage {session.storage}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
