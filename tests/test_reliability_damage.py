"""Reliability, damage: files hurt on disk (a prepared dataset with changed bytes).

Every command that would use a damaged file refuses it in one line naming the file (exit 2), ``hpo
check`` reports it (exit 1), and no trial is scored on it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import make_tiny_dataset
from data_helpers import write_csv_dataset
from test_cli_study import HPO
from test_drivers import CheapObjective

from hpo import drivers
from hpo.data.prepared import PreparedDataset
from hpo.errors import DataError
from hpo.store import load_study, open_storage

pytestmark = pytest.mark.reliability


def _hpo(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HPO, *args], env=dict(os.environ), capture_output=True, text=True, timeout=300, cwd=cwd)


def damage_one_byte(path: Path, offset: int | None = None) -> None:
    """Flip every bit of one byte (the middle one by default), keeping the file's size."""
    with open(path, "r+b") as file:
        size = file.seek(0, os.SEEK_END)
        file.seek(size // 2 if offset is None else offset)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))


def _one_line_naming(result: subprocess.CompletedProcess[str], path: Path) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("hpo: error: prepared dataset ") and str(path) in lines[0] and "is damaged" in lines[0]
    assert "hpo data prepare --force" in lines[0]


def test_a_damaged_byte_in_a_prepared_file_is_refused_on_open(tmp_path: Path) -> None:
    path = make_tiny_dataset(n=2000).write(tmp_path / "tiny.arrow")
    assert PreparedDataset.open(path).train.X.shape[1] == 5
    damage_one_byte(path)
    dataset = PreparedDataset.open(path)  # header and metadata still read (the damage is in the columns)
    with pytest.raises(DataError, match="is damaged .*does not match the checksum"):
        dataset.train
    with pytest.raises(DataError, match="is damaged"):
        dataset.table  # every way to the data is checked, not only the splits


def test_damaged_prepared_file_is_refused_by_resume_worker_best_and_reported_by_check(tmp_path: Path, hpo_home: Path) -> None:
    path = make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")
    drivers.run("rf", "random", path, n_trials=3, jobs=1, study_name="hurt", progress=False, objective_factory=CheapObjective())
    damage_one_byte(path)
    for command in (["resume", "hurt", "--trials", "6", "--quiet"], ["worker", "hurt", "--quiet"], ["best", "hurt"],
                    ["data", "info", "--prepared", str(path)]):  # fmt: skip
        _one_line_naming(_hpo(*command), path)
    checked = _hpo("check", "hurt")
    assert checked.returncode == 1 and f"prepared dataset {path} is damaged" in checked.stdout, checked.stdout
    study = load_study("hurt", open_storage())
    assert len(study.trials) == 3  # nothing was scored on the damaged file
    assert not (hpo_home / "hurt" / "best").exists()


def test_data_prepare_refuses_a_damaged_cached_file_and_force_rebuilds_it(tmp_path: Path, hpo_home: Path) -> None:
    description = write_csv_dataset(tmp_path)
    made = _hpo("data", "prepare", "--dataset", str(description), "--features", "f_massjj,f_deltajj,f_mass4l")
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip().splitlines()[-1])
    damage_one_byte(path)
    _one_line_naming(_hpo("data", "prepare", "--dataset", str(description), "--features", "f_massjj,f_deltajj,f_mass4l"), path)
    rebuilt = _hpo("data", "prepare", "--dataset", str(description), "--features", "f_massjj,f_deltajj,f_mass4l", "--force")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert PreparedDataset.open(path).test.X.shape[1] == 3
