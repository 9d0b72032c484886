"""Staging files and folders: written beside their final path, renamed into place, and cleaned up.

A file or folder is written under a hidden staging name, ``.<name>.<host>.<pid>.tmp``, then renamed
over its final path, so readers never see half a result. A process killed in between leaves its
staging path behind; :func:`staging_path` removes those of processes of this machine that no longer
run, so that they do not pile up.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale(final: Path) -> list[Path]:
    """Remove the staging paths of ``final`` left by dead processes of this machine; returns them."""
    host = socket.gethostname()
    removed = []
    for candidate in final.parent.glob(f".{final.name}.*.tmp"):
        owner = candidate.name[len(final.name) + 2 : -len(".tmp")]  # "<host>.<pid>"
        owner_host, _, pid = owner.rpartition(".")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        if candidate.is_dir() and not candidate.is_symlink():
            shutil.rmtree(candidate, ignore_errors=True)
        else:
            candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def staging_path(final: Path) -> Path:
    """This process's staging path for ``final`` (stale ones of dead processes are removed first)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(final)
    return final.with_name(f".{final.name}.{socket.gethostname()}.{os.getpid()}.tmp")
