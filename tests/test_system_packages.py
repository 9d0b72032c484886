"""The test session's installer of system programs: what it asks apt-get for, and its one-line refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest
import system_packages
from system_packages import CannotInstall, SystemProgram, ensure_installed, missing


@pytest.fixture
def absent(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """A marker 'fake' whose program is missing until the (recorded) apt-get install 'installs' it."""
    installed = [False]
    monkeypatch.setitem(system_packages.NEEDS, "fake", (SystemProgram("fake browser", "fake-pkg", lambda: installed[0]),))
    return installed


def test_present_programs_need_nothing(absent: list[bool]) -> None:
    absent[0] = True
    assert missing(["fake"]) == [] and ensure_installed(["fake"]) == []


def test_missing_program_is_installed_with_apt_get_as_root(absent: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def apt(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(argv)
        if "install" in argv:
            absent[0] = True
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(system_packages.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(system_packages.subprocess, "run", apt)
    lines: list[str] = []
    assert ensure_installed(["fake", "unmarked"], log=lines.append) == ["fake-pkg"]
    assert [c[0] for c in calls] == ["apt-get", "apt-get"] and calls[0][-2:] == ["update", "-qq"]
    assert calls[1][-1] == "fake-pkg" and "--no-install-recommends" in calls[1]
    assert lines[0].startswith("installing fake-pkg with apt-get") and lines[1].startswith("installed fake-pkg in")


def test_no_apt_get_is_one_line_naming_the_package(absent: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_packages.shutil, "which", lambda name: None)
    with pytest.raises(CannotInstall, match=r"^tests need fake browser; no apt-get on this machine: install them with 'apt-get install fake-pkg'"):
        ensure_installed(["fake"])


def test_not_root_without_sudo_is_refused(absent: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(system_packages.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    with pytest.raises(CannotInstall, match="not root and no password-less sudo"):
        ensure_installed(["fake"])


def test_failed_install_says_what_failed(absent: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(system_packages.os, "geteuid", lambda: 0)
    monkeypatch.setattr(system_packages.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(system_packages.subprocess, "run",
                        lambda argv, **kw: subprocess.CompletedProcess(argv, 100, "", "E: Unable to locate package fake-pkg\n"))
    with pytest.raises(CannotInstall, match=r"failed \(E: Unable to locate package fake-pkg\)"):
        ensure_installed(["fake"], log=lambda line: None)


def test_the_tests_that_drive_programs_are_marked(pytestconfig: pytest.Config) -> None:
    """Every test of the browser and PostgreSQL modules carries the marker that makes the session install them."""
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "browser or postgres", "-p", "no:cacheprovider",
                             "tests/test_dashboard_browser.py", "tests/test_postgres.py", "tests/test_reports.py"],
                            capture_output=True, text=True, cwd=pytestconfig.rootpath)  # fmt: skip
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert any("test_dashboard_browser.py::" in line for line in collected)
    every = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_postgres.py"],
                           capture_output=True, text=True, cwd=pytestconfig.rootpath)  # fmt: skip
    postgres = [line for line in every.stdout.splitlines() if "::" in line]
    assert len(postgres) >= 5 and [line for line in collected if "test_postgres.py::" in line] == postgres  # every one marked
    assert [line for line in collected if "test_reports.py::" in line] == ["tests/test_reports.py::test_report_html_in_headless_chromium"]
