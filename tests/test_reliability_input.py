"""Reliability, hostile input: inputs sized to exhaust memory or time are refused, small and fast.

Each refusal is one line with exit status 2; where a command is run, its peak memory is measured
(and the process killed above the bound, so that a regression cannot take the machine down).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import write_rf_grid_space
from test_cli_study import HPO
from test_drivers import CheapObjective

from hpo import drivers
from hpo.drivers.queue import enqueue_missing
from hpo.errors import UsageError
from hpo.spaces import load_space
from hpo.store import load_study, open_storage

pytestmark = pytest.mark.reliability

MEMORY_BOUND_MB = 500


def run_bounded(argv: list[str], tmp_path: Path, *, timeout_s: float = 120) -> tuple[int, str, float, float]:
    """Run ``argv``; returns exit status, stderr, seconds and peak resident memory (MB). The process
    is killed once it uses more than :data:`MEMORY_BOUND_MB` or runs past ``timeout_s``.

    The peak is measured by ``/usr/bin/time`` (a small process, so the figure is the command's own,
    not that of this test process copied at fork) where it exists, else by sampling every 20 ms.
    """
    stamp = time.monotonic_ns()
    err_path, peak_path = tmp_path / f"stderr-{stamp}", tmp_path / f"peak-{stamp}"
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(peak_path)] if Path("/usr/bin/time").is_file() else []
    start = time.monotonic()
    with open(err_path, "w") as err:
        process = subprocess.Popen([*timer, *argv], env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=err)
    sampled = [0]

    def watch() -> None:
        while process.poll() is None:
            try:
                tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
                rss = max(p.memory_info().rss for p in tree[1:] or tree)
            except psutil.NoSuchProcess:
                return
            sampled[0] = max(sampled[0], rss)
            if rss > MEMORY_BOUND_MB * 2**20 or time.monotonic() - start > timeout_s:
                for p in reversed(tree):
                    p.kill()
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    process.wait()
    elapsed = time.monotonic() - start
    watcher.join()
    peak_kb = int(peak_path.read_text().split()[-1]) if timer and peak_path.is_file() and peak_path.read_text().split() else 0
    peak_mb = max(peak_kb / 1024, sampled[0] / 2**20)
    return process.returncode, err_path.read_text(), elapsed, peak_mb


def _one_line(status: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("hpo: error: "), err[:2000]
    return lines[0]


# -- grids -------------------------------------------------------------------------------------
def test_huge_grid_is_counted_not_built_and_refused_with_its_size(tmp_path: Path) -> None:
    status, err, seconds, peak_mb = run_bounded([*HPO, "run", "--model", "rf", "--algo", "grid", "--grid-levels", "1000", "--trials", "5"], tmp_path)
    line = _one_line(status, err)
    assert "has 6,918,306,240,000 points" in line and "more than the limit of 100,000" in line and "--max-grid-points" in line
    assert peak_mb < MEMORY_BOUND_MB
    assert not (Path(os.environ["HPO_HOME"]) / "data").exists()  # refused before any dataset was prepared
    # Counting costs nothing whatever the size (the command's time is that of starting Python and hpo).
    from hpo.spaces import check_grid_size

    started = time.perf_counter()
    with pytest.raises(UsageError, match="has 6,918,306,240,000 points"):
        check_grid_size(load_space("rf").grid(1000), 100_000, "rf", 1000)
    assert time.perf_counter() - started < 0.5


_LOADED_BY_REFUSAL = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hpo.cli import main
    status = main(["run", "--model", "rf", "--algo", "grid", "--grid-levels", "1000"])
    heavy = ("optuna", "sqlalchemy", "pandas", "sklearn", "joblib", "hpo.drivers", "hpo.store")
    Path(sys.argv[1]).write_text(" ".join([str(status), *sorted(name for name in heavy if name in sys.modules)]))
    """
)


def test_huge_grid_is_refused_before_the_drivers_and_their_libraries_load(tmp_path: Path) -> None:
    loaded = tmp_path / "loaded"
    status, err, _, _ = run_bounded([sys.executable, "-c", _LOADED_BY_REFUSAL, str(loaded)], tmp_path)
    assert status == 0 and "has 6,918,306,240,000 points" in err, err[-2000:]
    assert loaded.read_text().split() == ["2"]  # refused with exit status 2, and nothing heavy was imported


def test_grid_levels_beyond_one_axis_limit_are_refused(tmp_path: Path) -> None:
    status, err, _, peak_mb = run_bounded([*HPO, "run", "--model", "ann", "--algo", "grid", "--grid-levels", "1000000000"], tmp_path)
    assert "grid levels must be between 1 and 10000, got 1000000000" in _one_line(status, err)
    assert peak_mb < MEMORY_BOUND_MB


_LAZY_GRID = textwrap.dedent(
    """
    from hpo.spaces import load_space
    grid = load_space("ann").grid(50)
    assert len(grid) > 10**9
    assert grid[len(grid) - 1] == dict(zip(grid.names, (axis[-1] for axis in grid.axes.values())))
    assert grid[1] == {**grid[0], grid.names[-1]: grid.axes[grid.names[-1]][1]}  # the last axis varies fastest
    """
)


def test_grid_points_are_made_lazily_and_the_queue_takes_only_the_next_ones(tmp_path: Path, tiny_dataset) -> None:
    # First in a process of bounded memory: a grid built whole would take the machine down here.
    status, err, _, peak_mb = run_bounded([sys.executable, "-c", _LAZY_GRID], tmp_path)
    assert status == 0 and peak_mb < MEMORY_BOUND_MB, err[-2000:]
    grid = load_space("ann").grid(50)
    study = drivers.run("rf", "random", tiny_dataset, n_trials=1, jobs=1, study_name="lazy", progress=False,
                        objective_factory=CheapObjective())  # fmt: skip
    started = time.perf_counter()
    assert enqueue_missing(study, 10**9, grid, limit=2) == 2
    assert time.perf_counter() - started < 5
    waiting = [t for t in load_study("lazy", open_storage()).trials if t.state.name == "WAITING"]
    assert [t.system_attrs["fixed_params"] for t in waiting] == [grid[0], grid[1]]


def test_max_grid_points_states_the_limit_and_raises_it(tmp_path: Path, tiny_dataset) -> None:
    space = write_rf_grid_space(tmp_path / "grid8.yaml", fixed={"n_estimators": 5})  # 8 points
    with pytest.raises(UsageError, match=r"has 8 points \(2 x 2 x 2\), more than the limit of 7; .* --max-grid-points 8"):
        drivers.run("rf", "grid", tiny_dataset, space=space, max_grid_points=7, jobs=1, progress=False, objective_factory=CheapObjective())
    assert not (Path(os.environ["HPO_HOME"]) / "hpo.db").exists()
    study = drivers.run("rf", "grid", tiny_dataset, space=space, max_grid_points=8, jobs=1, progress=False, objective_factory=CheapObjective())
    assert len(study.trials) == 8
    from hpo.spaces import Grid

    assert isinstance(drivers.StudyConfig.from_attrs("x", study.user_attrs).grid_points(), Grid)


# -- YAML and files ------------------------------------------------------------------------------
_LAUGHS = ", ".join(f"&{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi"))
ALIAS_BOMB = f"[&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], {_LAUGHS}]"  # 9**9 strings once expanded


def test_yaml_alias_bomb_in_set_is_refused_small_and_fast(tmp_path: Path) -> None:
    assert len(ALIAS_BOMB) < 400
    status, err, _, peak_mb = run_bounded([*HPO, "run", "--model", "rf", "--algo", "random", "--set", f"max_depth={ALIAS_BOMB}"], tmp_path)
    line = _one_line(status, err)
    assert line == (
        "hpo: error: --set max_depth: the value is refused: its anchors and aliases expand it to more than "
        "1,000,000 values and characters; give a plain value"
    )
    assert peak_mb < MEMORY_BOUND_MB


def test_yaml_alias_bomb_in_a_space_file_is_refused(tmp_path: Path) -> None:
    space = tmp_path / "bomb.yaml"
    space.write_text(f"model: rf\nparams: {{}}\nfixed:\n  n_estimators: {ALIAS_BOMB}\n")
    status, err, _, peak_mb = run_bounded([*HPO, "run", "--model", "rf", "--algo", "random", "--space", str(space)], tmp_path)
    assert _one_line(status, err) == f"hpo: error: search space {space} is refused: its anchors and aliases expand it to more than 1,000,000 values and characters"
    assert peak_mb < MEMORY_BOUND_MB


def test_deeply_nested_yaml_is_refused_in_one_line(tmp_path: Path) -> None:
    space = tmp_path / "deep.yaml"
    space.write_text("model: rf\nfixed:\n  n_estimators: " + "[" * 20_000 + "]" * 20_000 + "\n")
    status, err, _, _ = run_bounded([*HPO, "run", "--model", "rf", "--algo", "random", "--space", str(space)], tmp_path)
    assert _one_line(status, err) == f"hpo: error: search space {space} is refused: it is nested too deeply"


def test_huge_space_file_is_refused_by_its_size_without_being_read(tmp_path: Path) -> None:
    space = tmp_path / "huge.yaml"
    with open(space, "wb") as file:  # 2 GiB, sparse: no disk space used
        file.truncate(2 * 2**30)
    status, err, _, peak_mb = run_bounded([*HPO, "run", "--model", "rf", "--algo", "random", "--space", str(space)], tmp_path)
    assert _one_line(status, err) == f"hpo: error: search space {space} is refused: it is 2,147,483,648 bytes, more than the limit of 1,048,576"
    assert peak_mb < MEMORY_BOUND_MB


def test_long_error_messages_are_cut_to_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    from hpo.cli import main

    value = "x" * 50_000
    assert main(["run", "--model", "rf", "--algo", "random", "--set", f"criterion={value}\nnext line"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and len(err) < 1_200 and "characters, cut)" in err
