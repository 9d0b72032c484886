"""Negative event weights end to end on the ATLAS Open Data VBF/ggF sample."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from hpo import metrics
from hpo.cli import main
from hpo.data import prepare
from hpo.store import open_storage

from conftest import SHARED_DATA

ATLAS = ["--dataset", "atlas-opendata-4l", "--data-root", str(SHARED_DATA)]
# Small, fast configurations: the point is that nothing raises on signed weights.
CHEAP = {
    "rf": ["--set", "n_estimators=20", "--set", "max_depth=4"],
    "ann": ["--set", "epochs=2", "--set", "batch_size=1024", "--set", "n_layers=1", "--set", "optimizer=Adam",
            "--set", "learning_rate=0.01"],
}


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    home = tmp_path_factory.mktemp("atlas")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HPO_HOME", str(home))
        return prepare("atlas-opendata-4l", data_root=SHARED_DATA, progress=False), home


def test_atlas_sample_keeps_signed_weights_for_metrics(atlas):
    data, _ = atlas
    val = data.val
    assert (val.w < 0).any(), "the ATLAS sample has negative weights; they must reach the metrics"
    assert (val.w_train >= 0).all(), "default policy 'abs' trains on non-negative weights"
    for label in (0, 1):
        assert data.frame().query(f"label == {label}")["weight"].sum() == pytest.approx(1.0)
    # m_jj alone separates VBF from ggF; its signed-weight AUC is well defined.
    massjj = data.raw_features("val")[:, data.features.index("f_massjj")]
    assert 0.5 < metrics.roc_auc(val.y, massjj, val.w) < 1.0


@pytest.mark.parametrize("model", ["rf", "ann"])
def test_short_study_on_atlas_runs_without_error(atlas, model, monkeypatch, capsys):
    data, home = atlas
    monkeypatch.setenv("HPO_HOME", str(home))
    name = f"atlas-{model}"
    code = main(["run", "--model", model, "--algo", "tpe", "--trials", "2", "--jobs", "1", "--quiet",
                 "--study", name, *ATLAS, *CHEAP[model]])
    assert code == 0, capsys.readouterr().err
    study = optuna.load_study(study_name=name, storage=open_storage())
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 2
    assert all(np.isfinite(t.value) and 0.5 < t.value <= 1.0 for t in done)
    assert all("train_auc" in t.user_attrs for t in done)
