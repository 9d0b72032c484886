"""hpo compare / report / export on small studies: files written, numbers checked against the store."""

from __future__ import annotations

import base64
import fcntl
import io
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import uproot
from conftest import make_tiny_dataset

from hpo import drivers, metrics, paths
from hpo.cli import main
from hpo.data.prepared import PreparedDataset
from hpo.objectives import load_model
from hpo.data.limit import bayes_limit
from hpo.reports import compare, export, history, report, style
from hpo.reports.sources import best_dir
from hpo.store import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
# The models loaded here are the ones these tests just saved.
pytestmark = pytest.mark.filterwarnings("ignore:loading .* unpickles Python objects")

# Raw input columns of the test dataset's description, by feature.
COLUMNS = {"f_massjj": "mjj", "f_deltajj": "detajj", "f_mass4l": "m4l", "f_Z1mass": "mZ1"}
MARKER = -1.0


def physics_dataset(**described: object) -> PreparedDataset:
    """The tiny dataset with the exercise's feature names and a dataset description (no Z2 mass),
    plus the description fields ``described`` (experiment, status, luminosity, ...)."""
    base = make_tiny_dataset(n=1500, n_features=len(COLUMNS), seed=1)
    names = list(COLUMNS)
    table = base.table.rename_columns([f"col:{names[int(c[5:])]}" if c.startswith("col:x") else c for c in base.table.column_names])
    description = {"name": "tiny-physics", "format": "root", "tree": "events", "columns": COLUMNS, "marker": MARKER,
                   "checked": ["f_massjj"], "event": "evt",
                   "signal": [{"name": "sig", "files": ["sig.root"]}], "background": [{"name": "bkg", "files": ["bkg.root"]}],
                   **described}
    ds = PreparedDataset(table, {**base.meta, "features": names, "description": description})
    ds.write(paths.prepared_dir() / f"{ds.hash}.arrow")
    return ds


def run_study(name: str, algo: str, dataset: PreparedDataset, space: Path, n_trials: int, seed: int = 0) -> optuna.Study:
    """A small RF study run by the real driver (one worker)."""
    return drivers.run("rf", algo, dataset, space=space, n_trials=n_trials, jobs=1, study_name=name, seed=seed,
                       grid_levels=2 if algo == "grid" else None, progress=False)


@pytest.fixture
def storage(hpo_home: Path) -> str:
    return paths.default_storage_url()


@pytest.fixture
def space(tmp_path: Path) -> Path:
    """A small, fast RF search space (few shallow trees)."""
    path = tmp_path / "rf-small.yaml"
    path.write_text(
        "model: rf\nparams:\n  n_estimators: {type: int, low: 5, high: 20}\n  max_depth: {type: int, low: 2, high: 6}\n"
        "  criterion: {type: categorical, choices: [gini, entropy]}\n"
        "fixed: {min_samples_leaf: 5, min_samples_split: 10, max_features: 0.5, bootstrap: true}\n"
    )
    return path


@pytest.fixture
def grid_study(space: Path) -> optuna.Study:
    """A grid study of the RF, its best configuration retrained by 'hpo best'."""
    study = run_study("rf-grid", "grid", physics_dataset(), space, 4)
    drivers.best("rf-grid")
    return study


@pytest.fixture
def studies(grid_study: optuna.Study, space: Path) -> dict[str, optuna.Study]:
    """The grid study and a TPE study of the RF repeated with two seeds."""
    ds = PreparedDataset.open(grid_study.user_attrs["dataset_path"])
    return {
        "rf-grid": grid_study,
        "rf-tpe-s1": run_study("rf-tpe-s1", "tpe", ds, space, 5, seed=1),
        "rf-tpe-s2": run_study("rf-tpe-s2", "tpe", ds, space, 4, seed=2),
    }


def test_history_curves_and_band() -> None:
    h = history.StudyHistory("s", "tpe", "rf", 0, "auc", True, np.arange(4), np.array([0.5, 0.7, 0.6, 0.8]),
                             np.ones(4), np.array([1.0, 2.0, 3.0, 4.0]))
    assert h.best_so_far.tolist() == [0.5, 0.7, 0.7, 0.8]
    assert h.trials_to_within(0.002) == 4 and h.trials_to_within(0.15) == 2
    grid = np.array([0.5, 1.0, 2.5, 4.0, 5.0])
    np.testing.assert_array_equal(history.curve(h, "time", grid), [np.nan, 0.5, 0.7, 0.8, np.nan])
    other = history.StudyHistory("t", "tpe", "rf", 1, "auc", True, np.arange(2), np.array([0.9, 0.1]), np.ones(2), np.ones(2))
    median, q25, q75 = history.band([h, other], "trials", np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(median, [0.7, 0.8, 0.7])
    np.testing.assert_allclose(q25, [0.6, 0.75, 0.7])


def test_compare_counts_the_time_of_pruned_and_failed_trials() -> None:
    # a multi-fidelity study spends much of its time on trials the pruner stops
    from datetime import datetime, timedelta

    from optuna.distributions import FloatDistribution
    from optuna.trial import FrozenTrial, TrialState

    from hpo.reports.tables import compare_table

    study = optuna.create_study(direction="maximize")
    start = datetime(2026, 1, 1)
    for number, (state, value, seconds) in enumerate([(TrialState.COMPLETE, 0.8, 10), (TrialState.PRUNED, None, 3),
                                                      (TrialState.FAIL, None, 2), (TrialState.COMPLETE, 0.7, 20)]):  # fmt: skip
        study.add_trial(FrozenTrial(
            number=number, state=state, value=value, datetime_start=start, datetime_complete=start + timedelta(seconds=seconds),
            params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}, user_attrs={}, system_attrs={},
            intermediate_values={1: 0.6} if state == TrialState.PRUNED else {}, trial_id=number,
        ))  # fmt: skip
    row = compare_table([study], [history.load_history(study)]).iloc[0]
    assert (row["trials"], row["pruned"]) == (2, 1)
    assert row["total_trial_time_s"] == pytest.approx(35) and row["median_trial_time_s"] == pytest.approx(15)


def test_compare_table_matches_store(studies: dict[str, optuna.Study], storage: str, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", *studies, "--out", str(out), "--storage", storage]) == 0
    for name in ("best_vs_trials.png", "best_vs_time.png", "compare.md", "compare.csv"):
        assert (out / name).stat().st_size > 0
    table = pd.read_csv(out / "compare.csv").set_index("study")
    store = open_storage(storage)
    for name in studies:
        study = optuna.load_study(study_name=name, storage=store)
        done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
        row = table.loc[name]
        assert row["trials"] == len(done)
        assert row["best_val"] == pytest.approx(study.best_value, abs=1e-12)
        durations = [t.duration.total_seconds() for t in done]
        ended = [t.duration.total_seconds() for t in study.get_trials() if t.state.is_finished()]
        assert row["total_trial_time_s"] == pytest.approx(sum(ended))
        assert row["median_trial_time_s"] == pytest.approx(np.median(durations))
        best = np.maximum.accumulate([t.value for t in sorted(done, key=lambda t: t.datetime_complete)])
        assert row["trials_to_within_0.002"] == int(np.argmax(best >= best[-1] - 0.002)) + 1
        expected_test = study.user_attrs.get("best_test_auc", np.nan)
        assert row["best_test_auc"] == pytest.approx(expected_test, nan_ok=True)
    assert table.loc["rf-grid", "best_test_auc"] > 0.5  # recorded by 'hpo best'
    assert np.isnan(table.loc["rf-tpe-s1", "best_test_auc"])  # never retrained
    assert "| rf-grid" in (out / "compare.md").read_text()


def test_compare_unknown_study_is_a_clean_error(grid_study: optuna.Study, storage: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["compare", "rf-grid", "nope", "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hpo: error:") and "nope" in err and err.count("\n") == 1


def _chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    return webdriver, Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options


@pytest.mark.browser
def test_report_html_in_headless_chromium(grid_study: optuna.Study, storage: str, tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "report"
    assert main(["report", "rf-grid", "--out", str(out), "--storage", storage]) == 0
    page, markdown = out / "report.html", out / "report.md"
    text = markdown.read_text()
    for png in sorted(out.glob("*.png")):
        assert f"]({png.name})" in text
    # The dataset's own columns are plotted (its first inputs, as it names no observables), nothing it lacks.
    assert sorted(p.name for p in out.glob("obs_*.png")) == [f"obs_{i}_{c}.png" for i, c in enumerate(COLUMNS)]

    ds = PreparedDataset.open(grid_study.user_attrs["dataset_path"])
    model = load_model(best_dir("rf-grid"))
    expected_auc = metrics.roc_auc(ds.test.y, model.predict(ds.test.X), ds.test.w)

    webdriver, service, options = _chromium()
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.get(page.as_uri())
        images = driver.find_elements("tag name", "img")
        assert len(images) == len(list(out.glob("*.png"))) >= 9
        for img in images:
            assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
            src = img.get_attribute("src")
            assert src.startswith("data:image/png;base64,")
            pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L"), dtype=float)
            assert pixels.std() > 5, img.get_attribute("alt")  # not a blank figure
        shown = driver.find_element("id", "test-auc")
        assert float(shown.get_attribute("data-value")) == pytest.approx(expected_auc, abs=1e-12)
        assert shown.text == f"{expected_auc:.4f}"
    finally:
        driver.quit()


def test_report_with_too_few_trials_explains_missing_importances(space: Path, tmp_path: Path) -> None:
    run_study("rf-tiny", "random", physics_dataset(), space, 2)
    assert not best_dir("rf-tiny").exists()
    result = report("rf-tiny", out=tmp_path / "r")  # retrains the best model as 'hpo best' does
    assert "Importances are not shown: only 2 finished trial(s)" in result.markdown.read_text()
    study = optuna.load_study(study_name="rf-tiny", storage=open_storage())
    assert result.test_auc == pytest.approx(study.user_attrs["best_test_auc"], abs=1e-12)


def _input_events(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({column: rng.normal(size=n) for column in COLUMNS.values()})
    frame.loc[::7, "mjj"] = MARKER  # events the classifier never saw: kept, marked invalid
    frame["evt"] = np.arange(1000, 1000 + n)
    return frame


def test_export_root_and_csv(grid_study: optuna.Study, storage: str, tmp_path: Path) -> None:
    events = _input_events(101, seed=5)
    source = tmp_path / "input.root"
    with uproot.recreate(source) as file:
        file.mktree("events", {c: events[c].dtype for c in events}).extend({c: events[c].to_numpy() for c in events})
    prefix = tmp_path / "scores"
    assert main(["export", "rf-grid", "--input", str(source), "--out", str(prefix), "--storage", storage]) == 0

    from_csv = pd.read_csv(prefix.with_suffix(".csv"))
    with uproot.open(prefix.with_suffix(".root")) as file:
        from_root = file["scores"].arrays(library="pd")
    ds = PreparedDataset.open(grid_study.user_attrs["dataset_path"])
    model = load_model(best_dir("rf-grid"))
    valid = events["mjj"].to_numpy() != MARKER
    expected = model.predict(ds.transform(events.loc[valid, list(COLUMNS.values())].to_numpy()))
    for table in (from_csv, from_root):
        assert len(table) == len(events)
        assert table["event"].tolist() == events["evt"].tolist()
        assert (table["run"] == -1).all()
        assert table["valid"].astype(bool).tolist() == valid.tolist()
    with uproot.open(prefix.with_suffix(".root")) as file:
        assert file.classname_of("scores") == "TTree"
        assert table["score"][~valid].isna().all()
        np.testing.assert_allclose(table["score"][valid], expected, rtol=1e-6)

    # a CSV input without event numbers, read with another description: identifiers are entry indices
    description = tmp_path / "csv.yaml"
    description.write_text(
        "name: csv-input\nformat: csv\ncolumns: {f_massjj: mjj, f_deltajj: detajj, f_mass4l: m4l, f_Z1mass: mZ1}\n"
        "signal: [{name: s, files: [x.csv]}]\nbackground: [{name: b, files: [y.csv]}]\n"
    )
    csv_input = tmp_path / "input.csv"
    events.drop(columns="evt").to_csv(csv_input, index=False)
    result = export("rf-grid", csv_input, description=description, out=tmp_path / "csv_scores", storage=storage)
    table = pd.read_csv(result.csv)
    assert result.n_events == len(table) == len(events) == result.n_valid  # no marker in this description
    assert table["event"].tolist() == list(range(len(events)))


def test_export_missing_column_is_a_clean_error(grid_study: optuna.Study, storage: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "bad.root"
    with uproot.recreate(source) as file:
        file.mktree("events", {"mjj": np.float64}).extend({"mjj": np.ones(3)})
    assert main(["export", "rf-grid", "--input", str(source), "--out", str(tmp_path / "x"), "--storage", storage]) == 2
    assert "detajj" in capsys.readouterr().err
    assert not list(tmp_path.glob("x*"))


def _regret_expected(studies: dict[str, optuna.Study], reference: float | None = None) -> dict[str, np.ndarray]:
    """Best-so-far regret of each study after each finished trial, computed from the store."""
    curves = {}
    for name in studies:
        study = optuna.load_study(study_name=name, storage=open_storage())
        done = sorted(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)), key=lambda t: (t.datetime_complete, t.number))
        curves[name] = np.maximum.accumulate([t.value for t in done])
    reference = max(c[-1] for c in curves.values()) if reference is None else reference
    return {name: reference - c for name, c in curves.items()}


def test_compare_regret_matches_store(studies: dict[str, optuna.Study], storage: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", *studies, "--out", str(out), "--storage", storage, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "regret measured from the best reached" in printed and "not synthetic" in printed
    for name in ("regret_vs_trials.png", "regret_vs_time.png"):
        assert (out / name).stat().st_size > 0
    expected = _regret_expected(studies)
    regrets = pd.read_csv(out / "regret.csv")
    assert set(regrets["reference_kind"]) == {"best reached"}
    table = pd.read_csv(out / "compare.csv").set_index("study")
    for name, values in expected.items():
        rows = regrets[regrets["study"] == name]
        assert rows["trials"].tolist() == list(range(1, len(values) + 1))
        np.testing.assert_allclose(rows["regret"], values, atol=1e-12)
        assert table.loc[name, "regret"] == pytest.approx(values[-1], abs=1e-12)
    assert min(v[-1] for v in expected.values()) == 0.0  # the best study reaches the reference
    assert "next: hpo compare rf-grid rf-tpe-s1 rf-tpe-s2 --test-auc" in printed  # the TPE studies were never retrained


def test_compare_test_auc_option_retrains_what_is_missing(studies: dict[str, optuna.Study], storage: str, tmp_path: Path) -> None:
    assert "best_test_auc" not in studies["rf-tpe-s1"].user_attrs
    result = compare(list(studies), storage=storage, out=tmp_path / "cmp", test_auc=True, show_progress=False)
    table = result.table.set_index("study")
    ds = PreparedDataset.open(studies["rf-grid"].user_attrs["dataset_path"])
    for name in studies:
        model = load_model(best_dir(name))
        expected = metrics.roc_auc(ds.test.y, model.predict(ds.test.X), ds.test.w)
        assert table.loc[name, "best_test_auc"] == pytest.approx(expected, abs=1e-12)
    assert not table["best_test_auc"].isna().any()


def test_compare_regret_to_the_bayes_limit_of_a_synthetic_sample(space: Path, storage: str, tmp_path: Path) -> None:
    from data_helpers import small_synthetic

    from hpo import data

    dataset = data.prepare(small_synthetic(scale=0.05), features="high", progress=False)
    names = {name: run_study(name, "random", dataset, space, 3, seed=seed) for seed, name in enumerate(("syn-a", "syn-b"))}
    result = compare(list(names), storage=storage, out=tmp_path / "cmp", show_progress=False)
    limit = bayes_limit(dataset, "val")
    assert result.reference.kind == "bayes limit" and result.reference.value == pytest.approx(limit, abs=1e-12)
    regrets = pd.read_csv(result.regret_csv)
    for name, values in _regret_expected(names, limit).items():
        np.testing.assert_allclose(regrets.loc[regrets["study"] == name, "regret"], values, atol=1e-12)
    assert (regrets["regret"] > 0).all()  # a few shallow forests stay below the limit


def test_tag_of_a_description() -> None:
    assert str(style.tag_of({"experiment": "ATLAS", "status": "Open Data"})) == "ATLAS Open Data"
    assert str(style.tag_of({"name": "x", "synthetic": {"channel": "4mu"}})) == "Simulation"
    assert str(style.tag_of({"name": "x", "synthetic": {"channel": "4mu"}, "status": "Preliminary"})) == "Preliminary"
    assert not style.tag_of({"name": "real", "synthetic": None})  # real data without a tag: none drawn
    assert not style.tag_of(None)


def test_report_carries_the_experiment_tag_and_states_the_sample(space: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[str, str]] = []
    exp_text = style.hep.label.exp_text
    monkeypatch.setattr(style.hep.label, "exp_text", lambda exp, text, **kw: drawn.append((exp, text)) or exp_text(exp, text, **kw))
    dataset = physics_dataset(experiment="CMS", status="Open Data", luminosity=11.6, energy=8.0, title="CMS 2012 4mu sample")
    run_study("rf-cms", "random", dataset, space, 3)
    result = report("rf-cms", out=tmp_path / "r", show_progress=False)
    page = result.html.read_text()
    assert 'id="experiment" data-value="CMS Open Data"' in page
    assert "CMS 2012 4mu sample" in page and "11.6 fb\u207b\u00b9" in page and "\u221as = 8 TeV" in page
    assert drawn and set(drawn) == {("CMS", "Open Data")}  # every figure carries the description's tag

    drawn.clear()
    run_study("rf-untagged", "random", physics_dataset(), space, 3)
    page = report("rf-untagged", out=tmp_path / "u", show_progress=False).html.read_text()
    assert not drawn and 'id="experiment"' not in page and "Simulation" not in page  # real data, no tag given: none


PROGRESS_MARKS = ("\r", "%|", "\u2588", "part/s", "s/part")


def test_report_draws_progress_on_a_terminal_only(grid_study: optuna.Study, storage: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "hpo", "report", "rf-grid", "--storage", storage]
    piped = subprocess.run([*command, "--out", str(tmp_path / "piped")], capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert "wrote " in piped.stdout and "next: " in piped.stdout
    assert not any(mark in piped.stdout + piped.stderr for mark in PROGRESS_MARKS), piped.stderr

    def on_terminal(*extra: str) -> str:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a fresh pty has no size
        with subprocess.Popen([*command, *extra], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower) as process:
            os.close(follower)
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            assert process.wait(timeout=300) == 0
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    assert "report rf-grid" in on_terminal("--out", str(tmp_path / "tty"))  # the bar is drawn on a terminal
    assert on_terminal("--out", str(tmp_path / "quiet"), "--quiet") == ""


def test_permutation_importance_is_the_auc_drop_when_a_feature_is_shuffled() -> None:
    from hpo.reports.physics import Labelled, permutation_importance

    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 3)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=4000) > 0).astype(np.int8)
    w = np.ones(4000)
    before = X.copy()

    def predict(rows: np.ndarray) -> np.ndarray:  # scores the first input only
        return 1 / (1 + np.exp(-rows[:, 0]))

    sample = Labelled(y, predict(X), w)
    mean, std = permutation_importance(predict, X, sample, n_repeats=3)
    reference = metrics.roc_auc(y, predict(X), w)
    assert mean[0] == pytest.approx(reference - 0.5, abs=0.03) and 0 < std[0] < 0.02  # shuffled, it carries no information
    assert mean[1:].tolist() == [0.0, 0.0] and std[1:].tolist() == [0.0, 0.0]  # inputs the scores ignore
    assert np.array_equal(X, before)  # the caller's events are left as they were
    assert np.array_equal(permutation_importance(predict, X, sample, n_repeats=3)[0], mean)  # fixed by the seed
    with pytest.raises(ValueError, match="n_repeats must be at least 1"):
        permutation_importance(predict, X, sample, n_repeats=0)


@pytest.mark.parametrize("value", [0.95, 0.90], ids=["at-the-reference", "below-it"])
def test_a_regret_that_never_changes_gets_a_decade_either_side(value: float, tmp_path: Path) -> None:
    import warnings

    from hpo.reports.history import StudyHistory
    from hpo.reports.regret import BEST_REACHED, Reference, plot_regret

    study = StudyHistory("s", "tpe", "bdt", 0, "auc", True, np.arange(3), np.array([value, value - 0.01, value - 0.02]),
                         np.ones(3), np.arange(1.0, 4.0))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of a singular axis and widens it by itself otherwise
        path = plot_regret([study], Reference(0.95, BEST_REACHED), "trials", tmp_path / "regret.png")
    assert path.stat().st_size > 0
