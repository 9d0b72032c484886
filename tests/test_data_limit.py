"""The Bayes limit: a trained classifier gets close to it but does not beat it beyond noise."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from data_helpers import small_synthetic
from sklearn.ensemble import HistGradientBoostingClassifier

from hpo import data
from hpo.cli import main
from hpo.data.limit import likelihood_ratio_score
from hpo.metrics import roc_auc


@pytest.fixture(scope="module")
def synthetic_all(tmp_path_factory):
    home = tmp_path_factory.mktemp("limit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HPO_HOME", str(home))
        yield data.prepare(small_synthetic(scale=0.3), features="all", progress=False)


def test_classifier_does_not_beat_the_bayes_limit(synthetic_all):
    dataset = synthetic_all
    train, test = dataset.train, dataset.test
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=0)
    model.fit(train.X, train.y, sample_weight=train.w_train)
    classifier = model.predict_proba(test.X)[:, 1]
    optimal = likelihood_ratio_score(dataset, "test")
    limit = data.bayes_limit(dataset)
    assert limit == pytest.approx(roc_auc(test.y, optimal, test.w))
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(30):  # paired bootstrap of the test split
        rows = rng.integers(0, len(test), len(test))
        differences.append(roc_auc(test.y[rows], classifier[rows], test.w[rows]) - roc_auc(test.y[rows], optimal[rows], test.w[rows]))
    gap = roc_auc(test.y, classifier, test.w) - limit
    assert gap <= 3 * np.std(differences), (gap, np.std(differences))
    assert gap > -0.02  # the densities match the generated events: a good classifier comes close


def test_limit_needs_a_likelihood_ratio_above_chance(synthetic_all):
    assert 0.9 < data.bayes_limit(synthetic_all, "val") < 1.0


def test_limit_command_prints_the_auc(capsys, tmp_path):
    description = small_synthetic(scale=0.05).model_dump(mode="json")
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(description))
    assert main(["data", "limit", "--dataset", str(tmp_path / "small.yaml")]) == 0
    out = capsys.readouterr().out
    value = float(out.strip().rsplit(" ", 1)[1])
    assert "Bayes-optimal weighted AUC on the test split" in out and 0.9 < value < 1.0
