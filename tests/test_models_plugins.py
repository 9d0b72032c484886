"""A user's own model: from a file (``module:Class``) and from an installed entry point, through
run, resume, best, report and export; model code recorded and checked; broken plug-ins refused."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_reports import COLUMNS, _input_events, physics_dataset

from hpo import paths
from hpo.cli import main
from hpo.models import clear_cache, model_code
from hpo.objectives import load_model
from hpo.reports.sources import best_dir
from hpo.store import count_trials, list_studies, load_study, open_storage

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = "examples.adaboost_bdt:AdaBoostBDT"
pytestmark = pytest.mark.filterwarnings("ignore:loading .* unpickles Python objects")


@pytest.fixture(autouse=True)
def fresh_registry() -> None:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def prepared() -> Path:
    ds = physics_dataset()
    return paths.prepared_dir() / f"{ds.hash}.arrow"


def _lifecycle(model: str, study: str, prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run (one worker, pruning), resume (two worker processes), best, report and export."""
    run = ["run", "--model", model, "--algo", "tpe", "--trials", "3", "--jobs", "1", "--quiet", "--prune", "median",
           "--prepared", str(prepared), "--study", study, "--set", "n_estimators=12"]  # fmt: skip
    assert main(run) == 0, capsys.readouterr().err
    assert main(["resume", study, "--trials", "5", "--jobs", "2", "--quiet"]) == 0, capsys.readouterr().err
    stored = load_study(study, open_storage())
    assert stored.user_attrs["model"] == model
    assert count_trials(stored)["COMPLETE"] == 5
    assert all(t.intermediate_values for t in stored.trials)  # the plug-in's reporter was called

    assert main(["best", study]) == 0
    assert "test AUC 0." in capsys.readouterr().out
    saved = load_model(best_dir(study))
    assert saved.model == model and (best_dir(study) / "model.joblib").is_file()

    assert main(["report", study]) == 0
    assert "wrote" in capsys.readouterr().out and (paths.home() / study / "report" / "report.html").is_file()

    events = _input_events(50, seed=3)
    source = tmp_path / f"{study}.csv"
    events.to_csv(source, index=False)
    description = tmp_path / "csv.yaml"
    description.write_text("name: csv-input\nformat: csv\ncolumns: {f_massjj: mjj, f_deltajj: detajj, f_mass4l: m4l, f_Z1mass: mZ1}\n"
                           "signal: [{name: s, files: [x.csv]}]\nbackground: [{name: b, files: [y.csv]}]\n")  # fmt: skip
    out = tmp_path / f"{study}-scores"
    assert main(["export", study, "--input", str(source), "--dataset-description", str(description), "--out", str(out)]) == 0
    scores = pd.read_csv(out.with_suffix(".csv"))["score"].to_numpy()
    from hpo.data import open_prepared

    expected = saved.predict(open_prepared(prepared).transform(events[list(COLUMNS.values())].to_numpy()))
    np.testing.assert_allclose(scores, expected, rtol=1e-9)


def test_model_from_a_file(prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)  # the current directory is searched for module:Class
    _lifecycle(EXAMPLE, "ada-file", prepared, tmp_path, capsys)
    stored = load_study("ada-file", open_storage())
    assert stored.user_attrs["model_code"] == {"module": "examples.adaboost_bdt", "class": "AdaBoostBDT", "version": "1.0"}
    assert main(["show", "ada-file"]) == 0
    assert "model code  examples.adaboost_bdt:AdaBoostBDT 1.0" in capsys.readouterr().out

    # another version of the model's code: resuming is refused with one line, before any trial
    import examples.adaboost_bdt as example

    monkeypatch.setattr(example, "__version__", "2.0")
    assert main(["resume", "ada-file", "--trials", "6", "--jobs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was run with model code examples.adaboost_bdt:AdaBoostBDT 1.0" in err and "2.0" in err
    assert len(load_study("ada-file", open_storage()).trials) == 5


def test_model_from_an_entry_point(prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    package = tmp_path / "pkg"
    (package / "userbdt").mkdir(parents=True)
    (package / "userbdt" / "__init__.py").write_text("")
    (package / "userbdt" / "models.py").write_text((REPO / "examples" / "adaboost_bdt.py").read_text())
    (package / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "userbdt"
        version = "0.3.1"
        [project.entry-points."hpo.models"]
        adaboost = "userbdt.models:AdaBoostBDT"
        [tool.setuptools]
        packages = ["userbdt"]
    """))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(site), str(package)],
                   check=True, capture_output=True)  # fmt: skip
    monkeypatch.syspath_prepend(str(site))
    assert model_code("adaboost") == {"module": "userbdt.models", "class": "AdaBoostBDT", "version": "0.3.1"}
    assert "adaboost" in subprocess.run([sys.executable, "-m", "hpo", "run", "--help"], capture_output=True, text=True,
                                        env={**__import__("os").environ, "PYTHONPATH": f"{site}:{REPO}"}).stdout  # fmt: skip
    _lifecycle("adaboost", "ada-entry", prepared, tmp_path, capsys)
    assert load_study("ada-entry", open_storage()).user_attrs["model_code"]["version"] == "0.3.1"


BROKEN = {
    "import_error": ("import not_a_module_anywhere\n", "brokenmodels.import_error:M", "cannot import brokenmodels.import_error (ModuleNotFoundError"),
    "no_class": ("X = 1\n", "brokenmodels.no_class:M", "module brokenmodels.no_class has no M"),
    "not_a_model": ("class M:\n    pass\n", "brokenmodels.not_a_model:M", "is not a subclass of hpo.models.Model"),
    "no_build": (
        "from hpo.models import Accepts, Model\nclass M(Model):\n    hyperparameters = {'a': Accepts(int, 1, 5)}\n",
        "brokenmodels.no_build:M", "M does not define build",
    ),
    "wrong_shape": (
        "from sklearn.tree import DecisionTreeClassifier\nfrom hpo.models import Accepts, Model\n"
        "class M(Model):\n    hyperparameters = {'max_depth': Accepts(int, 1, 5)}\n"
        "    space = {'params': {'max_depth': {'type': 'int', 'low': 1, 'high': 3}}}\n"
        "    def build(self, config, n_features, *, threads=1, seed=0):\n"
        "        return DecisionTreeClassifier(max_depth=config['max_depth'])\n"
        "    def predict(self, estimator, X):\n        return estimator.predict_proba(X)\n",
        "brokenmodels.wrong_shape:M", "M.fit reported scores of shape (200, 2) for 200 events; return one score per event, shape (200,)",
    ),
    "fit_fails": (
        "from hpo.models import Accepts, Model\n"
        "class M(Model):\n    hyperparameters = {'max_depth': Accepts(int, 1, 5)}\n"
        "    space = {'params': {'max_depth': {'type': 'int', 'low': 1, 'high': 3}}}\n"
        "    def build(self, config, n_features, *, threads=1, seed=0):\n        raise RuntimeError('no GPU here')\n",
        "brokenmodels.fit_fails:M", "M.fit failed on 200 events (RuntimeError: no GPU here)",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_plugins_are_one_line_before_any_trial(case: str, prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    source, ref, message = BROKEN[case]
    (tmp_path / "brokenmodels").mkdir()
    (tmp_path / "brokenmodels" / f"{case}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["run", "--model", ref, "--algo", "random", "--trials", "2", "--jobs", "1", "--quiet", "--prepared", str(prepared)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hpo: error: ") and message in err, err
    assert list_studies(open_storage()) == []


def test_the_class_itself_from_python(prepared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpo import drivers
    from hpo.errors import UsageError
    from hpo.models import Model, model_ref
    from hpo.models.bdt import BDT

    monkeypatch.syspath_prepend(str(REPO))
    from examples.adaboost_bdt import AdaBoostBDT

    assert model_ref(BDT) == model_ref(BDT()) == "bdt"
    assert model_ref(AdaBoostBDT) == EXAMPLE
    study = drivers.run(AdaBoostBDT, "random", prepared, n_trials=2, jobs=1, progress=False, space=None, study_name="ada-py")
    assert study.user_attrs["model"] == EXAMPLE and len(study.trials) == 2

    class Local(AdaBoostBDT):
        pass

    with pytest.raises(UsageError, match="Local is defined in a function; workers import models by name"):
        drivers.run(Local, "random", prepared, n_trials=1, jobs=1, progress=False)
    assert issubclass(AdaBoostBDT, Model)
