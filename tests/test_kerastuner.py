"""KerasTuner searches (kt-bayes, kt-hyperband) written into the Optuna store: trials, resume, reports."""

from __future__ import annotations

from pathlib import Path

import joblib
import optuna
import pandas as pd
import pytest
from conftest import make_tiny_dataset
from optuna.trial import TrialState

from hpo import drivers, paths
from hpo.cli import main
from hpo.data.prepared import PreparedDataset
from hpo.errors import UsageError
from hpo.objectives import build_objective
from hpo.spaces import load_space
from hpo.store import load_study, open_storage
from hpo.tuners import kt_hyperparameters, params_from_kt
from hpo.tuners.kerastuner import working_dir

optuna.logging.set_verbosity(optuna.logging.WARNING)
EPOCHS = 3


@pytest.fixture
def dataset() -> PreparedDataset:
    """The tiny dataset, written to disk as ``hpo run`` needs it."""
    ds = make_tiny_dataset(n=500, n_features=4)
    ds.write(paths.prepared_dir() / f"{ds.hash}.arrow")
    return ds


def _space():
    return load_space("ann").with_overrides({"epochs": EPOCHS, "early_stopping_patience": EPOCHS})


def _trials(name: str) -> list[optuna.trial.FrozenTrial]:
    return load_study(name, open_storage(paths.default_storage_url())).get_trials()


def test_space_translates_to_kerastuner_and_back() -> None:
    space = load_space("ann")
    hp = kt_hyperparameters(space)
    assert [h.name for h in hp.space] == space.names
    params = params_from_kt(space, {**hp.values, "tuner/epochs": 3})
    assert set(params) == set(space.names)
    # the values lie inside the space's Optuna distributions (create_trial validates them)
    optuna.trial.create_trial(params=params, distributions=space.distributions(), value=0.5)
    assert hp.get("optimizer") in space.params["optimizer"].choices
    log_lr = next(h for h in hp.space if h.name == "learning_rate")
    assert log_lr.sampling == "log" and (log_lr.min_value, log_lr.max_value) == (1e-5, 1e-1)


def test_kt_bayes_writes_every_trial_into_the_study_and_resumes(dataset: PreparedDataset) -> None:
    space = _space()
    study = drivers.run("ann", "kt-bayes", dataset, space=space, n_trials=3, study_name="kt", progress=False)
    assert study.user_attrs["algo"] == "kt-bayes" and study.user_attrs["target_trials"] == 3
    trials = _trials("kt")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert (working_dir("kt") / "oracle.json").is_file()
    for t in trials:
        assert t.distributions == space.distributions()
        assert t.value == pytest.approx(t.user_attrs["val_auc"]) and 0.5 < t.value <= 1.0
        assert {"train_auc", "overtraining_gap", "fit_time_s", "epochs", "n_params", "worker", "kt_trial_id"} <= set(t.user_attrs)
        assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs"] + 1))
        assert t.datetime_complete > t.datetime_start
    # the value of a trial is what hpo's own objective gives for its parameters
    first = trials[0]
    again = optuna.trial.FixedTrial(first.params, number=int(first.user_attrs["kt_trial_id"]))
    assert build_objective("ann", dataset, space, threads=joblib.cpu_count())(again) == pytest.approx(first.value, abs=1e-6)

    drivers.resume("kt", n_trials=5, progress=False)
    trials = _trials("kt")
    assert len(trials) == 5 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(int(t.user_attrs["kt_trial_id"]) for t in trials) == list(range(5))


def test_kt_hyperband_trials_carry_their_epoch_budget(dataset: PreparedDataset) -> None:
    drivers.run("ann", "kt-hyperband", dataset, space=_space(), n_trials=5, study_name="hb", progress=False)
    trials = _trials("hb")
    assert len(trials) == 5 and all(t.state == TrialState.COMPLETE for t in trials)
    budgets = [t.user_attrs["kt_epochs"] for t in trials]
    assert set(budgets) <= {1, EPOCHS} and 1 in budgets  # Hyperband's first bracket starts at one epoch
    for t in trials:
        assert t.user_attrs["epochs"] <= t.user_attrs["kt_epochs"]
        assert max(t.intermediate_values) == t.user_attrs["epochs"]


class _Interrupting:
    """An objective factory whose third trial is interrupted (Ctrl-C) after the first epoch."""

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN204
        objective = build_objective(*args, **kwargs)

        def run(trial: optuna.trial.BaseTrial) -> float:
            if trial.number == 2:
                raise KeyboardInterrupt
            return objective(trial)

        return run


def test_interrupted_kt_search_resumes_to_the_exact_count(dataset: PreparedDataset) -> None:
    with pytest.raises(KeyboardInterrupt):
        drivers.run("ann", "kt-bayes", dataset, space=_space(), n_trials=4, study_name="cut", progress=False,
                    objective_factory=_Interrupting())  # fmt: skip
    assert len(_trials("cut")) == 2  # the interrupted trial never reached the store
    drivers.resume("cut", progress=False)
    trials = _trials("cut")
    assert len(trials) == 4 and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.user_attrs["kt_trial_id"] for t in trials) == ["0", "1", "2", "3"]  # trial 2 re-run once


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "rf"}, "--model ann"),
        ({"jobs": 2}, "--jobs 1"),
        ({"prune": "median"}, "--prune median"),
        ({"backend": "dask", "scheduler": "tcp://127.0.0.1:1"}, "--backend dask"),
    ],
)
def test_unsupported_kt_options_are_refused(dataset: PreparedDataset, kwargs: dict, message: str) -> None:
    options = {"model": "ann", "space": None, **kwargs}
    with pytest.raises(UsageError, match=message):
        drivers.run(options.pop("model"), "kt-hyperband", dataset, **options)
    assert not Path(paths.default_storage_url().removeprefix("sqlite:///")).exists()  # nothing was created


def test_kt_and_optuna_studies_side_by_side_in_compare(dataset: PreparedDataset, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--model", "ann", "--prepared", str(dataset.path), "--set", f"epochs={EPOCHS}", "--trials", "3", "--quiet"]
    assert main(["run", "--algo", "kt-bayes", "--study", "ann-kt", *common]) == 0
    assert main(["run", "--algo", "tpe", "--study", "ann-tpe", "--jobs", "1", *common]) == 0
    assert main(["worker", "ann-kt"]) == 2
    assert "KerasTuner search" in capsys.readouterr().err
    assert main(["show", "ann-kt"]) == 0
    shown = capsys.readouterr().out
    assert "algorithm kt-bayes" in shown and "3/3 counted" in shown

    out = paths.home() / "cmp"
    assert main(["compare", "ann-kt", "ann-tpe", "--out", str(out)]) == 0
    table = pd.read_csv(out / "compare.csv")
    assert list(table["study"]) == ["ann-kt", "ann-tpe"] and list(table["algo"]) == ["kt-bayes", "tpe"]
    assert list(table["trials"]) == [3, 3] and (table["best_val"] > 0.5).all()
    for name in ("ann-kt", "ann-tpe"):
        assert table.set_index("study").loc[name, "best_val"] == pytest.approx(load_study(name, open_storage(None)).best_value)
    assert (out / "best_vs_trials.png").stat().st_size > 0
