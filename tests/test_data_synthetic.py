"""The synthetic generator: exercise format, determinism, physical consistency, calibration."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import uproot
import vector
from conftest import SHARED_DATA
from scipy import integrate, stats

from hpo import data
from hpo.cli import main
from hpo.data import synthetic

EXERCISE_BRANCHES = {
    "f_run", "f_event", "f_weight", "f_massjj", "f_deltajj", "f_mass4l", "f_Z1mass", "f_Z2mass",
    *(f"f_lept{i}_{v}" for i in range(1, 5) for v in ("pt", "eta", "phi")),
    *(f"f_jet{i}_{v}" for i in (1, 2) for v in ("pt", "eta", "phi")),
}  # fmt: skip


def _content(path) -> str:
    """Hash of the tree's arrays (ROOT files also hold a creation time and a UUID)."""
    arrays = uproot.open(path)["HZZ4LeptonsAnalysisReduced"].arrays(library="np")
    return hashlib.sha256(b"".join(arrays[k].tobytes() for k in sorted(arrays))).hexdigest()


def test_files_have_the_exercise_tree_and_branches(tmp_path):
    paths = data.synthesize("4mu", seed=3, scale=0.02, folder=tmp_path / "a")
    assert [p.name for p in paths] == ["VBF_HToZZTo4mu.root", "GluGluHToZZTo4mu.root", "ZZTo4mu.root"]
    for path in paths:
        with uproot.open(path) as file:
            assert file.classnames() == {"HZZ4LeptonsAnalysisReduced;1": "TTree"}
            tree = file["HZZ4LeptonsAnalysisReduced"]
            assert set(tree.keys()) == EXERCISE_BRANCHES and len(EXERCISE_BRANCHES) == 26
            arrays = tree.arrays(library="np")
        no_pair = arrays["f_massjj"] == -999
        assert 0 < no_pair.mean() < 1
        for name in ("f_deltajj", "f_jet1_pt", "f_jet2_eta"):
            assert np.all((arrays[name] == -999) == no_pair)
        assert np.all(arrays["f_weight"] > 0) and np.all(arrays["f_mass4l"] > 70)


def test_generation_is_deterministic_given_the_seed(tmp_path):
    first = data.synthesize("4e", seed=5, scale=0.01, folder=tmp_path / "a")
    again = data.synthesize("4e", seed=5, scale=0.01, folder=tmp_path / "b")
    other = data.synthesize("4e", seed=6, scale=0.01, folder=tmp_path / "c")
    assert [_content(p) for p in first] == [_content(p) for p in again]
    assert _content(first[0]) != _content(other[0])


def test_weights_give_realistic_process_proportions(tmp_path):
    paths = data.synthesize("4mu", scale=0.01, folder=tmp_path)
    yields = {p.name: uproot.open(p)["HZZ4LeptonsAnalysisReduced/f_weight"].array(library="np").sum() for p in paths}
    vbf, ggh, zz = yields.values()
    assert 8 < ggh / vbf < 16  # ggH is about ten times VBF in cross section
    assert zz > ggh


def test_low_level_kinematics_reproduce_the_high_level_features():
    process = synthetic.processes("4mu")[0]
    events = synthetic.generate(process, 2000, np.random.default_rng(0), 1.0)
    leptons = [
        vector.array({"pt": events[f"f_lept{i}_pt"], "eta": events[f"f_lept{i}_eta"],
                      "phi": events[f"f_lept{i}_phi"], "mass": np.zeros(2000)})
        for i in range(1, 5)
    ]  # fmt: skip
    # float32 storage of strongly boosted leptons costs a little precision in a few events
    for mass, name in (((leptons[0] + leptons[1]).mass, "f_Z1mass"), ((leptons[2] + leptons[3]).mass, "f_Z2mass"),
                       ((leptons[0] + leptons[1] + leptons[2] + leptons[3]).mass, "f_mass4l")):
        relative = np.abs(mass / events[name] - 1)
        assert np.quantile(relative, 0.99) < 1e-3 and relative.max() < 0.02, name
    jets = events["f_massjj"] > 0
    j1, j2 = (
        vector.array({"pt": events[f"f_jet{i}_pt"][jets], "eta": events[f"f_jet{i}_eta"][jets],
                      "phi": events[f"f_jet{i}_phi"][jets], "mass": np.zeros(jets.sum())})
        for i in (1, 2)
    )  # fmt: skip
    np.testing.assert_allclose((j1 + j2).mass, events["f_massjj"][jets], rtol=1e-2)
    np.testing.assert_allclose(np.abs(j1.eta - j2.eta), events["f_deltajj"][jets], atol=1e-4)
    assert np.all(j1.pt >= j2.pt)


@pytest.mark.parametrize("preset", ["synthetic", "synthetic-4e"])
def test_low_feature_set_is_the_hard_benchmark_of_lepton_and_jet_kinematics(preset):
    sets = data.load_description(preset).features
    assert sets["low"] == list(synthetic.LOW_LEVEL) and len(sets["low"]) == 18
    assert {name.rsplit("_", 1)[1] for name in sets["low"]} == {"pt", "eta", "phi"}
    assert sets["high"] == list(synthetic.HIGH_LEVEL) and next(iter(sets)) == "high"  # high stays the default


def test_truncated_mixture_density_integrates_to_one():
    mixture = synthetic._higgs(1.2)[0].z2
    total, _ = integrate.quad(lambda x: np.exp(mixture.logpdf(np.array([x]), 12.0, 40.0))[0], 12.0, 40.0)
    assert total == pytest.approx(1.0, abs=1e-6)
    draws = mixture.sample(np.random.default_rng(1), 20_000, 12.0, 40.0)
    assert draws.min() >= 12.0 and draws.max() <= 40.0


def _real(path: str, tree: str, names: dict[str, str]) -> dict[str, np.ndarray]:
    arrays = uproot.open(SHARED_DATA / path)[tree].arrays(list(names.values()), library="np")
    return {canonical: arrays[branch] for canonical, branch in names.items()}


def _calibration(process_name: str, real: dict[str, np.ndarray], has_pair: np.ndarray, features: tuple[str, ...]):
    process = next(p for p in synthetic.processes("4mu") if p.name == process_name)
    generated = synthetic.generate(process, 40_000, np.random.default_rng(11), 1.0)
    pair = generated["f_massjj"] != -999
    distances = {}
    for name in features:
        jet_variable = name in ("f_massjj", "f_deltajj")
        distances[name] = stats.ks_2samp(
            real[name][has_pair] if jet_variable else real[name], generated[name][pair] if jet_variable else generated[name]
        ).statistic
    return pair.mean(), distances


def test_ggh_is_calibrated_against_the_cms_reduced_ntuple():
    real = _real("cms-reduced/ntuple_4mu_gg.root", "HZZ4LeptonsAnalysisReduced", {f: f for f in data.HIGH_LEVEL})
    has_pair = real["f_massjj"] != -999
    fraction, distances = _calibration("ggH", real, has_pair, data.HIGH_LEVEL)
    assert abs(fraction - has_pair.mean()) <= 0.05
    assert max(distances.values()) <= 0.15, distances


def test_vbf_is_calibrated_against_the_cmsdas_sample():
    real = _real("cmsdas-13tev/vbf13TeV.root", "Analysis",
                 {"f_massjj": "massjj", "f_deltajj": "deltaetajj", "f_mass4l": "mass4l"})  # fmt: skip
    has_pair = real["f_massjj"] != 0  # this sample marks "no jet pair" with 0
    fraction, distances = _calibration("VBF", real, has_pair, ("f_massjj", "f_deltajj", "f_mass4l"))
    assert abs(fraction - has_pair.mean()) <= 0.05
    assert max(distances.values()) <= 0.15, distances


def test_default_size_synth_then_info_from_the_command_line(capsys):
    assert main(["data", "synth", "--channel", "4mu"]) == 0
    assert main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "VBF_HToZZTo4mu.root" in out and "f_mass4l" in out
    summary = data.describe(data.prepare(progress=False))
    assert 12_000 <= summary["classes"]["signal"]["events"]["total"] <= 16_000
    assert 85_000 <= summary["classes"]["background"]["events"]["total"] <= 115_000
