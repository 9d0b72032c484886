"""The system programs some tests drive for real, installed by the test session when missing.

Tests marked ``browser`` open hpo's HTML report and ``hpo dashboard`` in headless Chromium through
chromedriver; tests marked ``postgres`` start a throw-away PostgreSQL server. On Debian these come
from the system package manager (no pip package provides them), so when a collected test needs one
that is missing, :func:`ensure_installed` runs ``apt-get install`` once, before any test runs: as
root directly, otherwise through ``sudo -n``. Where that is impossible the session stops with one
line saying what to install: such tests are never skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SystemProgram:
    """A program found by ``present()``, installed by the Debian package ``package``."""

    name: str
    package: str
    present: Callable[[], bool]


def _on_path(command: str) -> Callable[[], bool]:
    return lambda: shutil.which(command) is not None


def _postgres_server() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


# Marker -> the programs its tests drive.
NEEDS: dict[str, tuple[SystemProgram, ...]] = {
    "browser": (
        SystemProgram("chromium", "chromium", _on_path("chromium")),
        SystemProgram("chromedriver", "chromium-driver", _on_path("chromedriver")),
    ),
    "postgres": (SystemProgram("PostgreSQL server", "postgresql", _postgres_server),),
}


class CannotInstall(RuntimeError):
    """The missing packages cannot be installed from this session."""


def missing(markers: Iterable[str]) -> list[SystemProgram]:
    """The programs the tests with ``markers`` need that are not installed."""
    programs = {p.package: p for m in markers for p in NEEDS.get(m, ())}
    return [p for p in programs.values() if not p.present()]


def ensure_installed(markers: Iterable[str], log: Callable[[str], None] = print) -> list[str]:
    """Install the Debian packages the tests with ``markers`` need and lack; returns the packages installed.

    Raises :class:`CannotInstall` (one line: what to install) when there is no ``apt-get``, or neither
    root nor password-less ``sudo``, or the installation fails.
    """
    lacking = missing(markers)
    if not lacking:
        return []
    packages = [p.package for p in lacking]
    hint = f"install them with 'apt-get install {' '.join(packages)}' (as root) and run the tests again"
    if shutil.which("apt-get") is None:
        raise CannotInstall(f"tests need {', '.join(p.name for p in lacking)}; no apt-get on this machine: {hint}")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if prefix and (shutil.which("sudo") is None or subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode):
        raise CannotInstall(f"tests need {', '.join(p.name for p in lacking)}; not root and no password-less sudo: {hint}")
    log(f"installing {' '.join(packages)} with apt-get (tests drive {', '.join(p.name for p in lacking)} for real) ...")
    start = time.monotonic()
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]  # another apt run (or another test session) may hold the lock
    for argv in (["apt-get", *lock, "update", "-qq"],
                 ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", *packages]):  # fmt: skip
        result = subprocess.run([*prefix, *argv], env=environment, capture_output=True, text=True)
        if result.returncode:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise CannotInstall(f"'{' '.join(argv)}' failed ({last[0]}): {hint}")
    still = missing(markers)
    if still:
        raise CannotInstall(f"{', '.join(p.name for p in still)} still missing after apt-get install: {hint}")
    log(f"installed {' '.join(packages)} in {time.monotonic() - start:.0f} s")
    return packages
