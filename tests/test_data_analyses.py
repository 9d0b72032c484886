"""Any analysis's ntuples: own column names, label columns, selections and cut flows, jagged
branches, absent values, process scales, fixed splits, real data, and their bad inputs."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import uproot
import yaml
from conftest import SHARED_DATA

from hpo import data
from hpo.cli import main

HIGGSML = SHARED_DATA / "higgsml-tautau" / "atlas_higgsml_10k.csv.gz"
NANOAOD = SHARED_DATA / "nanoaod" / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
FEATURES = ["DER_mass_vis", "DER_pt_h", "PRI_tau_pt", "PRI_lep_pt", "PRI_met", "PRI_jet_num"]


def _higgsml(n: int = 1200) -> pd.DataFrame:
    return pd.read_csv(HIGGSML, nrows=n)


def _write(folder: Path, description: dict, name: str = "d.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({"name": "analysis", "features": FEATURES, **description}))
    return path


def _events(dataset: data.PreparedDataset) -> pd.DataFrame:
    """Events of a prepared dataset as (event id, label, physical weight, features), sorted by event id."""
    frame = dataset.frame()
    return frame[["event", "label", "phys_weight", *dataset.features]].sort_values("event").reset_index(drop=True)


def _fails(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


# -- classes from a label column ------------------------------------------------------------------
@pytest.mark.parametrize("values", [("s", "b"), (1, 0), (1, -1)], ids=["s/b", "1/0", "+1/-1"])
def test_label_column_matches_files_split_by_hand(tmp_path, values):
    frame = _higgsml()
    signal_value, background_value = values
    labelled = frame.assign(Label=np.where(frame["Label"] == "s", signal_value, background_value))
    labelled.to_csv(tmp_path / "all.csv", index=False)
    by_label = data.prepare(_write(tmp_path, {
        "weight": "Weight", "event": "EventId", "label": {"column": "Label", "signal": signal_value},
        "samples": [{"name": "all", "files": ["all.csv"]}],
    }), progress=False)  # fmt: skip
    frame[frame["Label"] == "s"].to_csv(tmp_path / "sig.csv", index=False)
    frame[frame["Label"] == "b"].to_csv(tmp_path / "bkg.csv", index=False)
    by_files = data.prepare(_write(tmp_path, {
        "weight": "Weight", "event": "EventId",
        "signal": [{"name": "sig", "files": ["sig.csv"]}], "background": [{"name": "bkg", "files": ["bkg.csv"]}],
    }, "files.yaml"), progress=False)  # fmt: skip
    a, b = _events(by_label), _events(by_files)
    assert len(a) == len(frame)
    pd.testing.assert_frame_equal(a, b)
    assert a["label"].sum() == (frame["Label"] == "s").sum()


def test_label_column_over_several_files_with_explicit_background(tmp_path):
    frame = _higgsml()
    for i, start in enumerate(range(0, len(frame), 400)):
        frame.iloc[start : start + 400].to_csv(tmp_path / f"part{i}.csv", index=False)
    frame[frame["Label"] == "s"].to_csv(tmp_path / "sig.csv", index=False)
    frame[frame["Label"] == "b"].to_csv(tmp_path / "bkg.csv", index=False)
    several = data.prepare(_write(tmp_path, {
        "weight": "Weight", "event": "EventId", "label": {"column": "Label", "signal": ["s"], "background": ["b"]},
        "samples": [{"name": "parts", "files": ["part*.csv"]}],
    }), progress=False)  # fmt: skip
    by_files = data.prepare(_write(tmp_path, {
        "weight": "Weight", "event": "EventId",
        "signal": [{"name": "sig", "files": ["sig.csv"]}], "background": [{"name": "bkg", "files": ["bkg.csv"]}],
    }, "files.yaml"), progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(_events(several), _events(by_files))
    assert [p["name"] for p in several.meta["processes"]] == ["parts signal", "parts background"]


# -- jagged branches ------------------------------------------------------------------------------
def test_nanoaod_jagged_features_and_selection_match_awkward(tmp_path):
    description = {
        "tree": "Events", "event": "event", "weight": "genWeight",
        "features": ["mu1_pt", "n_jets30", "jet2_eta", "MET_pt"],
        "derived": {"mu1_pt": "Muon_pt[0]", "n_jets30": "count(Jet_pt > 30)", "jet2_eta": "Jet_eta[1]"},
        "selection": [{"name": "one muon", "cut": "nMuon >= 1"}, {"name": "two jets", "cut": "nJet >= 2"}],
        "label": {"column": "count(abs(LHEPart_pdgId) == 13)", "signal": 1},
        "samples": [{"name": "wjets", "files": [str(NANOAOD)]}],
    }  # fmt: skip
    dataset = data.prepare(_write(tmp_path, description), progress=False)
    events = uproot.open(NANOAOD)["Events"].arrays(["event", "Muon_pt", "Jet_pt", "Jet_eta", "nMuon", "nJet", "MET_pt",
                                                     "LHEPart_pdgId"])  # fmt: skip
    selected = events[(events.nMuon >= 1) & (events.nJet >= 2)]
    expected = pd.DataFrame({
        "event": ak.to_numpy(selected.event).astype(np.int64),
        "mu1_pt": ak.to_numpy(selected.Muon_pt[:, 0]),
        "n_jets30": ak.to_numpy(ak.sum(selected.Jet_pt > 30, axis=1)),
        "jet2_eta": ak.to_numpy(selected.Jet_eta[:, 1]),
        "MET_pt": ak.to_numpy(selected.MET_pt),
        "label": ak.to_numpy(ak.sum(abs(selected.LHEPart_pdgId) == 13, axis=1) == 1).astype(np.int8),
    }).sort_values("event").reset_index(drop=True)  # fmt: skip
    got = _events(dataset)
    assert len(got) == len(expected) > 10
    np.testing.assert_array_equal(got["event"], expected["event"])
    np.testing.assert_array_equal(got["label"], expected["label"])
    for column in ("mu1_pt", "n_jets30", "jet2_eta", "MET_pt"):
        np.testing.assert_allclose(got[column], expected[column].astype(np.float32), rtol=1e-6)
    flow = dataset.meta["cutflow"]
    assert [row[0] for row in flow["wjets signal"]] == ["read", "one muon", "two jets", "missing values"]
    assert flow["wjets signal"][2][1] + flow["wjets background"][2][1] == len(expected)


def test_absent_objects_need_a_rule_and_then_reach_each_model_as_it_can_take_them(tmp_path, capsys):
    description = {
        "tree": "Events", "features": ["ele1_pt", "MET_pt"], "derived": {"ele1_pt": "Electron_pt[0]"},
        "label": {"column": "count(abs(LHEPart_pdgId) == 13)", "signal": 1},
        "samples": [{"name": "wjets", "files": [str(NANOAOD)]}],
    }  # fmt: skip
    _fails(capsys, ["data", "prepare", "--dataset", str(_write(tmp_path, description))],
           "feature 'ele1_pt'", "an object the event lacks", "add a 'missing' rule")  # fmt: skip
    description["missing"] = [{"action": "absent", "columns": ["ele1_pt"]}]
    dataset = data.prepare(_write(tmp_path, description), progress=False)
    absent = np.isnan(dataset.raw_features("train")[:, 0])
    assert absent.any() and not absent.all()
    assert dataset.input_names("mean") == ["ele1_pt", "MET_pt", "ele1_pt_missing"]
    network = dataset.split("train", "mean").X
    np.testing.assert_array_equal(network[:, 2], absent)
    np.testing.assert_allclose(network[absent, 0], 0.0, atol=1e-6)  # the training mean, scaled
    assert np.isnan(dataset.split("train", "native").X[absent, 0]).all()


def test_marker_kept_as_absent_gives_trees_the_value_and_the_network_an_indicator(tmp_path):
    frame = _higgsml()
    frame.to_csv(tmp_path / "all.csv", index=False)
    description = {"weight": "Weight", "label": {"column": "Label", "signal": "s"}, "features": ["DER_mass_MMC", "PRI_met"],
                   "missing": {"value": -999, "action": "absent"}, "samples": [{"name": "all", "files": ["all.csv"]}]}  # fmt: skip
    dataset = data.prepare(_write(tmp_path, description), progress=False)
    assert len(dataset.table) == len(frame)  # nothing dropped
    raw = dataset.raw_features()
    absent = np.isnan(raw[:, 0])
    assert absent.sum() == (frame["DER_mass_MMC"] == -999).sum() > 0
    from hpo.models import get_model

    trees = dataset.transform(raw, get_model("rf").missing_view({"engine": "sklearn"}))
    mean, scale = dataset.meta["scaler"]["mean"][0], dataset.meta["scaler"]["scale"][0]
    np.testing.assert_allclose(trees[absent, 0], (-999 - mean) / scale, rtol=1e-5)  # the forest sees -999
    network = dataset.transform(raw, get_model("ann").missing_view({}))
    np.testing.assert_array_equal(network[:, 2], absent)  # the network gets an indicator ...
    np.testing.assert_allclose(network[absent, 0], 0.0, atol=1e-6)  # ... and the training mean
    assert dataset.meta["missing"]["DER_mass_MMC"]["value"] == -999


# -- weights ----------------------------------------------------------------------------------------
def test_cross_section_scale_sets_the_background_composition(tmp_path):
    frame = _higgsml()
    sig, bkg = frame[frame["Label"] == "s"], frame[frame["Label"] == "b"]
    sig.to_csv(tmp_path / "sig.csv", index=False)
    bkg.iloc[:300].to_csv(tmp_path / "ztt.csv", index=False)
    bkg.iloc[300:].to_csv(tmp_path / "ttbar.csv", index=False)
    description = {
        "weight": "Weight * 2", "luminosity": 20.0,
        "signal": [{"name": "H", "files": ["sig.csv"], "cross_section": 1.5, "generated": 1000}],
        "background": [{"name": "Ztt", "files": ["ztt.csv"], "cross_section": 40.0, "generated": 5e5},
                       {"name": "ttbar", "files": ["ttbar.csv"], "scale": 3.0}],
    }  # fmt: skip
    dataset = data.prepare(_write(tmp_path, description), progress=False)
    got = dataset.frame().groupby("process")["phys_weight"].sum()
    names = {i: p["name"] for i, p in enumerate(dataset.meta["processes"])}
    by_hand = {
        "H": 2 * sig["Weight"].sum() * 1.5 * 1000 * 20.0 / 1000,
        "Ztt": 2 * bkg["Weight"].iloc[:300].sum() * 40.0 * 1000 * 20.0 / 5e5,
        "ttbar": 2 * bkg["Weight"].iloc[300:].sum() * 3.0,
    }  # fmt: skip
    for index, total in got.items():
        assert total == pytest.approx(by_hand[names[index]], rel=1e-9)
    share = got / got[[i for i, n in names.items() if n != "H"]].sum()
    ztt = next(i for i, n in names.items() if n == "Ztt")
    assert share[ztt] == pytest.approx(by_hand["Ztt"] / (by_hand["Ztt"] + by_hand["ttbar"]))
    assert dataset.frame().groupby("label")["weight"].sum().to_numpy() == pytest.approx([1.0, 1.0])  # per-class unit sums


# -- cut flow ---------------------------------------------------------------------------------------
def test_data_info_cut_flow_matches_pandas(tmp_path, capsys):
    frame = _higgsml()
    frame.to_csv(tmp_path / "all.csv", index=False)
    description = {
        "weight": "Weight", "label": {"column": "Label", "signal": "s"},
        "selection": [{"name": "tau pt", "cut": "PRI_tau_pt > 25"}, {"name": "jets", "cut": "PRI_jet_num >= 1"}],
        "missing": {"value": -999, "action": "drop", "columns": ["DER_mass_MMC"]},
        "features": ["DER_mass_MMC", "PRI_tau_pt", "PRI_met"], "samples": [{"name": "all", "files": ["all.csv"]}],
    }  # fmt: skip
    path = _write(tmp_path, description)
    assert main(["data", "info", "--dataset", str(path), "--json"]) == 0
    import json

    flow = json.loads(capsys.readouterr().out)["cutflow"]
    steps = [pd.Series(True, index=frame.index), frame["PRI_tau_pt"] > 25, frame["PRI_jet_num"] >= 1, frame["DER_mass_MMC"] != -999]
    keep = np.ones(len(frame), bool)
    for i, step in enumerate(steps):
        keep &= step.to_numpy()
        for name, cls in (("all signal", "s"), ("all background", "b")):
            rows = keep & (frame["Label"] == cls).to_numpy()
            assert flow[name][i][1] == rows.sum()
            assert flow[name][i][2] == pytest.approx(frame.loc[rows, "Weight"].sum())
    assert main(["data", "info", "--dataset", str(path)]) == 0
    text = capsys.readouterr().out
    assert "cut flow" in text and "tau pt" in text and "missing values" in text


# -- fixed splits, export, real data ---------------------------------------------------------------
def _small_rf_space(folder: Path) -> Path:
    """A fast RF space: a few shallow trees, the depth tuned."""
    path = folder / "rf.yaml"
    path.write_text(yaml.safe_dump({"model": "rf", "params": {"max_depth": {"type": "int", "low": 2, "high": 4}},
                                    "fixed": {"n_estimators": 15, "min_samples_leaf": 5, "min_samples_split": 10,
                                              "max_features": 1.0, "criterion": "gini", "bootstrap": True}}))  # fmt: skip
    return path


def _fixed_split_description(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = _higgsml(1500)
    frame.iloc[:1100].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[1100:].to_csv(tmp_path / "test.csv", index=False)
    path = _write(tmp_path, {
        "weight": "Weight", "event": "EventId", "identifiers": ["EventId", "KaggleSet"], "label": {"column": "Label", "signal": "s"},
        "samples": [{"name": "challenge", "train": ["train.csv"], "test": ["test.csv"]}],
    })  # fmt: skip
    return path, frame


def test_fixed_train_and_test_files_keep_test_events_out_of_training(tmp_path):
    path, frame = _fixed_split_description(tmp_path)
    dataset = data.prepare(path, progress=False)
    test_ids = set(frame["EventId"].iloc[1100:])
    for split in ("train", "val"):
        assert not set(dataset.frame(split)["event"]) & test_ids
    assert set(dataset.frame("test")["event"]) == test_ids
    assert len(dataset.frame("val")) == round(1100 * 0.3)  # validation drawn from the training file
    assert dataset.meta["fixed_split"] is True


def test_export_of_a_labelled_file_reproduces_the_best_test_auc(tmp_path, capsys):
    from hpo import metrics

    path, frame = _fixed_split_description(tmp_path)
    space = _small_rf_space(tmp_path)
    assert main(["run", "--model", "rf", "--algo", "random", "--trials", "2", "--jobs", "1", "--dataset", str(path),
                 "--space", str(space), "--study", "fixed", "--quiet"]) == 0  # fmt: skip
    assert main(["best", "fixed"]) == 0
    capsys.readouterr()
    from hpo.store import open_storage
    import optuna

    best_auc = optuna.load_study(study_name="fixed", storage=open_storage(None)).user_attrs["best_test_auc"]
    out = tmp_path / "scores"
    assert main(["export", "fixed", "--input", str(tmp_path / "test.csv"), "--out", str(out)]) == 0
    scored = pd.read_csv(out.with_suffix(".csv"))
    assert list(scored.columns) == ["run", "event", "EventId", "KaggleSet", "label", "valid", "score"]
    assert (scored["label"].to_numpy() == (frame["Label"].iloc[1100:] == "s").to_numpy()).all()
    test = frame.iloc[1100:]
    w = np.where(test["Label"] == "s", test["Weight"] / test.loc[test.Label == "s", "Weight"].sum(),
                 test["Weight"] / test.loc[test.Label == "b", "Weight"].sum())  # fmt: skip
    assert metrics.roc_auc(scored["label"], scored["score"], w) == pytest.approx(best_auc, abs=1e-9)


def test_report_shows_real_data_over_the_stacked_simulation(tmp_path):
    frame = _higgsml(1500)
    frame.iloc[:1300].to_csv(tmp_path / "mc.csv", index=False)
    frame.iloc[1300:].drop(columns=["Label", "Weight"]).to_csv(tmp_path / "data.csv", index=False)
    path = _write(tmp_path, {
        "weight": "Weight", "experiment": "ATLAS", "label": {"column": "Label", "signal": "s"},
        "samples": [{"name": "mc", "files": ["mc.csv"]}], "data": [{"name": "data", "files": ["data.csv"]}],
        "display": {"DER_mass_vis": {"label": "visible mass", "unit": "GeV"}},
    })  # fmt: skip
    dataset = data.prepare(path, progress=False)
    assert dataset.has_data and len(dataset.frame("data")) == 200
    space = _small_rf_space(tmp_path)
    assert main(["run", "--model", "rf", "--algo", "random", "--trials", "2", "--jobs", "1", "--dataset", str(path),
                 "--space", str(space), "--study", "withdata", "--quiet"]) == 0  # fmt: skip
    out = tmp_path / "report"
    assert main(["report", "withdata", "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Real data and simulation" in html and (out / "data_overlay.png").exists()
    assert "Observed events (data)" in (out / "report.md").read_text()
    assert "visible mass [GeV]" not in html  # labels are drawn in the figures, which exist per observable:
    assert sorted(p.name for p in out.glob("obs_*.png"))[0] == "obs_0_DER_mass_vis.png"
    assert not any("m4l" in p.name or "mjj" in p.name for p in out.glob("*.png"))


# -- bad input: one line, exit status 2 -------------------------------------------------------------
@pytest.fixture
def labelled_csv(tmp_path) -> Path:
    _higgsml(400).to_csv(tmp_path / "all.csv", index=False)
    return tmp_path


def _label_description(folder: Path, **overrides) -> Path:
    return _write(folder, {"weight": "Weight", "label": {"column": "Label", "signal": "s"},
                           "samples": [{"name": "all", "files": ["all.csv"]}], **overrides})  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"features": ["DER_mass_viz"]}, ["no column DER_mass_viz", "nearest: DER_mass_vis", "feature 'DER_mass_viz'"]),
        ({"derived": {"x": "PRI_met +* 2"}, "features": ["x"]}, ["field 'derived'", "does not parse"]),
        ({"derived": {"x": "frobnicate(PRI_met)"}, "features": ["x"]}, ["unknown function 'frobnicate'"]),
        ({"derived": {"x": "PRI_met.__class__"}, "features": ["x"]}, ["attribute access"]),
        ({"label": {"column": "Label", "signal": "S"}}, ["no event has a signal value ['S']", "'s', 'b'"]),
        ({"label": {"column": "Label", "signal": "s", "background": "x"}}, ["listed for neither class", "'b'"]),
        ({"selection": "PRI_met > 1e9"}, ["events left", "selection (PRI_met > 1e9)"]),
        ({"features": ["DER_mass_vis", "KaggleWeight_const"], "derived": {"KaggleWeight_const": "PRI_met * 0 + 3"}},
         ["'KaggleWeight_const'", "constant"]),
        ({"features": ["DER_mass_vis", "gone"], "derived": {"gone": "where(PRI_met > -1, nan, 1)"},
          "missing": [{"action": "absent", "columns": ["gone"]}]}, ["'gone'", "undefined in every selected event"]),
        ({"weight": "Weight / (PRI_met - PRI_met)"}, ["weight", "NaN or infinite"]),
        ({"weight": "Wieght"}, ["no column Wieght", "nearest: Weight", "fix 'weight'"]),
    ],
    ids=["unknown-column", "no-parse", "unknown-function", "attribute", "label-neither", "label-unlisted",
         "empty-selection", "constant", "all-missing", "nan-weight", "missing-weight-column"],
)
def test_bad_input_is_one_line(labelled_csv, capsys, overrides, fragments):
    _fails(capsys, ["data", "prepare", "--dataset", str(_label_description(labelled_csv, **overrides))], *fragments)


def test_same_events_in_both_classes_are_refused(labelled_csv, capsys):
    path = _write(labelled_csv, {"weight": "Weight", "signal": [{"name": "a", "files": ["all.csv"]}],
                                 "background": [{"name": "b", "files": ["all.csv"]}]})  # fmt: skip
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "400 event(s)", "all.csv", "both signal ('a') and background ('b')")
    # Disjoint selections of one file (a control region) are fine.
    path = _write(labelled_csv, {"weight": "Weight", "signal": [{"name": "a", "files": ["all.csv"], "selection": "Label_num > 0"}],
                                 "background": [{"name": "b", "files": ["all.csv"], "selection": "Label_num < 1"}]},
                  "ok.yaml")  # fmt: skip
    frame = pd.read_csv(labelled_csv / "all.csv")
    frame.assign(Label_num=(frame["Label"] == "s").astype(int)).to_csv(labelled_csv / "all.csv", index=False)
    assert main(["data", "prepare", "--dataset", str(path)]) == 0


def test_empty_file_and_csv_without_format(labelled_csv, capsys):
    (labelled_csv / "empty.csv").write_text("")
    path = _write(labelled_csv, {"weight": "Weight", "signal": [{"name": "a", "files": ["empty.csv"]}],
                                 "background": [{"name": "b", "files": ["all.csv"]}]})  # fmt: skip
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "empty.csv", "is empty")
    (labelled_csv / "empty.root").write_bytes(b"")
    path = _write(labelled_csv, {"signal": [{"name": "a", "files": ["empty.root"]}], "background": [{"name": "b", "files": ["all.csv"]}]})
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "empty.root", "is empty")
    assert "format" not in yaml.safe_load(_label_description(labelled_csv).read_text())  # CSV told by its suffix
    assert main(["data", "prepare", "--dataset", str(_label_description(labelled_csv))]) == 0


def test_several_problems_are_counted(labelled_csv, capsys):
    path = _write(labelled_csv, {"weight": 3, "label": {"column": "Label"}, "samples": [{"name": "all"}]})
    err = _fails(capsys, ["data", "prepare", "--dataset", str(path)], "problems in all; this is the first")
    assert str(path) in err


def test_higgsml_preset_has_its_own_names_and_ams_regularisation():
    dataset = data.prepare("higgsml-tautau", features="primary", progress=False)
    assert dataset.features[0] == "PRI_tau_pt" and len(dataset.features) == 17
    assert dataset.b_reg == 10
    assert "PRI_jet_leading_pt" in dataset.missing and not any(f.startswith("f_") for f in dataset.columns)


def test_file_errors_name_the_file_as_written(labelled_csv, capsys):
    path = _label_description(labelled_csv, features=["DER_mass_viz"])
    err = _fails(capsys, ["data", "prepare", "--dataset", str(path)], "all.csv has no column DER_mass_viz")
    assert str(labelled_csv / "all.csv") not in err


def test_split_column_gives_fixed_splits(tmp_path):
    frame = _higgsml(1000)
    frame["set"] = np.where(np.arange(len(frame)) % 5 == 0, "test", np.where(np.arange(len(frame)) % 5 == 1, "val", "train"))
    frame.to_csv(tmp_path / "all.csv", index=False)
    dataset = data.prepare(_label_description(tmp_path, event="EventId",
                                               split={"column": "set", "train": "train", "val": "val", "test": "test"}),
                           progress=False)  # fmt: skip
    for name in ("train", "val", "test"):
        expected = set(frame.loc[frame["set"] == name, "EventId"])
        assert set(dataset.frame(name)["event"]) == expected


def test_unweighted_sample_is_reported_as_event_counts(tmp_path):
    from hpo.reports import physics
    from hpo.reports.report import _selection

    _higgsml(600).to_csv(tmp_path / "all.csv", index=False)
    dataset = data.prepare(_write(tmp_path, {"label": {"column": "Label", "signal": "s"},
                                             "samples": [{"name": "all", "files": ["all.csv"]}]}), progress=False)  # fmt: skip
    assert dataset.weighted is False
    test = dataset.split("test")
    scores = np.random.default_rng(0).random(len(test.y)) * 0.5 + 0.5 * test.y
    section, _, _ = _selection(dataset, physics.Labelled(test.y, scores, test.w), tmp_path)
    labels = [fact.label for fact in section.facts]
    assert not any(label.startswith("AMS") for label in labels) and "Selected signal (events)" in labels
    assert any("unweighted" in note for note in section.notes)
