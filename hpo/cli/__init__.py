"""The ``hpo`` command: a thin argparse layer over the Python API.

Each command group lives in its own module with a ``register(subparsers)`` function that adds its
sub-commands; a sub-command's handler takes the parsed :class:`argparse.Namespace` and returns the
exit status. Errors the user can fix (:class:`hpo.errors.HpoError`) and bad options are printed as
one line with exit status 2.

Every command builds the whole parser, so the command modules import only light modules at their
top (option names come from :mod:`hpo.options`); each handler imports the drivers, the store or
the reports it runs. A command refused on its options (an oversized grid, a bad value) then
returns before Optuna, SQLAlchemy or pandas are loaded.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from hpo import __version__
from hpo.errors import HpoError
from hpo.inputs import shorten

# Command-group modules, in the order their commands appear in ``hpo --help``.
_GROUPS = ("hpo.cli.data", "hpo.cli.study", "hpo.cli.cluster", "hpo.cli.reports")

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``hpo`` argument parser."""
    parser = _Parser(prog="hpo", description="Hyperparameter optimisation for particle-physics classifiers.")
    parser.add_argument("--version", action="version", version=f"hpo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _GROUPS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except HpoError as err:
        print(f"hpo: error: {shorten(str(err))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hpo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hpo list | head`): silence the flush at exit, as the docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
