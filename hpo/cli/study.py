"""``hpo run``, ``resume``, ``list``, ``show``, ``best`` and ``dashboard``: studies in the store.

A thin layer over :mod:`hpo.drivers` and :mod:`hpo.store`: parse options, call, print. Each
handler imports what it runs (see :mod:`hpo.cli`).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from hpo.cli.cluster import add_backend_options, add_timeout_option
from hpo.cli.data import add_data_options, prepared_from_args
from hpo.errors import UsageError
from hpo.fidelity import FIDELITY_HELP, check_budget_options, parse_fidelity
from hpo.models import available_models
from hpo.options import ALGORITHMS, DEFAULT_JOBS, DEFAULT_MAX_GRID_POINTS, DEFAULT_TRIALS, PRUNERS

if TYPE_CHECKING:
    import optuna

_STORAGE_HELP = "SQLAlchemy URL of the study store (default: sqlite:///<hpo home>/hpo.db)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the study sub-commands to the ``hpo`` parser."""
    run = sub.add_parser("run", help="run (or continue) a hyperparameter study")
    run.add_argument("--model", required=True, metavar="MODEL",
                     help=f"classifier to tune: {', '.join(available_models())}, or a hpo.models.Model subclass as package.module:Class")
    run.add_argument("--algo", choices=ALGORITHMS, required=True, help="search algorithm (bayes: scikit-optimize GP; kt-*: KerasTuner, ANN only)")
    run.add_argument("--trials", type=int, default=None, metavar="N",
                     help=f"total trials of the study (default: {DEFAULT_TRIALS}; grid: every point)")
    _add_jobs(run)
    run.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    run.add_argument("--study", metavar="NAME", default=None, help="study name (default: <model>-<algo>-<dataset hash>)")
    run.add_argument("--space", metavar="NAME_OR_YAML", default=None,
                     help="search space name in search_spaces/ or a YAML file (default: the model's name)")
    run.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                     help="pin a setting or hyperparameter, e.g. --set epochs=20 (repeatable)")
    run.add_argument("--seed", type=int, default=0, help="seed of the samplers and of model training (default: 0)")
    run.add_argument("--metric", default="auc", help="validation score to maximise: auc, ams or sig_eff@B (default: auc)")
    run.add_argument("--prune", choices=PRUNERS, default="none",
                     help="stop unpromising trials early: median, halving (successive halving), hyperband, wilcoxon (with --cv) (default: none)")
    run.add_argument("--fidelity", default="none", metavar="RUNGS",
                     help=f"multi-fidelity: train each trial on growing nested fractions of the training events and prune at each rung: {FIDELITY_HELP} (default: none; needs --prune median, halving or hyperband)")
    run.add_argument("--cv", type=int, default=0, metavar="K",
                     help="score each configuration by K-fold cross-validation on train+validation (stratified, folds fixed by --seed; default: 0, the validation split)")
    run.add_argument("--grid-levels", type=int, default=None, metavar="N",
                     help="grid points per numeric range without explicit values (grid only; default: the space's)")
    run.add_argument("--max-grid-points", type=int, default=DEFAULT_MAX_GRID_POINTS, metavar="N",
                     help=f"refuse grids of more points than this (default: {DEFAULT_MAX_GRID_POINTS:,})")
    run.add_argument("--repeats", type=int, default=None, metavar="K",
                     help="run K studies that differ only in their seed (--seed, +1, ...), named <study>-seed<k>, for 'hpo compare'")
    add_timeout_option(run)
    _add_quiet(run)
    add_data_options(run)
    run.set_defaults(handler=_run)

    resume = sub.add_parser("resume", help="continue a study with its own algorithm, space and dataset")
    resume.add_argument("study", metavar="STUDY")
    resume.add_argument("--trials", type=int, default=None, metavar="M", help="new total number of trials (default: the recorded target)")
    _add_jobs(resume)
    resume.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    resume.add_argument("--prepared", metavar="HASH_OR_PATH", default=None, help="use this prepared dataset instead of the recorded one")
    resume.add_argument("--force", action="store_true", help="continue even if the dataset's hash differs from the recorded one")
    add_timeout_option(resume)
    _add_quiet(resume)
    resume.set_defaults(handler=_resume)

    listing = sub.add_parser("list", help="list the studies in the store")
    listing.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    listing.set_defaults(handler=_list)

    check = sub.add_parser("check", help="check a study's store: trial states, heartbeats, orphan rows, dataset, budget")
    check.add_argument("study", metavar="STUDY")
    check.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    check.set_defaults(handler=_check)

    show = sub.add_parser("show", help="a study's settings, best trial, trials by state and timing")
    show.add_argument("study", metavar="STUDY")
    show.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    show.set_defaults(handler=_show)

    best = sub.add_parser("best", help="retrain the best configuration on train+validation and test it")
    best.add_argument("study", metavar="STUDY")
    best.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    best.add_argument("--quiet", action="store_true", help="no progress display (none is drawn when output is not a terminal)")
    best.set_defaults(handler=_best)

    delete = sub.add_parser("delete", help="delete a study from the store, with its folder of results")
    delete.add_argument("study", metavar="STUDY")
    delete.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=_delete)

    dashboard = sub.add_parser("dashboard", help="serve optuna-dashboard on the store")
    dashboard.add_argument("--storage", metavar="URL", default=None, help=_STORAGE_HELP)
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    dashboard.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    dashboard.set_defaults(handler=_dashboard)


def _add_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help=f"workers sharing the study (default: {DEFAULT_JOBS}; KerasTuner: 1)")
    add_backend_options(parser)


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _run(args: argparse.Namespace) -> int:
    from hpo.models import default_space
    from hpo.spaces import check_grid_size, load_space, parse_assignments

    space = load_space(args.space) if args.space else default_space(args.model)
    if args.set:
        space = space.with_overrides(parse_assignments(args.set))
    if args.max_grid_points < 1:
        raise UsageError(f"--max-grid-points must be a positive integer, got {args.max_grid_points}")
    if args.algo == "grid" and (args.grid_levels is None or args.grid_levels >= 1):  # counted before the data is prepared
        check_grid_size(space.grid(args.grid_levels), args.max_grid_points, space.source, args.grid_levels)
    check_budget_options(args.prune, parse_fidelity(args.fidelity), args.cv, args.algo)  # before the data is prepared
    from hpo import drivers  # after the checks above: a refused grid is told before the drivers load

    data = prepared_from_args(args)
    options = dict(
        space=space, n_trials=args.trials, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
        storage=args.storage, study_name=args.study, seed=args.seed, metric=args.metric, prune=args.prune,
        grid_levels=args.grid_levels, max_grid_points=args.max_grid_points, fidelity=args.fidelity, cv=args.cv,
        timeout=args.timeout, progress=not args.quiet,
    )  # fmt: skip
    if args.repeats is not None:
        return _finish(lambda: drivers.run_repeats(args.model, args.algo, data, repeats=args.repeats, **options), args.storage)
    return _finish(lambda: drivers.run(args.model, args.algo, data, **options), args.storage)


def _resume(args: argparse.Namespace) -> int:
    from hpo import drivers

    return _finish(
        lambda: drivers.resume(
            args.study, storage=args.storage, n_trials=args.trials, jobs=args.jobs, backend=args.backend,
            scheduler=args.scheduler, data=args.prepared,
            force=args.force, timeout=args.timeout, progress=not args.quiet,
        ),
        args.storage,
    )  # fmt: skip


def _finish(start: Callable[[], optuna.Study | list[optuna.Study]], storage: str | None) -> int:
    import optuna

    from hpo import drivers
    from hpo.drivers.stopping import interrupt_once
    from hpo.drivers.summary import end_summary

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the progress bar replaces per-trial lines
    started = time.monotonic()
    try:
        with interrupt_once():
            studies = start()
    except drivers.WorkerDied as err:
        print(f"hpo: {err}", file=sys.stderr)
        return 1
    except drivers.StudyStopped as err:
        print(f"hpo: {err}", file=sys.stderr)
        return err.exit_status
    studies = studies if isinstance(studies, list) else [studies]
    print(end_summary(studies, storage, time.monotonic() - started))
    return 0 if all(study.best_trials for study in studies) else 1


def _list(args: argparse.Namespace) -> int:
    from hpo import paths
    from hpo.store import list_studies, open_storage, redact

    studies = list_studies(open_storage(args.storage, create=False))
    if not studies:
        print(f"no studies in {redact(args.storage or paths.default_storage_url())}; start one with 'hpo run'")
        return 0
    states = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
    header = ["STUDY", "MODEL", "ALGO", *states, "TARGET", "BEST"]
    rows = [
        [s.name if paths.is_study_name(s.name) else ascii(s.name), str(s.attrs.get("model", "-")), str(s.attrs.get("algo", "-")), *(str(s.counts.get(k, 0)) for k in states),
         str(s.attrs.get("target_trials", "-")), "-" if s.best_value is None else f"{s.best_value:.4f}"]
        for s in studies
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0


def _show(args: argparse.Namespace) -> int:
    from hpo import drivers
    from hpo.drivers.summary import duration_text
    from hpo.store import open_storage

    open_storage(args.storage, create=False)  # a missing or foreign store is refused, not created
    r = drivers.study_report(args.study, args.storage)
    a = r.attrs
    print(f"study       {r.name}")
    print(f"store       {r.store}")
    print(f"model       {a.get('model', '-')}   algorithm {a.get('algo', '-')}   metric {a.get('metric', '-')}   prune {a.get('prune', '-')}   seed {a.get('seed', '-')}")
    code = a.get("model_code") or {}
    if code and not str(code.get("module", "")).startswith("hpo."):
        print(f"model code  {code.get('module')}:{code.get('class')} {code.get('version')}")
    print(f"dataset     {a.get('dataset_name', '-')} {str(a.get('dataset_hash', '-'))[:12]} ({a.get('dataset_path', '-')})")
    print(f"trials      {r.counted}/{r.target} counted; " + ", ".join(f"{k.lower()} {v}" for k, v in r.counts.items()))
    if r.mean_trial_s is not None:
        print(f"time        {duration_text(r.wall_s)} wall, {duration_text(r.mean_trial_s)} per trial on average")
    if r.best_value is None:
        print("best        no complete trial yet")
    else:
        print(f"best        {r.best_value:.5f} (trial {r.best_trial})")
        for key, value in (r.best_params or {}).items():
            print(f"  {key:<20} {value}")
    if "best_test_auc" in a:
        tested = a.get("best_trial_number")
        if tested == r.best_trial:
            print(f"test AUC    {a['best_test_auc']:.5f} (retrained by 'hpo best')")
        else:  # the study went on: that figure belongs to an earlier best trial
            print(f"test AUC    {a['best_test_auc']:.5f} of trial {tested if tested is not None else '?'}, no longer the best; "
                  f"run 'hpo best {r.name}' for trial {r.best_trial}")  # fmt: skip
    for line in drivers.budget_lines(r):
        print(line)
    return 0


def _check(args: argparse.Namespace) -> int:
    from hpo import drivers

    problems = drivers.check_study(args.study, args.storage)
    for problem in problems:
        print(f"{args.study}: {problem}")
    if problems:
        return 1
    r = drivers.study_report(args.study, args.storage)
    print(f"study {r.name} in {r.store}: healthy; {r.counted}/{r.target} trials counted; " + ", ".join(f"{k.lower()} {v}" for k, v in r.counts.items()))
    return 0


def _best(args: argparse.Namespace) -> int:
    from hpo import drivers, progress
    from hpo.drivers.summary import storage_option

    with progress.working(f"retraining the best configuration of {args.study}", enabled=not args.quiet):
        result = drivers.best(args.study, args.storage)
    print(f"study {result.study_name}: best trial {result.trial_number}, validation {result.val_score:.5f}, test AUC {result.test_auc:.5f}")
    print(f"model and test predictions saved in {result.folder}")
    print(f"next: hpo report {result.study_name}{storage_option(args.storage)}   # HTML report of the study and this model")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from hpo import drivers
    from hpo.drivers.deleting import study_folder
    from hpo.store import load_study, open_storage

    if not args.yes:
        study = load_study(args.study, open_storage(args.storage, create=False))
        folder = study_folder(args.study)
        what = f"study {args.study!r} ({len(study.get_trials(deepcopy=False))} trials)" + (f" and its folder {folder}" if folder else "")
        if not sys.stdin.isatty():
            raise UsageError(f"'hpo delete' would delete {what}; pass --yes to do so without a terminal to confirm on")
        if input(f"delete {what}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    deleted = drivers.delete(args.study, args.storage)
    folder = f" and {deleted.folder}" if deleted.folder else ""
    print(f"deleted study {deleted.name!r} ({deleted.trials} trials){folder}")
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    import optuna_dashboard

    from hpo.store import open_storage, redact

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: choose a port between 1 and 65535")
    # The default store may start empty (studies started later appear in it); a store named by
    # --storage must exist, so that a mistyped path is refused instead of created.
    storage = open_storage(args.storage, create=args.storage is None)
    if not _is_loopback(args.host):
        print(f"hpo: warning: the dashboard on {args.host} is reachable from other machines and can delete studies",
              file=sys.stderr)  # fmt: skip
    print(f"dashboard of {redact(storage.url)} at http://{args.host}:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        optuna_dashboard.run_server(storage, host=args.host, port=args.port)
    except OSError as err:
        raise UsageError(f"cannot serve on {args.host}:{args.port} ({err.strerror or err}); pick another --port or --host") from None
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

