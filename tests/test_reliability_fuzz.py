"""Reliability, bad input fuzzed with hypothesis: search spaces, dataset descriptions, CLI arguments.

Every invalid input must end in one line ``hpo: error: ...`` (or argparse's one-line usage error)
with exit status 2: never a traceback, never a study or prepared file left behind.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import make_tiny_dataset
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hpo.cli import main
from hpo.errors import SpaceError
from hpo.spaces import MODELS, SearchSpace
from hpo.store import open_storage, study_names

pytestmark = pytest.mark.reliability

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECRET = "s3cr3t-pw"

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["1e-5", "gini", "int", "float", "categorical", "bool", "rf", "ann"]),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)
tunables = sorted({name for schema in MODELS.values() for name in (*schema.tunable, *schema.settings)})
param_specs = st.fixed_dictionaries(
    {"type": st.sampled_from(["int", "float", "categorical", "bool", "integer"])},
    optional={
        "low": scalars, "high": scalars, "log": scalars, "step": scalars, "levels": scalars,
        "choices": st.lists(scalars, max_size=4), "values": st.lists(scalars, max_size=4),
    },
)  # fmt: skip
space_dicts = st.fixed_dictionaries(
    {"model": st.sampled_from(["rf", "ann", "svm", ""])},
    optional={
        "params": st.dictionaries(st.sampled_from([*tunables, "depth"]), param_specs | values, max_size=8),
        "fixed": st.dictionaries(st.sampled_from([*tunables, "epoch"]), scalars, max_size=6),
        "description": values,
    },
)
yaml_texts = st.one_of(
    space_dicts.map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
    st.text(max_size=200),
    st.sampled_from(["model: rf\nparams: {max_depth: {type: int\n", "- a\n- list\n", "model: !!python/object:os.system x\n", "\0\1"]),
)


@pytest.fixture
def tiny_file(hpo_home: Path) -> Path:
    return make_tiny_dataset().write(hpo_home / "data" / "tiny.arrow")


def _exit_code(argv: list[str]) -> Any:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse
        return exit_.code


def _assert_one_line_exit_2(code: Any, capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpo") and "Traceback" not in err, err
    assert SECRET not in out + err
    return lines[0]


def _no_study_in(store: Path) -> bool:
    return not store.exists() or study_names(open_storage(f"sqlite:///{store}")) == []


@FUZZ
@given(data=space_dicts)
def test_fuzzed_space_dicts_are_accepted_or_refused_with_a_space_error(data: dict) -> None:
    try:
        space = SearchSpace.from_dict(data, "fuzz.yaml")
    except SpaceError as err:
        assert "\n" not in str(err) and "fuzz.yaml" in str(err)
        return
    assert SearchSpace.from_dict(space.to_dict()) == space  # what is accepted survives the round trip


@FUZZ
@given(text=yaml_texts)
def test_fuzzed_space_files_end_in_one_line_and_no_study(text: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"space-{uuid.uuid4().hex}.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        space = yaml.safe_load(text)
        assume(not (isinstance(space, dict) and not SearchSpace.from_dict(space).missing()))  # a valid one would run
    except Exception:  # noqa: BLE001, S110 - invalid in any way: exactly what this test feeds the CLI
        pass
    store = tmp_path / f"{uuid.uuid4().hex}.db"
    argv = ["run", "--model", "rf", "--algo", "random", "--space", str(path), "--prepared", str(tiny_file),
            "--storage", f"sqlite:///{store}", "--trials", "1", "--jobs", "1", "--quiet"]  # fmt: skip
    line = _assert_one_line_exit_2(_exit_code(argv), capsys)
    assert "search space" in line or "--model rf" in line
    assert _no_study_in(store)


descriptions = st.fixed_dictionaries(
    {},
    optional={
        "name": scalars, "format": st.sampled_from(["root", "csv", "hdf5", ""]), "tree": scalars, "weight": scalars,
        "marker": scalars, "checked": st.lists(st.sampled_from(["f_massjj", "f_nope", "x"]), max_size=3),
        "columns": st.dictionaries(st.sampled_from(["f_massjj", "f_deltajj", "f_bogus"]), scalars, max_size=3),
        "signal": st.lists(st.fixed_dictionaries({"name": scalars}, optional={"files": st.lists(scalars, max_size=2)}) | values, max_size=2),
        "background": st.lists(st.fixed_dictionaries({"name": scalars}, optional={"files": st.lists(scalars, max_size=2)}) | values, max_size=2),
        "derived": values, "synthetic": values,
    },
)  # fmt: skip


@FUZZ
@given(description=descriptions | values)
def test_fuzzed_dataset_descriptions_end_in_one_line_and_write_nothing(
    description: Any, tmp_path: Path, hpo_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"data-{uuid.uuid4().hex}.yaml"
    path.write_text(yaml.safe_dump(description, allow_unicode=True), encoding="utf-8")
    before = sorted(hpo_home.rglob("*"))
    _assert_one_line_exit_2(_exit_code(["data", "prepare", "--dataset", str(path)]), capsys)
    assert sorted(hpo_home.rglob("*")) == before  # no prepared file, no half-written cache


BAD_RUN_OPTIONS = {
    "--trials": st.sampled_from(["0", "-3", "x", "1.5", ""]),
    "--jobs": st.sampled_from(["0", "-1", "many"]),
    "--seed": st.sampled_from(["-1", "seed"]),
    "--metric": st.text(min_size=1, max_size=10).filter(lambda m: m not in ("auc", "ams") and not m.startswith(("sig_eff@", "-"))),
    "--prune": st.text(max_size=8).filter(lambda p: p not in ("none", "median", "hyperband")),
    "--grid-levels": st.sampled_from(["0", "-2", "two"]),
    "--set": st.sampled_from(["depth", "=3", "nope=1", "n_estimators=many", "max_depth=1000000", "bootstrap=maybe"]),
    "--study": st.sampled_from(["a b", "../up", "-x", "é" * 3, "x" * 200]),
    "--storage": st.sampled_from(["nonsense", "sqlite://", "sqlite:///:memory:", f"postgresql://u:{SECRET}@127.0.0.1:1/db",
                                  f"mysql://u:{SECRET}@localhost/db", "sqlite:////no/such/dir/x.db"]),
    "--model": st.text(max_size=8).filter(lambda m: m not in MODELS),
    "--algo": st.text(max_size=8).filter(lambda a: a not in ("grid", "random", "bayes", "tpe", "cmaes")),
}  # fmt: skip


@FUZZ
@given(option=st.sampled_from(sorted(BAD_RUN_OPTIONS)), data=st.data(), algo=st.sampled_from(["random", "grid", "tpe"]))
def test_fuzzed_run_arguments_end_in_one_line_and_no_study(
    option: str, data: st.DataObject, algo: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = data.draw(BAD_RUN_OPTIONS[option], label=option)
    store = tmp_path / f"{uuid.uuid4().hex}.db"
    options = {"--model": "rf", "--algo": algo, "--storage": f"sqlite:///{store}", "--trials": "2", "--jobs": "1", option: bad}
    argv = ["run", "--prepared", str(tiny_file), "--quiet", *(f"{k}={v}" for k, v in options.items())]
    _assert_one_line_exit_2(_exit_code(argv), capsys)
    assert _no_study_in(store)


@FUZZ
@given(
    command=st.sampled_from(["show", "best", "resume", "check"]),
    study=st.text(min_size=1, max_size=20).filter(lambda s: not s.startswith("-")),
    storage=st.sampled_from([None, "garbage", f"postgresql://u:{SECRET}@127.0.0.1:1/db", "sqlite:////no/such/dir/x.db"]),
)
def test_fuzzed_study_commands_end_in_one_line(
    command: str, study: str, storage: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if storage is None:
        open_storage(f"sqlite:///{tmp_path / 'hpo.db'}")  # an existing store: read-only commands do not create one
    argv = [command, study, "--storage", storage or f"sqlite:///{tmp_path / 'hpo.db'}"]
    line = _assert_one_line_exit_2(_exit_code(argv), capsys)
    if storage is None:
        assert f"no study named {study!r}" in line


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"params": {"max_depth": {"type": "int", "low": 2, "high": 8}}},
         "n_estimators, criterion, min_samples_leaf, min_samples_split, max_features, bootstrap: model rf needs these hyperparameters"),
        ({"params": {"max_depth": {"type": "int", "low": 2, "high": 1_000_000}}}, "params.max_depth.high: 1000000 is above the largest"),
        ({"fixed": {"n_estimators": 10**9}}, "fixed.n_estimators: 1000000000 is above the largest"),
    ],
)  # fmt: skip
def test_incomplete_or_absurd_space_is_refused_before_any_trial(
    space: dict, message: str, tmp_path: Path, tiny_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"model": "rf", **space}))
    store = tmp_path / "hpo.db"
    argv = ["run", "--model", "rf", "--algo", "tpe", "--space", str(path), "--prepared", str(tiny_file), "--storage", f"sqlite:///{store}"]
    assert message in _assert_one_line_exit_2(_exit_code(argv), capsys)
    assert _no_study_in(store)
