"""Command group: filled in by its stage."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's sub-commands to the ``hpo`` parser."""
