"""Every bad input of the data stage is one line naming the culprit, exit status 2, no traceback."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from conftest import SHARED_DATA
from data_helpers import csv_frame, write_csv_dataset

from hpo.cli import main

GG_NTUPLE = str(SHARED_DATA / "cms-reduced" / "ntuple_4mu_gg.root")


def _root_dataset(folder, **overrides):
    description = {
        "name": "bad-root", "format": "root", "tree": "HZZ4LeptonsAnalysisReduced", "weight": "f_weight",
        "marker": -999, "checked": ["f_massjj"], "columns": {"f_massjj": "f_massjj", "f_mass4l": "f_mass4l"},
        "signal": [{"name": "sig", "files": [GG_NTUPLE]}], "background": [{"name": "bkg", "files": [GG_NTUPLE]}],
        **overrides,
    }  # fmt: skip
    path = folder / "bad.yaml"
    path.write_text(yaml.safe_dump(description))
    return path


def _fails(capsys, argv, *fragments):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("hpo: error: ")
    for fragment in fragments:
        assert fragment in err, err


def test_missing_file(tmp_path, capsys):
    path = write_csv_dataset(tmp_path, background=csv_frame(50, 1, signal=False))
    (tmp_path / "bkg.csv").unlink()
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "bkg.csv", "does not exist", "'bkg'")


def test_missing_preset_file_names_the_data_root(tmp_path, capsys):
    _fails(capsys, ["data", "prepare", "--dataset", "cms-vbf-4mu", "--data-root", str(tmp_path)],
           "VBF_HToZZTo4mu.root", "--data-root or HPO_DATA_ROOT")  # fmt: skip


def test_wrong_tree_name(tmp_path, capsys):
    path = _root_dataset(tmp_path, tree="Events")
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "no tree 'Events'", "HZZ4LeptonsAnalysisReduced")


def test_missing_branch(tmp_path, capsys):
    path = _root_dataset(tmp_path, columns={"f_massjj": "f_mjj", "f_mass4l": "f_mass4l"})
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "no branch f_mjj", "'columns'")


def test_wrong_csv_column(tmp_path, capsys):
    path = write_csv_dataset(tmp_path, columns={"f_massjj": "mjj", "f_deltajj": "detajj", "f_mass4l": "mass4l"})
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "no column mjj", "massjj")


def test_no_events_left_after_cleaning(tmp_path, capsys):
    signal, background = csv_frame(40, 1, signal=True), csv_frame(40, 2, signal=False)
    signal["massjj"] = background["massjj"] = -1.0
    path = write_csv_dataset(tmp_path, signal=signal, background=background)
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "no background events left", "marker -1")


def test_single_class(tmp_path, capsys):
    background = csv_frame(40, 2, signal=False)
    background["detajj"] = -1.0
    path = write_csv_dataset(tmp_path, background=background)
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "no background events", "needs both classes")


def test_single_class_description(tmp_path, capsys):
    path = write_csv_dataset(tmp_path)
    description = yaml.safe_load(path.read_text())
    del description["background"]
    path.write_text(yaml.safe_dump(description))
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "tiny.yaml", "'background'", "Field required")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_values(tmp_path, capsys, bad):
    signal = csv_frame(40, 1, signal=True)
    signal.loc[3, "mass4l"] = bad
    path = write_csv_dataset(tmp_path, signal=signal)
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "sig.csv", "'mass4l'", "NaN or infinite")


def test_negative_total_weight(tmp_path, capsys):
    signal = csv_frame(40, 1, signal=True)
    signal["weight"] = -signal["weight"]
    path = write_csv_dataset(tmp_path, signal=signal)
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "signal events have a signed weight sum", "not positive")


def test_unknown_preset(capsys):
    _fails(capsys, ["data", "info", "--dataset", "cms-vbf-4tau"], "unknown dataset preset 'cms-vbf-4tau'", "rgs-2e2mu")


def test_unknown_feature(capsys):
    _fails(capsys, ["data", "prepare", "--dataset", "atlas-opendata-4l", "--features", "f_massjj,f_lept1_pt"],
           "unknown feature(s) f_lept1_pt", "f_massjj, f_deltajj, f_mass4l")  # fmt: skip


def test_own_feature_names_are_accepted_and_unknown_columns_refused(tmp_path, capsys):
    path = write_csv_dataset(tmp_path, columns={"m4l": "mass4l", "mjj": "massjj"}, checked=["mjj"])
    assert main(["data", "prepare", "--dataset", str(path)]) == 0
    capsys.readouterr()
    path = write_csv_dataset(tmp_path, columns={"m4l": "mass_4l"}, marker=None, checked=[])
    _fails(capsys, ["data", "prepare", "--dataset", str(path)], "sig.csv", "no column mass_4l", "nearest: mass4l")


def test_bad_negative_weight_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "prepare", "--negative-weights", "flip"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'flip'" in capsys.readouterr().err


def test_limit_of_a_real_dataset(capsys):
    _fails(capsys, ["data", "limit", "--dataset", "cmsdas-13tev"], "not purely synthetic", "'synthetic'")
