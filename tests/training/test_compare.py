"""`moodtunes train compare`: real candidate models and their averages scored on real PublicTest faces, as served."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.compare import ScoredModel, ShippingRule
from tests.helpers import REPO, SINGLE_MODEL_DIR, TINY_FER_VAL_PER_CLASS

runner = CliRunner()
BOOST_V1 = SINGLE_MODEL_DIR.parent / "boost-v1"  # a fear-weighted member of the shipped ensemble


def evaluate(model, data) -> dict:
    result = runner.invoke(app, ["evaluate", "--data", str(data), "--model", str(model), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def comparison(tiny_fer):
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model", str(SINGLE_MODEL_DIR),
                                 "--model", str(BOOST_V1), "--baseline", str(DEFAULT_MODEL_DIR), "--min-gain", "0",
                                 "--max-ms", "1000", "--recall-floor", "happy=0.2", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_each_model_alone_scores_as_moodtunes_evaluate_does(comparison, tiny_fer):
    rows = {tuple(row["members"]): row for row in comparison["candidates"]}
    assert set(rows) == {("run4",), ("boost-v1",), ("run4", "boost-v1")}
    for name, folder in (("run4", SINGLE_MODEL_DIR), ("boost-v1", BOOST_V1)):
        served = evaluate(folder, tiny_fer / "val")
        assert rows[(name,)]["accuracy"] == pytest.approx(served["accuracy"], abs=1e-4)
        assert rows[(name,)]["per_class"] == served["per_class"]
        # the votes beside the data folder are found as evaluate finds them
        assert rows[(name,)]["ferplus_majority_accuracy"] == pytest.approx(served["ferplus_majority"]["accuracy"],
                                                                           abs=1e-4)
    shipped = evaluate(DEFAULT_MODEL_DIR, tiny_fer / "val")
    assert comparison["baseline"]["members"] == ["emotion"]
    assert comparison["baseline"]["accuracy"] == pytest.approx(shipped["accuracy"], abs=1e-4)


def test_the_average_of_the_shipped_members_matches_the_shipped_graph(tiny_fer):
    # The shipped model is an ensemble whose members are committed model folders; averaged here from their own files
    # (run 4's is float32), they may part from the int8 graph on a face or two of these 35, not more.
    metadata = json.loads((DEFAULT_MODEL_DIR / "metadata.json").read_text())
    members = [REPO / member["model"] for member in metadata["members"]]
    assert len(members) >= 2 and all((folder / "model.tflite").is_file() for folder in members)
    args = [arg for folder in members for arg in ("--model", str(folder))]
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), *args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["candidates"]) == 2 ** len(members) - 1
    everyone = next(row for row in payload["candidates"] if len(row["members"]) == len(members))
    faces = 7 * TINY_FER_VAL_PER_CLASS
    assert abs(everyone["accuracy"] - payload["baseline"]["accuracy"]) * faces <= 2 + 1e-6
    assert everyone["megabytes"] == pytest.approx(
        sum((folder / "model.tflite").stat().st_size for folder in members) / 1e6, abs=0.01)


def test_candidates_are_judged_by_the_rule_and_sorted_best_first(comparison):
    rows = comparison["candidates"]
    assert [row["accuracy"] for row in rows] == sorted((row["accuracy"] for row in rows), reverse=True)
    for row in rows:
        expected = (row["accuracy"] >= comparison["baseline"]["accuracy"] - 1e-9 and row["megabytes"] <= 25
                    and row["ms_per_face"] <= 1000 and row["per_class"]["happy"] > 0.2)
        assert row["passes"] is expected
        assert bool(row["failed"]) is not expected


def test_each_model_is_timed_as_served_and_an_average_costs_its_members_together(comparison, tiny_fer):
    rows = {tuple(row["members"]): row for row in comparison["candidates"]}
    singles = {name: rows[(name,)]["ms_per_face"] for name in ("run4", "boost-v1")}
    assert all(ms > 0 for ms in singles.values())
    assert rows[("run4", "boost-v1")]["ms_per_face"] == pytest.approx(sum(singles.values()), abs=0.011)
    # the shipped graph runs four networks per view, boost-v1 one of the same size and int8 weights
    assert comparison["baseline"]["ms_per_face"] > singles["boost-v1"]
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model", str(BOOST_V1),
                                 "--min-gain", "0", "--max-ms", "0.001", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["candidates"]
    ms, verdict = row["failed"][-1].split(" ms > ")
    assert row["passes"] is False and verdict == "0.001 ms"
    assert float(ms) == pytest.approx(row["ms_per_face"], abs=0.051)  # shown to 0.1 ms


def test_the_rule_names_every_part_a_candidate_misses():
    baseline = ScoredModel(("shipped",), 0.684, {"fear": 0.496, "sad": 0.528}, 2.5)
    rule = ShippingRule(min_gain=0.005, max_megabytes=25, recall_floors={"fear": 0.47, "sad": 0.505})
    good = ScoredModel(("a", "b"), 0.690, {"fear": 0.48, "sad": 0.51}, 24.0, 24.9)
    assert rule.misses(good, baseline) == ()
    bad = ScoredModel(("a", "b", "c"), 0.688, {"fear": 0.47, "sad": 0.50}, 26.0, 25.04)
    assert rule.misses(bad, baseline) == ("val < 68.90 %", "files > 25 MB", "25.0 ms > 25 ms", "fear ≤ 47.0",
                                          "sad ≤ 50.5")
    four_members = replace(good, members=("a", "b", "c", "d"))
    assert replace(rule, max_members=4).misses(four_members, baseline) == ()
    assert replace(rule, max_members=3).misses(four_members, baseline) == ("4 members > 3",)


def test_the_table_lists_the_baseline_and_every_subset(tiny_fer):
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model", str(SINGLE_MODEL_DIR),
                                 "--model", str(BOOST_V1), "--recall-floor", "fear=1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| models | val | FER+ majority | angry |") and lines[0].endswith("| MB | ms | rule |")
    assert lines[2].startswith("| emotion |") and lines[2].endswith("| baseline |")  # the shipped model by default
    assert len(lines) == 2 + 1 + 3 + 1
    assert all("fear ≤ 100.0" in line for line in lines[3:6])  # nothing exceeds a recall of 1
    assert lines[-1] == "0 of 3 candidates pass the rule"


def test_a_member_limit_refuses_larger_averages(tiny_fer):
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model", str(SINGLE_MODEL_DIR),
                                 "--model", str(BOOST_V1), "--min-gain", "0", "--max-members", "1", "--json"])
    assert result.exit_code == 0, result.output
    verdicts = {len(row["members"]): row["failed"] for row in json.loads(result.stdout)["candidates"]}
    assert "2 members > 1" in verdicts[2]
    assert not any("members" in reason for reason in verdicts[1])


LIMITS_MESSAGE = "error: --min-gain must be 0-100 points, --max-mb and --max-ms above 0, --max-members at least 1"


@pytest.mark.parametrize(("extra", "message"), [
    (["--recall-floor", "joy=0.5"], "error: --recall-floor must be EMOTION=RECALL with EMOTION one of angry, disgust, "
                                    "fear, happy, neutral, sad, surprise and RECALL above 0 and at most 1, got "
                                    "'joy=0.5'"),
    (["--recall-floor", "fear=47"], "error: --recall-floor must be EMOTION=RECALL with EMOTION one of angry, disgust, "
                                    "fear, happy, neutral, sad, surprise and RECALL above 0 and at most 1, got "
                                    "'fear=47'"),
    (["--min-gain", "-1"], LIMITS_MESSAGE),
    (["--max-ms", "0"], LIMITS_MESSAGE),
    (["--max-members", "0"], LIMITS_MESSAGE),
])
def test_malformed_options_get_one_precise_line(tiny_fer, extra, message):
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model",
                                 str(SINGLE_MODEL_DIR), *extra])
    assert result.exit_code == 2
    assert result.stderr.strip() == message


def test_unusable_models_and_data_get_one_precise_line(tiny_fer, tmp_path):
    not_a_model = tmp_path / "half"
    not_a_model.mkdir()
    shutil.copy(SINGLE_MODEL_DIR / "metadata.json", not_a_model)
    cases = [
        (["--model", str(not_a_model)],
         f"error: {not_a_model / 'model.tflite'}: file not found (model folder must hold model.tflite and "
         "metadata.json)"),
        (["--model", str(SINGLE_MODEL_DIR), "--model", str(SINGLE_MODEL_DIR)], "error: each model may be given once"),
        ([arg for i in range(11) for arg in ("--model", str(tmp_path / f"m{i}"))],
         "error: at most 10 models at once (1023 subsets), got 11"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), *args])
        assert result.exit_code == 1, result.output
        assert result.stderr.strip() == message
    empty = tmp_path / "faces"
    (empty / "happy").mkdir(parents=True)
    (empty / "happy" / "broken.jpg").write_bytes(b"not a jpeg")
    result = runner.invoke(app, ["train", "compare", "--data", str(empty), "--model", str(SINGLE_MODEL_DIR)])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(f"error: {empty / 'happy' / 'broken.jpg'}: not a readable image (")


def test_a_finished_run_is_read_from_its_exported_model_and_named_after_the_run(tiny_fer, tmp_path):
    run = tmp_path / "runs" / "boost-copy"
    shutil.copytree(BOOST_V1, run / "model")  # how `train emotion --out runs/boost-copy` leaves a finished run
    result = runner.invoke(app, ["train", "compare", "--data", str(tiny_fer / "val"), "--model", str(run),
                                 "--baseline", str(BOOST_V1), "--min-gain", "0", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    [row] = payload["candidates"]
    assert row["members"] == ["boost-copy"] and payload["baseline"]["members"] == ["boost-v1"]
    assert row["accuracy"] == payload["baseline"]["accuracy"] and row["passes"] is True  # the same file
