"""Reliability, damage: files hurt on disk (a prepared dataset with changed bytes).

Every command that would use a damaged file refuses it in one line naming the file (exit 2), ``hpo
check`` reports it (exit 1), and no trial is scored on it.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import pytest
from conftest import make_tiny_dataset
from data_helpers import write_csv_dataset
from test_cli_study import HPO
from test_drivers import CheapObjective

from hpo import drivers
from hpo.data.prepared import PreparedDataset
from hpo.errors import DataError, UsageError
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


# -- the saved best model --------------------------------------------------------------------------
def _study_with_saved_best(tmp_path: Path, hpo_home: Path) -> int:
    from test_cli_study import _space_file

    data = make_tiny_dataset(n=2000).write(hpo_home / "data" / "tiny.arrow")
    drivers.run("rf", "random", data, space=_space_file(tmp_path, [5, 10]), n_trials=2, jobs=1, study_name="moved", progress=False,
                objective_factory=CheapObjective())  # fmt: skip
    return drivers.best("moved").trial_number


def _improve(study_name: str) -> int:
    """A better trial is added (the study went on); returns its number."""
    import optuna

    study = load_study(study_name, open_storage())
    best = study.best_trial
    study.add_trial(optuna.trial.create_trial(params=best.params, distributions=best.distributions, value=best.value + 1.0))
    return load_study(study_name, open_storage()).best_trial.number


def test_reports_retrain_a_saved_best_model_that_is_no_longer_the_best_and_say_so(
    tmp_path: Path, hpo_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hpo.cli import main
    from hpo.reports.sources import best_model

    saved = _study_with_saved_best(tmp_path, hpo_home)
    study = load_study("moved", open_storage())
    assert best_model(study).info["trial_number"] == saved  # still the best: reused
    assert "retraining" not in capsys.readouterr().err
    now = _improve("moved")
    assert main(["show", "moved"]) == 0
    out = capsys.readouterr().out
    assert f"of trial {saved}, no longer the best; run 'hpo best moved' for trial {now}" in out
    model = best_model(load_study("moved", open_storage()))
    assert model.info["trial_number"] == now
    assert f"hpo: the saved best model is of trial {saved}, but the study's best is now trial {now}; retraining it" in capsys.readouterr().err
    assert load_study("moved", open_storage()).user_attrs["best_trial_number"] == now
    assert main(["show", "moved"]) == 0
    assert "(retrained by 'hpo best')" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncated model file", "incomplete metadata"])
def test_a_damaged_saved_model_is_one_line_and_reports_retrain_it(
    damage: str, tmp_path: Path, hpo_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from hpo.objectives import load_model
    from hpo.objectives.training import META_FILE
    from hpo.reports.sources import best_model

    saved = _study_with_saved_best(tmp_path, hpo_home)
    folder = hpo_home / "moved" / "best"
    if damage == "truncated model file":
        model_file = next(p for p in folder.iterdir() if p.suffix == ".joblib")
        model_file.write_bytes(model_file.read_bytes()[:100])
        expected = f"the model file in {folder} cannot be read ("
    else:
        meta = json.loads((folder / META_FILE).read_text())
        del meta["features"]
        (folder / META_FILE).write_text(json.dumps(meta))
        expected = f"{folder / META_FILE} is incomplete (features missing); save the model again"
    with pytest.raises(UsageError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the pickle warning
        load_model(folder)
    assert expected in str(info.value)
    assert best_model(load_study("moved", open_storage())).info["trial_number"] == saved
    err = capsys.readouterr().err
    assert f"hpo: {expected}" in err and err.strip().endswith("; retraining the best trial")
