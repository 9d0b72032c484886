"""Errors that are the user's to fix.

Every :class:`HpoError` is reported by the command line as one line, ``hpo: error: <message>``,
with exit status 2 and no traceback. Messages name the culprit (file, field, option) and say how
to fix it. Anything else that escapes is a bug in hpo and keeps its traceback.
"""

from __future__ import annotations


class HpoError(Exception):
    """Base class of errors caused by input the user can correct."""


class DataError(HpoError):
    """A dataset description, input file or prepared dataset is unusable."""


class SpaceError(HpoError):
    """A search-space specification is invalid."""


class StoreError(HpoError):
    """The study store cannot be opened or does not hold what was asked for."""


class UsageError(HpoError):
    """A command-line option or API argument is invalid."""
