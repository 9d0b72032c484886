"""ANN and RF objectives: scores, trial attributes, reporting, pruning."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import optuna
import pytest

from hpo import metrics
from hpo.data.prepared import PreparedDataset
from hpo.errors import UsageError
from hpo.objectives import build_objective, make_scorer
from hpo.models.ann import hidden_units
from hpo.models.rf import stages
from hpo.spaces import SearchSpace, load_space

COMMON_ATTRS = {"train_auc", "val_auc", "overtraining_gap", "fit_time_s", "n_params"}
FAST = {"ann": {"epochs": 2, "batch_size": 128}, "rf": {"n_estimators": 12, "prune_stages": 3}}


def fast_space(model: str) -> SearchSpace:
    return load_space(model).with_overrides(FAST[model])


def run_study(objective, n_trials: int, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    study = optuna.create_study(
        direction="maximize",
        storage=optuna.storages.InMemoryStorage(),
        sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=pruner or optuna.pruners.NopPruner(),
    )
    study.optimize(objective, n_trials=n_trials)
    return study


def test_rf_objective_scores_and_records_attributes(tiny_dataset: PreparedDataset) -> None:
    study = run_study(build_objective("rf", tiny_dataset, fast_space("rf"), prune=True), n_trials=3)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        assert COMMON_ATTRS | {"n_estimators"} <= set(trial.user_attrs)
        assert trial.user_attrs["n_estimators"] == 12
        assert trial.user_attrs["n_params"] >= 12  # at least one node per tree
        assert trial.value == pytest.approx(trial.user_attrs["val_auc"])
        gap = trial.user_attrs["train_auc"] - trial.user_attrs["val_auc"]
        assert trial.user_attrs["overtraining_gap"] == pytest.approx(gap)
        assert sorted(trial.intermediate_values) == stages(12, 3) == [4, 8, 12]
        assert trial.intermediate_values[12] == pytest.approx(trial.value)
    assert study.best_value > 0.75


def test_ann_objective_scores_and_records_attributes(tiny_dataset: PreparedDataset) -> None:
    space = fast_space("ann").with_overrides({"optimizer": "Adam", "learning_rate": 0.01})
    study = run_study(build_objective("ann", tiny_dataset, space), n_trials=2)
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        attrs = trial.user_attrs
        assert COMMON_ATTRS | {"epochs", "best_epoch", "hidden_units"} <= set(attrs)
        assert 1 <= attrs["best_epoch"] <= attrs["epochs"] <= 2
        units = [tiny_dataset.n_features, *attrs["hidden_units"], 1]
        assert attrs["n_params"] == sum((a + 1) * b for a, b in zip(units, units[1:]))
        assert sorted(trial.intermediate_values) == list(range(1, attrs["epochs"] + 1))
        assert trial.value == pytest.approx(attrs["val_auc"])
    assert study.best_value > 0.7


@pytest.mark.parametrize("model", ["rf", "ann"])
def test_pruning_stops_after_the_first_report(tiny_dataset: PreparedDataset, model: str) -> None:
    always = optuna.pruners.ThresholdPruner(lower=2.0)  # no AUC reaches 2: prune at once
    pruned = run_study(build_objective(model, tiny_dataset, fast_space(model), prune=True), 1, always).trials[0]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert len(pruned.intermediate_values) == 1
    assert 0.0 <= next(iter(pruned.intermediate_values.values())) <= 1.0
    kept = run_study(build_objective(model, tiny_dataset, fast_space(model), prune=False), 1, always).trials[0]
    assert kept.state == optuna.trial.TrialState.COMPLETE
    assert len(kept.intermediate_values) >= 1  # reported even without pruning


def test_alternative_metrics(tiny_dataset: PreparedDataset) -> None:
    space = fast_space("rf").with_overrides({"min_samples_leaf": 5, "max_depth": 4})
    auc = run_study(build_objective("rf", tiny_dataset, space), 1).trials[0]
    sig = run_study(build_objective("rf", tiny_dataset, space, metric="sig_eff@0.2"), 1).trials[0]
    ams = run_study(build_objective("rf", tiny_dataset, space, metric="ams"), 1).trials[0]
    assert sig.params == auc.params == ams.params
    assert 0.0 < sig.value <= 1.0 and sig.value != auc.value
    assert ams.value > 0 and ams.user_attrs["val_auc"] == auc.value


def test_ams_scales_physical_weights_to_the_full_sample(tiny_dataset: PreparedDataset) -> None:
    val = tiny_dataset.val
    scores = np.random.default_rng(0).random(len(val)) + 0.3 * val.y
    fraction = len(val) / len(tiny_dataset.table)
    expected = metrics.best_ams(val.y, scores, val.w_phys / fraction)[0]
    assert make_scorer("ams")(val, scores, fraction) == pytest.approx(expected)
    assert make_scorer("ams")(val, scores, fraction) > make_scorer("ams")(val, scores, 1.0)
    assert make_scorer("sig_eff@0.1")(val, scores) == metrics.signal_efficiency_at(val.y, scores, val.w, 0.1)


@pytest.mark.parametrize("metric", ["accuracy", "sig_eff@0", "sig_eff@1.5", "sig_eff@x"])
def test_unknown_metric_is_a_usage_error(tiny_dataset: PreparedDataset, metric: str) -> None:
    with pytest.raises(UsageError, match="metric"):
        build_objective("rf", tiny_dataset, load_space("rf"), metric=metric)


def test_space_of_another_model_is_refused(tiny_dataset: PreparedDataset) -> None:
    with pytest.raises(UsageError, match="not 'ann'"):
        build_objective("ann", tiny_dataset, load_space("rf"))
    with pytest.raises(UsageError, match="unknown model"):
        build_objective("svm", tiny_dataset, load_space("rf"))


def test_hidden_layer_widths() -> None:
    exercise = {"n_layers": 3, "width_factor": 10, "shrink": 5, "min_width_factor": 1.0}
    assert hidden_units(exercise, 5) == [50, 10, 5]
    assert hidden_units({**exercise, "n_layers": 4, "shrink": 1}, 3) == [30, 30, 30, 30]
    assert hidden_units({**exercise, "n_layers": 1, "width_factor": 0.5, "min_width_factor": 0.2}, 4) == [2]


def test_imports_stay_light_and_threads_are_capped_before_tensorflow_starts() -> None:
    code = (
        "import sys, hpo, hpo.spaces, hpo.objectives\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "from hpo.objectives import limit_threads\n"
        "limit_threads(1)\n"
        "from threadpoolctl import threadpool_info\n"
        "assert all(p['num_threads'] == 1 for p in threadpool_info()), threadpool_info()\n"
        "from hpo.models.ann import build_network\n"
        "build_network({'n_layers': 1, 'width_factor': 2, 'shrink': 1, 'min_width_factor': 1, 'activation': 'relu',"
        " 'dropout': 0.0, 'optimizer': 'Adam', 'learning_rate': 1e-3}, 3, threads=4)\n"
        "import tensorflow as tf\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(), tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1", "1"]


def test_objective_pickles_for_worker_processes(tiny_dataset: PreparedDataset) -> None:
    import pickle

    objective = pickle.loads(pickle.dumps(build_objective("rf", tiny_dataset, fast_space("rf"), seed=4)))
    assert objective.seed == 4 and objective.space == fast_space("rf")
    assert run_study(objective, 1).trials[0].state == optuna.trial.TrialState.COMPLETE
