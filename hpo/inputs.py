"""Reading what users hand in, within bounds: files by their size first, YAML by its expanded size,
error messages by their length.

A few hundred bytes of YAML can expand, through anchors and aliases, into gigabytes once the result
is walked, validated or printed; a mistyped path can name a huge file. These helpers refuse such
input in one line before anything large is built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

#: Largest YAML or text file read as a search space or similar input (1 MiB).
MAX_FILE_BYTES = 1 << 20
#: Largest YAML document once aliases are expanded: values plus characters of strings.
MAX_YAML_SIZE = 1_000_000
#: Longest error message printed (longer ones are cut, with their length stated).
MAX_MESSAGE_CHARS = 1_000


class YamlLoader(yaml.SafeLoader):
    """Safe YAML loader that also reads ``1e-5`` as a float (YAML 1.1 wants ``1.0e-5``)."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


class InputTooLarge(ValueError):
    """Input beyond one of the bounds of this module; the message says which."""


def read_text_bounded(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of ``path``, refused (:class:`InputTooLarge`) without reading it when larger than ``limit`` bytes.

    The size is checked before reading, and no more than ``limit + 1`` bytes are ever read (a file
    that grows, or reports no size, cannot slip through).
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limit:
        raise InputTooLarge(f"it is {size:,} bytes, more than the limit of {limit:,}")
    with open(path, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"it is more than the limit of {limit:,} bytes")
    return data.decode("utf-8")


def load_yaml(text: str, limit: int = MAX_YAML_SIZE) -> Any:
    """Parse ``text`` with :class:`YamlLoader`; refuse documents nested too deeply or larger than ``limit`` once expanded.

    Raises :class:`yaml.YAMLError` for invalid YAML and :class:`InputTooLarge` for the rest.
    """
    try:
        data = yaml.load(text, Loader=YamlLoader)  # noqa: S506 - a SafeLoader
    except RecursionError:
        raise InputTooLarge("it is nested too deeply") from None
    if expanded_size(data, limit) > limit:
        raise InputTooLarge(f"its anchors and aliases expand it to more than {limit:,} values and characters")
    return data


def expanded_size(data: Any, limit: int) -> int:
    """Values plus string characters of ``data`` with every shared or repeated part counted each time
    it appears; the count stops just above ``limit`` (so a self-referencing document ends too)."""
    size, stack = 0, [data]
    while stack and size <= limit:
        item = stack.pop()
        size += 1 + (len(item) if isinstance(item, (str, bytes)) else 0)
        if isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set)):
            stack.extend(item)
    return size


def shorten(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` on one line, cut to ``limit`` characters with the cut length stated."""
    message = " ".join(message.splitlines())
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... ({len(message):,} characters, cut)"
