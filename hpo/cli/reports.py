"""Command group: ``hpo compare``, ``hpo report``, ``hpo export`` (see :mod:`hpo.reports`)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from hpo.errors import UsageError

_STORAGE_HELP = "study store URL (default: sqlite:///<hpo home>/hpo.db)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``hpo`` parser."""
    p = sub.add_parser("compare", help="best-so-far and regret curves and a table comparing studies",
                       description="Best-so-far validation score and its regret (log scale: distance to the Bayes limit "
                       "of a synthetic sample, otherwise to the best any compared study reached) against trials and "
                       "wall-clock time, one curve per study (seeds of one algorithm and model as median and "
                       "inter-quartile band), and a table.")
    p.add_argument("studies", nargs="+", metavar="STUDY", help="study names (see 'hpo list')")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <hpo home>/compare)")
    p.add_argument("--storage", metavar="URL", help=_STORAGE_HELP)
    p.add_argument("--test-auc", action="store_true",
                   help="retrain the best configuration of each study that 'hpo best' has not retrained yet, so the "
                   "table's test AUC is filled (takes one training per such study)")
    _add_quiet(p)
    p.set_defaults(handler=_compare)

    p = sub.add_parser("report", help="one study explained: HTML page and Markdown with figures",
                       description="Write a self-contained HTML report (and its Markdown twin) of a study and of its "
                       "best model, retrained as 'hpo best' does unless already saved.")
    p.add_argument("study", metavar="STUDY")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <hpo home>/<study>/report)")
    p.add_argument("--storage", metavar="URL", help=_STORAGE_HELP)
    _add_quiet(p)
    p.set_defaults(handler=_report)

    p = sub.add_parser("export", help="score the events of a ROOT or CSV file with a study's best model",
                       description="Write the best model's score for every event of an input file as CSV and as a ROOT "
                       "file (tree 'scores': run, event, valid, score).")
    p.add_argument("study", metavar="STUDY")
    p.add_argument("--input", required=True, metavar="FILE", help="ROOT or CSV file with the model's input columns")
    p.add_argument("--dataset-description", metavar="NAME|YAML",
                   help="how to read the input (preset or YAML file; default: the study's dataset description)")
    p.add_argument("--out", metavar="PREFIX", help="output path without suffix (default: <hpo home>/<study>/export/<input>_scores)")
    p.add_argument("--storage", metavar="URL", help=_STORAGE_HELP)
    _add_quiet(p)
    p.set_defaults(handler=_export)


#: Suffixes of the files reports write; an ``--out`` folder holding anything else is not a report's.
_REPORT_SUFFIXES = frozenset([".html", ".md", ".png", ".csv", ".json", ".svg"])


def check_out_folder(out: str | None, own: Iterable[str] = _REPORT_SUFFIXES) -> None:
    """Refuse an ``--out`` folder that is a file, read-only, or holds anything but files with the ``own`` suffixes
    (an earlier report may be replaced; ``--out /`` or a home folder may not be filled with figures)."""
    if out is None:
        return
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give a new or empty folder")
    if folder.is_dir():
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"--out {out} is a read-only folder; give a folder you can write to")
        own = set(own)
        others = sorted(p.name for p in folder.iterdir() if p.is_dir() or p.suffix not in own)
        if others:
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            raise UsageError(f"--out {out} already holds other files ({shown}); give a new or empty folder")
    elif not os.access(_existing_parent(folder), os.W_OK | os.X_OK):
        raise UsageError(f"--out {out} cannot be created: {_existing_parent(folder)} is read-only")


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress display (none is drawn when output is not a terminal)")


def _storage_option(storage: str | None) -> str:
    from hpo.drivers.summary import storage_option

    return storage_option(storage)


def _compare(args: argparse.Namespace) -> int:
    from hpo.reports import compare

    check_out_folder(args.out)
    result = compare(args.studies, storage=args.storage, out=args.out, test_auc=args.test_auc, show_progress=not args.quiet)
    print(result.table.to_string(index=False))
    ref = result.reference
    print(f"regret measured from the {ref.label}" + (f" ({ref.note})" if ref.note else ""))
    print(f"wrote {result.csv}, {result.markdown}, {result.by_trials}, {result.by_time}, "
          f"{result.regret_by_trials}, {result.regret_by_time}, {result.regret_csv}")
    if result.table["best_test_auc"].isna().any():
        print(f"next: hpo compare {' '.join(args.studies)} --test-auc{_storage_option(args.storage)}   # fill the test AUC column")
    else:
        winner = result.table.loc[result.table["regret"].idxmin(), "study"]
        print(f"next: hpo report {winner}{_storage_option(args.storage)}   # the best study explained")
    return 0


def _report(args: argparse.Namespace) -> int:
    from hpo.reports import report

    check_out_folder(args.out)
    result = report(args.study, storage=args.storage, out=args.out, show_progress=not args.quiet)
    print(f"test AUC {result.test_auc:.4f} (train {result.train_auc:.4f}); best cut {result.best_cut.threshold:.3f}, "
          f"AMS {result.best_cut.ams:.3f}")
    print(f"wrote {result.html} and {result.markdown} ({len(result.figures)} figures)")
    print(f"next: open {result.html} in a browser; score your own events with: hpo export {args.study} --input FILE{_storage_option(args.storage)}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from hpo.reports import export

    if args.out is not None:
        prefix = Path(args.out)
        if prefix.is_dir() or prefix.with_suffix(".csv").is_dir():
            raise UsageError(f"--out {args.out} is a folder; give a path prefix such as {prefix / 'scores'}")
        if not os.access(_existing_parent(prefix.parent), os.W_OK | os.X_OK):
            raise UsageError(f"--out {args.out} cannot be written: {_existing_parent(prefix.parent)} is read-only")
    result = export(args.study, args.input, description=args.dataset_description, out=args.out, storage=args.storage,
                    show_progress=not args.quiet)
    print(f"scored {result.n_valid} of {result.n_events} events; wrote {result.csv} and {result.root}")
    return 0
