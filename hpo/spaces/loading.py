"""Finding and reading search-space files, and ``key=value`` overrides from the command line."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hpo.errors import SpaceError, UsageError
from hpo.inputs import InputTooLarge, load_yaml, read_text_bounded
from hpo.paths import repo_root
from hpo.spaces.space import SearchSpace

SPACES_DIR = "search_spaces"


def search_dirs() -> list[Path]:
    """Folders searched for named spaces: ``./search_spaces``, then the checkout's ``search_spaces``."""
    return list(dict.fromkeys([Path(SPACES_DIR).resolve(), repo_root() / SPACES_DIR]))


def available_spaces() -> list[str]:
    """Names that :func:`load_space` resolves (file stems in :func:`search_dirs`)."""
    return sorted({p.stem for d in search_dirs() if d.is_dir() for p in d.glob("*.yaml")})


def resolve_space(name_or_path: str | os.PathLike[str]) -> Path:
    """The file a space name or path refers to."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or os.sep in text or "/" in text:
        if not path.is_file():
            raise SpaceError(f"search space file {path} does not exist")
        return path
    for folder in search_dirs():
        candidate = folder / f"{text}.yaml"
        if candidate.is_file():
            return candidate
    names = ", ".join(available_spaces()) or "none"
    raise SpaceError(f"no search space named {text!r} (available: {names}); or give a path to a YAML file")


def load_space(name_or_path: str | os.PathLike[str]) -> SearchSpace:
    """Read and validate a search space: a YAML path, or a name looked up in :func:`search_dirs`."""
    path = resolve_space(name_or_path)
    try:
        data = load_yaml(read_text_bounded(path))
    except InputTooLarge as err:
        raise SpaceError(f"search space {path} is refused: {err}") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]  # a ReaderError has no 'problem'
        raise SpaceError(f"search space {path}:{line} is not valid YAML ({reason})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpaceError(f"search space {path} cannot be read ({err})") from None
    return SearchSpace.from_dict(data or {}, str(path))


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["epochs=5", "early_stopping_patience=2"]`` -> ``{"epochs": 5, ...}`` (values read as YAML).

    For ``--set key=value`` options; feed the result to :meth:`SearchSpace.with_overrides`.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set expects key=value, got {item!r}")
        try:
            out[key] = load_yaml(value) if value.strip() else None
        except yaml.YAMLError:
            out[key] = value
        except InputTooLarge as err:
            raise UsageError(f"--set {key}: the value is refused: {err}; give a plain value") from None
    return out
