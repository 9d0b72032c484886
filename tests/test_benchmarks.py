"""The benchmark harness: quick mode on tiny settings produces every table, as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import BENCHMARKS
from benchmarks.__main__ import main, parser
from benchmarks.overhead import windows
from benchmarks.session import subsample

TINY = [
    "--quick", "--models", "rf", "--jobs", "1", "--events", "500", "--seeds", "1", "--budgets", "2,3",
    "--trials", "3", "--overhead-trials", "4,6", "--algos", "grid,random,tpe",
]  # fmt: skip

_HOST = {"usable_cores": 2, "cpu_model": "x", "memory_gib": 1.0, "load_average_1m_at_start": 0.0}

EXPECTED_TABLES = {
    "time-to-target": 2,
    "equal-budget": 3,
    "raw-libraries": 2,
    "overhead": 1,
    "scaling": 1,
    "limit-gap": 1,
    "multi-fidelity": 2,
    "small-sample": 2,
    "equal-time": 2,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HPO_HOME", str(home))
        assert main([*TINY, "--out", str(out), "--store", str(out / "store")]) == 0
    return out


def test_every_benchmark_is_registered() -> None:
    assert set(EXPECTED_TABLES) == set(BENCHMARKS)


@pytest.mark.parametrize("name", list(EXPECTED_TABLES))
def test_quick_run_writes_every_table(results: Path, name: str) -> None:
    document = json.loads((results / f"{name}.quick.json").read_text())
    assert document["mode"] == "quick"
    assert document["machine"]["cores"] >= 1 and document["machine"]["cpu_model"]
    assert document["versions"]["optuna"] and document["date"] and "--quick" in document["command"]
    assert len(document["tables"]) == EXPECTED_TABLES[name]
    for table in document["tables"]:
        assert table["rows"], f"{name}: table {table['title']!r} is empty"
    markdown = (results / f"{name}.quick.md").read_text()
    assert all(f"### {t['title']}" in markdown for t in document["tables"])
    assert "500 events per dataset" in markdown  # the notes state the sizes actually run


def test_label_names_the_result_files(tmp_path: Path) -> None:
    from benchmarks.report import write_result
    from benchmarks.settings import FULL

    settings = FULL.with_overrides(label="rf", events=3000)
    json_path, md_path = write_result("limit-gap", "t", [], settings, tmp_path, argv=["--label", "rf"], elapsed_s=1.0, host=_HOST)
    assert (json_path.name, md_path.name) == ("limit-gap.rf.json", "limit-gap.rf.md")
    assert "3,000 events drawn at random" in md_path.read_text()
    with pytest.raises(SystemExit):
        parser().parse_args(["--label", "a/b"])



def test_time_to_target_compares_on_the_validation_split(results: Path) -> None:
    summary, runs = json.loads((results / "time-to-target.quick.json").read_text())["tables"]
    grid = next(r for r in runs["rows"] if r["tool"].startswith("GridSearchCV"))
    assert all(r["target_val_auc"] == pytest.approx(grid["best_val_auc"] - 0.002) for r in summary["rows"])
    assert {r["hpo"] for r in summary["rows"]} == {"tpe", "tpe+mf", "random"}  # the contestants of --algos grid,random,tpe


def test_equal_budget_covers_budgets_algos_and_the_exercise(results: Path) -> None:
    rows = json.loads((results / "equal-budget.quick.json").read_text())["tables"][1]["rows"]
    seen = {(r["algo"], r["budget"]) for r in rows}
    assert {("exercise", 0)} | {(a, b) for a in ("grid", "random", "tpe") for b in (2, 3)} == seen
    assert all(0.0 <= r["test_auc"] <= 1.0 for r in rows)
    assert max(r["test_auc"] for r in rows if r["algo"] != "exercise") > 0.6  # tuning learns something


def test_limit_gap_is_measured_against_the_bayes_limit(results: Path) -> None:
    rows = json.loads((results / "limit-gap.quick.json").read_text())["tables"][0]["rows"]
    assert all(r["gap"] == pytest.approx(r["bayes_limit"] - r["test_auc"]) for r in rows)


def test_multi_fidelity_times_every_contestant_against_the_plain_tpe_target(results: Path) -> None:
    summary, runs = json.loads((results / "multi-fidelity.quick.json").read_text())["tables"]
    reference = next(r for r in runs["rows"] if r["variant"] == "tpe")
    assert {r["variant"] for r in runs["rows"]} == {"tpe", "tpe+mf", "random"}
    assert all(r["target_val_auc"] == pytest.approx(reference["best_val_auc"] - 0.002) for r in runs["rows"])
    assert reference["reached"] and reference["time_to_target_s"] <= reference["wall_s"]
    assert all(r["trials"] == 3 and r["features"] == "low" for r in runs["rows"])
    assert next(r for r in summary["rows"] if r["variant"] == "tpe+mf")["ratio_to_tpe+mf"] == pytest.approx(1.0)


def test_equal_time_reads_every_budget_from_one_timed_study_per_contestant(results: Path) -> None:
    summary, runs = json.loads((results / "equal-time.quick.json").read_text())["tables"]
    frame = pd.DataFrame(runs["rows"])
    assert set(frame["contestant"]) == {"random", "random+mf", "tpe", "tpe+mf"}  # --algos grid,random,tpe: no grid
    for _, rows in frame.groupby("contestant"):
        rows = rows.sort_values("budget_s")
        assert list(rows["budget_s"]) == [3, 6]
        assert rows["trials"].is_monotonic_increasing and rows["best_val_auc"].is_monotonic_increasing  # a longer budget sees more
    assert (frame.loc[~frame["contestant"].str.endswith("+mf"), "pruned"] == 0).all()
    assert all(r["gap"] == pytest.approx(r["bayes_limit"] - r["test_auc"]) for r in summary["rows"])


def test_small_sample_pairs_each_split_study_with_a_cross_validated_one(results: Path) -> None:
    _, studies = json.loads((results / "small-sample.quick.json").read_text())["tables"]
    pairs = {(r["algo"], r["seed"]): set() for r in studies["rows"]}
    for r in studies["rows"]:
        pairs[(r["algo"], r["seed"])].add(r["scoring"])
        assert r["over_tuning"] == pytest.approx(r["study_best"] - r["test_auc"])
    assert all(scorings == {"split", "cv3"} for scorings in pairs.values())


def test_overhead_windows() -> None:
    # (start, end, seconds in trial methods): gaps 0.5, 0.25, 0.5 between calls; 0.25 sampling in the last
    calls = [(0.0, 1.0, 0.0), (1.5, 2.0, 0.0), (2.25, 3.0, 0.0), (3.5, 4.0, 0.25)]
    startup, rows = windows(calls, -2.0, [4])
    assert startup == 2.0
    assert rows[0]["trial_s"] == pytest.approx(1.0)  # cycles 1.0, 1.0, 1.0 for trials 1..3
    assert rows[0]["outside_s"] == pytest.approx(0.5)  # outside 0.5, 0.25, 0.75


def test_subsample_keeps_splits_and_is_cached(tiny_dataset) -> None:
    small = subsample(tiny_dataset, 300, seed=1)
    again = subsample(tiny_dataset, 300, seed=1)
    assert len(small.table) == 300 and small.hash == again.hash != tiny_dataset.hash
    assert len(small.train) + len(small.val) + len(small.test) == 300
    assert small.meta["subsample"]["of"] == tiny_dataset.hash


def test_bad_options_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parser().parse_args(["--budgets", "10,x"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["no-such-benchmark"])
    assert "unknown benchmark no-such-benchmark" in capsys.readouterr().err


def test_store_keeps_the_studies_and_is_never_reused(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import optuna

    db = results / "store" / "benchmarks.db"
    summaries = optuna.get_all_study_summaries(f"sqlite:///{db}")
    assert {"rf-random", "rf-tpe"} <= {"-".join(s.study_name.split("-")[:2]) for s in summaries}
    assert all(s.n_trials > 0 for s in summaries)
    before = db.read_bytes()
    with pytest.raises(SystemExit) as exc:
        main(["overhead", "--quick", "--store", str(db.parent)])
    assert exc.value.code == 2 and "already holds benchmarks.db" in capsys.readouterr().err
    assert db.read_bytes() == before
    with pytest.raises(SystemExit) as exc:
        main(["overhead", "--quick", "--store", str(db)])
    assert exc.value.code == 2 and "not a folder" in capsys.readouterr().err


def test_compose_keeps_the_summary_and_replaces_the_figures(tmp_path: Path) -> None:
    from benchmarks.compose import compose

    results = tmp_path / "results"
    results.mkdir()
    (results / "scaling.md").write_text("## Scaling (full)\n\n### Parallel scaling\n\n| a |\n")
    (results / "equal-budget.rf.md").write_text("## Equal budget (full, rf)\n")
    (results / "equal-budget.md").write_text("## Equal budget (full)\n")
    (results / "equal-budget.quick.md").write_text("## quick, left out\n")
    document = tmp_path / "RESULTS.md"
    document.write_text("# Results\n\nsummary by hand\n\n## Figures\n\nold figures\n")
    text = compose(document, results)
    assert text.startswith("# Results\n\nsummary by hand\n\n## Figures\n")
    assert "old figures" not in text and "quick, left out" not in text
    order = ["### Equal budget (full)\n", "### Equal budget (full, rf)", "### Scaling (full)", "#### Parallel scaling"]
    assert [text.index(h) for h in order] == sorted(text.index(h) for h in order)


def test_options_name_variants_and_all_events() -> None:
    from benchmarks.__main__ import settings_from
    from benchmarks.session import Session

    settings = settings_from(parser().parse_args(["--models", "rf,rf-xgboost", "--events", "all", "--no-exercise"]))
    assert (settings.models, settings.events, settings.exercise) == (("rf", "rf-xgboost"), None, False)
    assert settings_from(parser().parse_args([])).events == 8000
    session = Session(settings)
    try:
        assert session.space("rf-xgboost").configuration({})["engine"] == "xgboost"
        assert session.space("rf").configuration({})["engine"] == "sklearn"
    finally:
        session.close()
    with pytest.raises(SystemExit):
        parser().parse_args(["--models", "rf-lightgbm"])


def test_cost_summary_compares_with_the_scikit_learn_forest() -> None:
    import pandas as pd

    from benchmarks.equal_budget import cost_summary

    costs = pd.DataFrame(
        [{"dataset": "d", "model": m, "algo": "tpe", "seed": 0, "fit_s": f, "trial_s": t}
         for m, f, t in [("rf", 10.0, 12.0), ("rf", 30.0, 32.0), ("bdt", 1.0, 2.0), ("bdt", 1.0, 2.0)]]
    )  # fmt: skip
    summary = pd.DataFrame([{"dataset": "d", "model": m, "algo": "tpe", "budget": 10, "test_auc": a} for m, a in [("rf", 0.90), ("bdt", 0.95)]])
    rows = cost_summary(costs, summary).set_index("model")
    assert rows.loc["rf", "trial_s"] == 22.0 and rows.loc["rf", "trial_x_faster"] == 1.0
    assert rows.loc["bdt", "fit_x_faster"] == 20.0 and rows.loc["bdt", "trial_x_faster"] == 11.0
    assert rows.loc["bdt", "test_auc_minus_rf"] == pytest.approx(0.05)


def test_first_seed_starts_the_seeds_later() -> None:
    from benchmarks.__main__ import settings_from

    assert list(settings_from(parser().parse_args(["--first-seed", "2", "--seeds", "1"])).seed_values) == [2]
    assert list(settings_from(parser().parse_args(["--seeds", "2"])).seed_values) == [0, 1]
    with pytest.raises(SystemExit):
        parser().parse_args(["--first-seed", "-1"])


def _equal_time_run(
    out: Path, label: str, seeds: list[int], budgets: tuple[int, ...] = (60, 120), contestants: tuple[str, ...] = ("tpe", "tpe+mf"), **overrides
) -> None:
    """An equal-time result file of ``seeds`` with made-up rows (test AUC 0.90 + seed / 100 at every budget)."""
    from benchmarks import equal_time
    from benchmarks.report import write_result
    from benchmarks.settings import FULL

    settings = FULL.with_overrides(label=label, seeds=len(seeds), first_seed=seeds[0], wall_budgets_s=budgets, **overrides)
    rows = pd.DataFrame(
        [{"dataset": "synthetic", "features": "low", "model": "ann", "events": 100, "bayes_limit": 0.95, "contestant": c,
          "seed": s, "budget_s": b, "trials": 10 * b, "pruned": 0, "best_val_auc": 0.9, "test_auc": 0.90 + s / 100}
         for s in seeds for c in contestants for b in budgets]
    )  # fmt: skip
    write_result("equal-time", equal_time.TITLE, equal_time.tables(rows, settings), settings, out, argv=["--label", label], elapsed_s=10.0, host=_HOST)


def test_combine_summarises_runs_of_different_seeds_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.combine import main as combine_main
    from benchmarks.compose import result_files

    _equal_time_run(tmp_path, "a", [0, 1])
    _equal_time_run(tmp_path, "b", [2])
    assert combine_main(["equal-time", "a", "b", "--label", "ab", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "equal-time.ab.json").read_text())
    summary, runs = (pd.DataFrame(t["rows"]) for t in document["tables"])
    assert sorted(set(runs["seed"])) == [0, 1, 2] and len(runs) == 12
    assert (summary["seeds"] == 3).all() and summary["test_auc"].tolist() == pytest.approx([0.91] * 4)  # median of .90, .91, .92
    assert document["settings"]["seeds"] == 3 and document["settings"]["first_seed"] == 0
    assert [s["file"] for s in document["combines"]] == ["equal-time.a", "equal-time.b"]
    assert "combines `equal-time.b`: `python -m benchmarks --label b`" in (tmp_path / "equal-time.ab.md").read_text()
    assert [p.stem for p in result_files(tmp_path)] == ["equal-time.ab"]  # the sources are shown through the combination

    _equal_time_run(tmp_path, "c", [3], jobs=4)
    _equal_time_run(tmp_path, "d", [1])
    _equal_time_run(tmp_path, "e", [4])
    for args, message in [
        (["a", "c", "--label", "x"], "equal-time.c.json: setting jobs is 4, 2 in equal-time.a.json; only the seeds may differ"),
        (["a", "d", "--label", "x"], "equal-time.d.json: seed(s) [1] already in another file"),
        (["a", "e", "--label", "x"], "the seeds [0, 1, 4] leave a gap"),
        (["a", "zz", "--label", "x"], "equal-time.zz.json: no such result file; run the benchmark with --label zz first"),
        (["a", "b", "--label", "a"], "--label a would overwrite one of the runs it combines"),
    ]:
        assert combine_main(["equal-time", *args, "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "equal-time.x.json").exists()


def test_overview_takes_each_cell_from_the_run_with_the_most_seeds(tmp_path: Path) -> None:
    from benchmarks.combine import main as combine_main
    from benchmarks.compose import compose, overviews
    from benchmarks.equal_time import overview

    _equal_time_run(tmp_path, "a", [0, 1])
    _equal_time_run(tmp_path, "b", [2])
    assert combine_main(["equal-time", "a", "b", "--label", "ab", "--out", str(tmp_path)]) == 0
    _equal_time_run(tmp_path, "long", [0], budgets=(60, 120, 600), contestants=("random",))
    documents = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("equal-time.*.json"))]
    table = overview(documents).frame.set_index("budget_s")
    assert list(table.columns) == ["dataset", "features", "model", "bayes_limit", "random", "tpe", "tpe+mf", "runs"]
    assert table.loc[60, "tpe"] == "0.9100 (3)" and table.loc[120, "tpe+mf"] == "0.9100 (3)"  # not run a's 0.9050 (2)
    assert table.loc[60, "random"] == "0.9000 (1)" and table.loc[60, "runs"] == "long, ab"
    assert (table.loc[600, "tpe"], table.loc[600, "random"], table.loc[600, "runs"]) == ("-", "0.9000 (1)", "long")

    document = tmp_path / "RESULTS.md"
    document.write_text("# Results\n\n## Figures\n")
    text = compose(document, tmp_path)
    heading = "### Equal wall-clock budgets at a glance"
    assert heading in text and text.index(heading) < text.index("(full, ab)") < text.index("(full, long)")
    assert "| 0.9100 (3) |" in text and set(overviews(tmp_path)) == {"equal-time"}
