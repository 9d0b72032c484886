"""Preparation: every shared-data preset, splits, weights, scaling, features, cache, negative weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import uproot
from conftest import SHARED_DATA
from data_helpers import csv_frame, small_synthetic, write_csv_dataset

from hpo import data
from hpo.cli import main
from hpo.data import preparation
from hpo.data.prepared import Split
from hpo.errors import DataError, UsageError


def _root_count(path: str, tree: str, branch: str, marker: float) -> int:
    values = uproot.open(SHARED_DATA / path)[tree][branch].array(library="np")
    return int(np.count_nonzero(values != marker))


def _csv_count(path: str, column: str, marker: float) -> int:
    return int((pd.read_csv(SHARED_DATA / path)[column] != marker).sum())


SHARED_PRESETS = {
    "cms-reduced": (None, _root_count("cms-reduced/ntuple_4mu_gg.root", "HZZ4LeptonsAnalysisReduced", "f_massjj", -999)),
    "rgs-2e2mu": (
        _root_count("rgs-2e2mu/pp13TeV_vv2H_2e2mu.root", "Analysis", "mjj", -1),
        sum(_root_count(f"rgs-2e2mu/pp13TeV_{p}_2e2mu.root", "Analysis", "mjj", -1) for p in ("gg2H", "zz")),
    ),
    "cmsdas-13tev": (
        _root_count("cmsdas-13tev/vbf13TeV.root", "Analysis", "massjj", 0),
        _root_count("cmsdas-13tev/ggf13TeV.root", "Analysis", "massjj", 0),
    ),
    "atlas-opendata-4l": (
        _csv_count("atlas-opendata-4l/atlas_opendata_4l_vbf.csv.gz", "massjj", -1),
        _csv_count("atlas-opendata-4l/atlas_opendata_4l_ggf.csv.gz", "massjj", -1),
    ),
}


@pytest.mark.parametrize("preset", sorted(SHARED_PRESETS))
def test_shared_presets_prepare_with_the_expected_counts(preset):
    description = small_synthetic(preset, scale=0.1) if preset == "cms-reduced" else preset
    dataset = data.prepare(description, progress=False)
    summary = data.describe(dataset)
    n_signal, n_background = SHARED_PRESETS[preset]
    assert summary["classes"]["background"]["events"]["total"] == n_background
    if n_signal is not None:
        assert summary["classes"]["signal"]["events"]["total"] == n_signal
    assert summary["classes"]["signal"]["events"]["total"] > 500
    assert "f_mass4l" in dataset.features and "f_massjj" in dataset.features
    lo, hi = summary["ranges"]["f_mass4l"]
    assert 40 < lo < 125 < hi < 2000  # GeV everywhere, including the derived m4l of rgs-2e2mu


def test_splits_weights_and_scaler_follow_the_exercise():
    dataset = data.prepare("cmsdas-13tev", progress=False, test_size=0.25, val_size=0.4, seed=3)
    n = len(dataset.table)
    sizes = {s: len(dataset.split(s)) for s in data.SPLITS}
    assert sizes["test"] == round(0.25 * n) and sizes["val"] == round(0.4 * (n - sizes["test"]))
    frame = dataset.frame()
    for label in (0, 1):
        rows = frame[frame.label == label]
        assert rows.weight.sum() == pytest.approx(1.0)
        assert rows.train_weight.sum() == pytest.approx(n / 2)  # balanced classes, mean training weight 1
    train = dataset.train.X
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-3)
    assert abs(dataset.test.X.mean()) > 1e-5  # scaling was fitted on the training split only
    assert not np.array_equal(frame.event.to_numpy()[:50], np.sort(frame.event.to_numpy()[:50]))  # shuffled


def test_split_take_and_concat_keep_every_array_aligned():
    n = 6
    split = Split(np.arange(2 * n, dtype=np.float32).reshape(n, 2), np.array([0, 1] * 3, dtype=np.int8),
                  np.arange(n) / 10, np.arange(n) + 100.0, np.arange(n) + 200.0)  # fmt: skip
    odd = split.take(split.y == 1)
    assert odd.X[:, 0].tolist() == [2, 6, 10] and odd.w.tolist() == [0.1, 0.3, 0.5]
    assert odd.w_train.tolist() == [101, 103, 105] and odd.w_phys.tolist() == [201, 203, 205]
    picked = split.take(np.array([4, 0]))
    assert picked.X[:, 1].tolist() == [9, 1] and picked.y.tolist() == [0, 0] and picked.w_phys.tolist() == [204, 200]
    joined = Split.concat([odd, picked])
    assert len(joined) == 5 and joined.w_train.tolist() == [101, 103, 105, 104, 100] and joined.X.shape == (5, 2)
    assert Split.concat([split]) is split  # one split is handed back, not copied


def test_feature_sets_and_observables():
    high = data.prepare("rgs-2e2mu", progress=False)
    assert high.features == ["f_massjj", "f_deltajj", "f_mass4l", "f_Z1mass", "f_Z2mass"]
    listed = data.prepare("rgs-2e2mu", features="f_Z2mass,f_mass4l", progress=False)
    assert listed.features == ["f_Z2mass", "f_mass4l"]
    assert set(listed.meta["observables"]) == {"f_massjj", "f_deltajj", "f_Z1mass"}
    low = data.prepare(small_synthetic(scale=0.02), features="low", progress=False)
    assert len(low.features) == 18 and set(low.columns) == set(low.features) | set(data.HIGH_LEVEL)
    with pytest.raises(DataError, match="no 'low' features; available: f_massjj"):
        data.prepare("atlas-opendata-4l", features="low", progress=False)


def test_derived_four_lepton_mass_matches_the_z_four_vectors():
    dataset = data.prepare("rgs-2e2mu", progress=False)
    tree = uproot.open(SHARED_DATA / "rgs-2e2mu/pp13TeV_vv2H_2e2mu.root")["Analysis"]
    z = tree.arrays(library="np")
    keep = z["mjj"] != -1

    def four_vector(prefix):
        pt, eta, phi, m = (z[f"{prefix}{v}"][keep] for v in ("pt", "eta", "phi", "mass"))
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        return np.sqrt(px**2 + py**2 + pz**2 + m**2), px, py, pz

    e, px, py, pz = (a + b for a, b in zip(four_vector("Z1"), four_vector("Z2")))
    expected = np.sort(np.sqrt(e**2 - px**2 - py**2 - pz**2))
    frame = dataset.frame()
    got = np.sort(frame.loc[frame.process == 0, "f_mass4l"].to_numpy())
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_second_prepare_reuses_the_cache_without_reading_inputs(monkeypatch):
    first = data.prepare("cmsdas-13tev", progress=False)

    def fail(*args, **kwargs):
        raise AssertionError("an input file was read although the prepared file is cached")

    monkeypatch.setattr(preparation, "read_file", fail)
    monkeypatch.setattr(uproot, "open", fail)
    again = data.prepare("cmsdas-13tev", progress=False)
    assert again.hash == first.hash and again.path == first.path
    assert data.open_prepared(first.hash[:10]).hash == first.hash


def test_hash_follows_settings_and_file_contents(tmp_path):
    yaml_path = write_csv_dataset(tmp_path)
    first = data.prepare(yaml_path, progress=False)
    assert data.prepare(yaml_path, seed=1, progress=False).hash != first.hash
    assert data.prepare(yaml_path, negative_weights="zero", progress=False).hash != first.hash
    changed = csv_frame(300, 1, signal=True)
    changed.loc[0, "weight"] = 7.0
    changed.to_csv(tmp_path / "sig.csv", index=False)
    assert data.prepare(yaml_path, progress=False).hash != first.hash


@pytest.mark.parametrize("policy", data.NEGATIVE_WEIGHT_POLICIES)
def test_negative_weight_policies_on_the_atlas_sample(policy):
    dataset = data.prepare("atlas-opendata-4l", negative_weights=policy, progress=False)
    frame = dataset.frame()
    negative = frame.phys_weight < 0
    assert negative.sum() > 50
    assert (frame.weight[negative] < 0).all()  # metric weights stay signed whatever the policy
    for label in (0, 1):
        assert frame.weight[frame.label == label].sum() == pytest.approx(1.0)
    train = frame.train_weight[negative]
    if policy == "keep":
        assert (train < 0).all()
    elif policy == "abs":
        assert (train > 0).all()
        signal = frame[(frame.label == 1) & (frame.phys_weight != 0)]
        ratio = signal.train_weight / signal.phys_weight.abs()
        np.testing.assert_allclose(ratio, ratio.iloc[0], rtol=1e-9)
    else:
        assert (train == 0).all()
    assert data.DEFAULT_NEGATIVE_WEIGHTS == "abs"


def test_class_with_non_positive_signed_weight_sum_is_refused(tmp_path):
    background = csv_frame(200, 3, signal=False)
    background["weight"] = -background["weight"]
    background.loc[:5, "weight"] = 1.0
    with pytest.raises(DataError, match="background events have a signed weight sum of -"):
        data.prepare(write_csv_dataset(tmp_path, background=background), progress=False)


def test_bad_settings_are_usage_errors():
    with pytest.raises(UsageError, match="test_size"):
        data.prepare("atlas-opendata-4l", test_size=1.0, progress=False)
    with pytest.raises(UsageError, match="negative_weights"):
        data.prepare("atlas-opendata-4l", negative_weights="flip", progress=False)


def test_info_shows_negative_weight_counts_and_shares(capsys):
    assert main(["data", "info", "--dataset", "atlas-opendata-4l"]) == 0
    out = capsys.readouterr().out
    summary = data.describe(data.prepare("atlas-opendata-4l", progress=False))
    for name, values in summary["classes"].items():
        assert values["negative_events"] > 0 and 0 < values["negative_share"] < 0.01
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert f"{values['negative_events']}" in row.split() and f"{values['negative_share']:.4%}" in row
    assert summary["hash"] in out and "f_massjj" in out


def test_the_synthetic_sample_has_one_hash_on_every_machine(tmp_path, monkeypatch):
    # Two syntheses of the same events write ROOT files whose bytes differ (write times, a random
    # UUID): the prepared dataset's hash must follow the events, so that workers on two machines
    # that each generated the default sample agree on it.
    description = small_synthetic(scale=0.02)
    hashes, samples = [], []
    for machine in ("one", "two"):
        monkeypatch.setenv("HPO_HOME", str(tmp_path / machine))
        prepared = data.prepare(description, progress=False)
        hashes.append(prepared.hash)
        samples.append(sorted((tmp_path / machine / "synthetic").rglob("*.root")))
    first, second = (b[0].read_bytes() for b in samples)
    assert first != second and len(first) == len(second)  # the same events, other bytes
    assert hashes[0] == hashes[1]
    assert data.prepare(small_synthetic(scale=0.03), progress=False).hash != hashes[1]  # other events, another hash
