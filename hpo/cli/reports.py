"""Command group: ``hpo compare``, ``hpo report``, ``hpo export`` (see :mod:`hpo.reports`)."""

from __future__ import annotations

import argparse

_STORAGE_HELP = "study store URL (default: sqlite:///<hpo home>/hpo.db)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``hpo`` parser."""
    p = sub.add_parser("compare", help="best-so-far curves and a table comparing studies",
                       description="Best-so-far validation score against trials and wall-clock time, one curve per "
                       "study (seeds of one algorithm and model as median and inter-quartile band), and a table.")
    p.add_argument("studies", nargs="+", metavar="STUDY", help="study names (see 'hpo list')")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <hpo home>/compare)")
    p.add_argument("--storage", metavar="URL", help=_STORAGE_HELP)
    p.set_defaults(handler=_compare)

    p = sub.add_parser("report", help="one study explained: HTML page and Markdown with figures",
                       description="Write a self-contained HTML report (and its Markdown twin) of a study and of its "
                       "best model, retrained as 'hpo best' does unless already saved.")
    p.add_argument("study", metavar="STUDY")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <hpo home>/<study>/report)")
    p.add_argument("--storage", metavar="URL", help=_STORAGE_HELP)
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
    p.set_defaults(handler=_export)


def _compare(args: argparse.Namespace) -> int:
    from hpo.reports import compare

    result = compare(args.studies, storage=args.storage, out=args.out)
    print(result.table.to_string(index=False))
    print(f"wrote {result.csv}, {result.markdown}, {result.by_trials}, {result.by_time}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from hpo.reports import report

    result = report(args.study, storage=args.storage, out=args.out)
    print(f"test AUC {result.test_auc:.4f} (train {result.train_auc:.4f}); best cut {result.best_cut.threshold:.3f}, "
          f"AMS {result.best_cut.ams:.3f}")
    print(f"wrote {result.html} and {result.markdown} ({len(result.figures)} figures)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from hpo.reports import export

    result = export(args.study, args.input, description=args.dataset_description, out=args.out, storage=args.storage)
    print(f"scored {result.n_valid} of {result.n_events} events; wrote {result.csv} and {result.root}")
    return 0
