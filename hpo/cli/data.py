"""``hpo data``: synthesize samples, prepare datasets, show their summary and the Bayes limit.

Other command groups reuse :func:`add_data_options` and :func:`prepared_from_args`, so every
command that trains takes the same dataset options.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

# Only light modules here: every command builds this parser. hpo.data imports its readers, the
# generator and the descriptions (uproot, scipy, pydantic) on first use.
from hpo import data
from hpo.options import CHANNELS, DEFAULT_NEGATIVE_WEIGHTS, NEGATIVE_WEIGHT_POLICIES, SPLITS

if TYPE_CHECKING:
    from hpo.data.prepared import PreparedDataset


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Add the dataset options (``--dataset``, ``--features``, ``--data-root``, ``--data-seed``,
    ``--test-size``, ``--val-size``, ``--negative-weights``, ``--prepared``) to ``parser``."""
    group = parser.add_argument_group("dataset")
    group.add_argument("--dataset", metavar="PRESET_OR_YAML", default=None,
                       help="preset name (see 'hpo data presets') or YAML description (default: synthetic)")
    group.add_argument("--features", default=None, metavar="SET_OR_NAMES",
                       help="a feature set of the dataset ('high', 'low', 'all' for the exercise's presets) or a "
                       "comma-separated list of its feature names (default: the dataset's first set)")
    group.add_argument("--data-root", metavar="DIR", default=None,
                       help="folder that preset file paths are relative to (default: $HPO_DATA_ROOT or ../shared/data)")
    group.add_argument("--data-seed", type=int, default=0, help="seed of the shuffle and split (default: 0)")
    group.add_argument("--test-size", type=float, default=0.2, help="test fraction of all events (default: 0.2)")
    group.add_argument("--val-size", type=float, default=0.3,
                       help="validation fraction of the non-test events (default: 0.3)")
    group.add_argument("--negative-weights", choices=NEGATIVE_WEIGHT_POLICIES, default=DEFAULT_NEGATIVE_WEIGHTS,
                       help=f"training weight of negative-weight events (default: {DEFAULT_NEGATIVE_WEIGHTS}; "
                       "metrics always use the signed weights)")
    group.add_argument("--prepared", metavar="HASH_OR_PATH", default=None,
                       help="use an already prepared dataset (hash prefix or file) instead of the options above")  # fmt: skip


def prepared_from_args(args: argparse.Namespace, *, force: bool = False, show_progress: bool = True) -> PreparedDataset:
    """The prepared dataset the options of :func:`add_data_options` select (prepared or reused)."""
    from hpo import progress

    if getattr(args, "prepared", None):
        return data.open_prepared(args.prepared)
    return data.prepare(
        args.dataset,
        features=args.features,
        seed=args.data_seed,
        test_size=args.test_size,
        val_size=args.val_size,
        negative_weights=args.negative_weights,
        data_root=args.data_root,
        force=force,
        progress=progress.shown(show_progress),
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``hpo data`` sub-commands."""
    group = sub.add_parser("data", help="synthesize, prepare and inspect datasets")
    commands = group.add_subparsers(dest="data_command", metavar="COMMAND", parser_class=type(group))
    commands.required = True

    synth = commands.add_parser("synth", help="write the synthetic VBF/ggH/ZZ ROOT samples")
    synth.add_argument("--channel", choices=[*CHANNELS, "both"], default="both")
    synth.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    synth.add_argument("--scale", type=float, default=1.0, help="multiplies the default numbers of events")
    synth.add_argument("--out", metavar="DIR", default=None, help="output folder (default: <home>/synthetic/seed<N>)")
    synth.add_argument("--overwrite", action="store_true", help="regenerate files that exist")
    synth.set_defaults(handler=_synth)

    prepare = commands.add_parser("prepare", help="prepare a dataset once (cached by content hash)")
    add_data_options(prepare)
    prepare.add_argument("--force", action="store_true", help="rebuild even if the cached file exists")
    prepare.add_argument("--quiet", action="store_true", help="no progress bar (none is drawn when stderr is not a terminal)")
    prepare.set_defaults(handler=_prepare)

    info = commands.add_parser("info", help="events, weights, negative weights and ranges of a prepared dataset")
    add_data_options(info)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(handler=_info)

    limit = commands.add_parser("limit", help="Bayes-optimal weighted AUC of a synthetic dataset")
    add_data_options(limit)
    limit.add_argument("--split", choices=SPLITS, default="test")
    limit.set_defaults(handler=_limit)

    presets = commands.add_parser("presets", help="list the built-in dataset presets")
    presets.set_defaults(handler=_presets)


def _synth(args: argparse.Namespace) -> int:
    channels = CHANNELS if args.channel == "both" else (args.channel,)
    for path in data.synthesize(channels, seed=args.seed, scale=args.scale, folder=args.out, overwrite=args.overwrite):
        print(path)
    return 0


def _prepare(args: argparse.Namespace) -> int:
    dataset = prepared_from_args(args, force=args.force, show_progress=not args.quiet)
    print(f"{dataset!r}\n{dataset.path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    summary = data.describe(prepared_from_args(args))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"dataset   {summary['dataset']}  hash {summary['hash']}")
    print(f"file      {summary['path']}")
    print(f"features  {', '.join(summary['features'])}")
    if summary["observables"]:
        print(f"also kept {', '.join(summary['observables'])}")
    print(f"settings  {', '.join(f'{k}={v}' for k, v in summary['settings'].items() if k != 'features')}")
    print(f"\n{'class':<11}{'train':>9}{'val':>9}{'test':>9}{'total':>9}{'weight sum':>14}{'neg. events':>13}{'neg. share':>12}")
    for name, c in summary["classes"].items():
        e = c["events"]
        print(f"{name:<11}{e['train']:>9}{e['val']:>9}{e['test']:>9}{e['total']:>9}{c['weight_sum']:>14.6g}"
              f"{c['negative_events']:>13}{c['negative_share']:>12.4%}")  # fmt: skip
        print(f"{'':<11}processes: {', '.join(f'{p} {n}' for p, n in c['processes'].items())}")
    if summary["data_events"]:
        print(f"{'data':<11}{summary['data_events']:>36} real collision events (no label)")
    _print_cutflow(summary["cutflow"], summary["weighted"])
    width = max([14, *(len(c) + 2 for c in summary["ranges"])])
    print(f"\n{'column':<{width}}{'min':>12}{'max':>12}{'absent':>9}")
    for column, (lo, hi) in summary["ranges"].items():
        print(f"{column:<{width}}{lo:>12.5g}{hi:>12.5g}{summary['missing'].get(column, 0):>9}")
    return 0


def _print_cutflow(cutflow: dict[str, list[list]], weighted: bool) -> None:
    """Events (and weighted yields) of each process after each step, one column per process."""
    if not cutflow:
        return
    steps = [row[0] for row in next(iter(cutflow.values()))]
    width = max(16, *(len(s) + 2 for s in steps))
    cell = 24 if weighted else 12
    header = "".join(f"{name[:cell - 2]:>{cell}}" for name in cutflow)
    print(f"\ncut flow ({'events / weighted yield' if weighted else 'events'})\n{'step':<{width}}{header}")
    for i, step in enumerate(steps):
        cells = []
        for rows in cutflow.values():
            n, w = rows[i][1], rows[i][2]
            cells.append(f"{f'{n} / {w:.4g}' if weighted else n:>{cell}}")
        print(f"{step:<{width}}{''.join(cells)}")


def _limit(args: argparse.Namespace) -> int:
    dataset = prepared_from_args(args)
    print(f"Bayes-optimal weighted AUC on the {args.split} split of {dataset.hash[:12]}: {data.bayes_limit(dataset, args.split):.5f}")
    return 0


def _presets(args: argparse.Namespace) -> int:
    for name, title in data.list_presets().items():
        print(f"{name:<20}{title}")
    return 0
