"""The `moodtunes` command's contract: JSON keys and types, exit codes, evaluate's report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotions import EMOTIONS
from tests.helpers import FER_ROOT, fer_faces, heic

runner = CliRunner()
FACES_PER_CLASS = 4


@pytest.fixture
def photo(tmp_path, astronaut_jpeg):
    path = tmp_path / "selfie.jpg"
    path.write_bytes(astronaut_jpeg)
    return path


def test_recommend_json_contract(photo):
    result = runner.invoke(app, ["recommend", str(photo), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"faces", "emotion", "confidence", "probabilities", "mood", "strategy", "tracks"} <= payload.keys()
    assert payload["faces"] == 1 and payload["emotion"] in EMOTIONS
    assert isinstance(payload["confidence"], float) and 0 < payload["confidence"] <= 1
    assert list(payload["probabilities"]) == list(EMOTIONS)
    assert payload["strategy"] == "match"
    assert payload["group"] == {"mood": payload["mood"], "emotion": payload["emotion"], "faces_used": 1}
    assert len(payload["tracks"]) == 5
    for track in payload["tracks"]:
        assert set(track) == {"name", "artist", "album", "id", "spotify_url"}
        assert track["spotify_url"] == f"https://open.spotify.com/track/{track['id']}"


def test_recommend_an_iphone_heic(tmp_path, astronaut_image):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(heic(astronaut_image))
    result = runner.invoke(app, ["recommend", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["faces"] == 1 and payload["emotion"] in EMOTIONS and len(payload["tracks"]) == 5


def test_recommend_uplift_strategy(photo):
    payload = json.loads(runner.invoke(app, ["recommend", str(photo), "--json", "--strategy", "uplift"]).stdout)
    assert payload["strategy"] == "uplift"


def test_recommend_no_face_is_exit_0(tmp_path, coffee_jpeg):
    path = tmp_path / "coffee.jpg"
    path.write_bytes(coffee_jpeg)
    result = runner.invoke(app, ["recommend", str(path), "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["faces"] == 0 and payload["emotion"] is None and payload["tracks"] == []
    assert payload["group"] is None


def test_recommend_unreadable_input_is_exit_2(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a photo")
    result = runner.invoke(app, ["recommend", str(path), "--json"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "error:" in result.stderr
    missing = runner.invoke(app, ["recommend", str(tmp_path / "missing.jpg")])
    assert missing.exit_code == 2


def test_recommend_human_output(photo):
    result = runner.invoke(app, ["recommend", str(photo)])
    assert result.exit_code == 0
    assert result.stdout.count("https://open.spotify.com/track/") == 5


def test_evaluate_accepts_both_spellings_and_skips_other_classes(tmp_path):
    # A small real evaluation folder: 6 faces per class; two classes in Kaggle's other spelling, plus a stray class.
    spelled = {"disgust": "disgusted", "fear": "fearful", "surprise": "surprised"}
    for emotion in EMOTIONS:
        target = tmp_path / spelled.get(emotion, emotion)
        target.mkdir()
        for path in sorted((FER_ROOT / "val" / emotion).iterdir())[:6]:
            shutil.copy(path, target / path.name)
    (tmp_path / "contempt").mkdir()
    shutil.copy(next((FER_ROOT / "val" / "happy").iterdir()), tmp_path / "contempt" / "x.jpg")
    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n"] == 42
    assert set(payload["per_class"]) == set(EMOTIONS)
    assert payload["confusion"]["labels"] == list(EMOTIONS)
    confusion = payload["confusion"]["rows_true_columns_predicted"]
    assert len(confusion) == 7 and all(len(row) == 7 for row in confusion)
    assert all(sum(row) == 6 for row in confusion)  # rows are true classes
    assert payload["accuracy"] == pytest.approx(sum(confusion[i][i] for i in range(7)) / 42)


@pytest.fixture
def fer_val_subset(tmp_path):
    """Real FER2013 PublicTest faces: FACES_PER_CLASS of each emotion in DIR/<emotion>/."""
    for emotion in EMOTIONS:
        (tmp_path / "faces" / emotion).mkdir(parents=True)
        for n, face in enumerate(fer_faces("val", emotion, FACES_PER_CLASS)):
            Image.fromarray(face).save(tmp_path / "faces" / emotion / f"{n}.png")
    return tmp_path / "faces"


def test_evaluate_draws_and_labels_the_confusion_matrix(fer_val_subset, tmp_path):
    plot = tmp_path / "plots" / "confusion.png"
    result = runner.invoke(app, ["evaluate", "--data", str(fer_val_subset), "--json", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert "ferplus_majority" not in payload  # no crowd votes beside these faces
    confusion = payload["confusion"]
    assert confusion["labels"] == list(EMOTIONS) == list(payload["per_class"])
    assert [sum(row) for row in confusion["rows_true_columns_predicted"]] == [FACES_PER_CLASS] * len(EMOTIONS)
    with Image.open(plot) as image:  # a real PNG, the size ConfusionMatrixDisplay draws at (6 x 5 in, 100 dpi)
        assert image.format == "PNG" and image.size == (600, 500)
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 20  # cells, labels and numbers, not a blank canvas


@pytest.fixture
def fer_val_with_votes(tmp_path):
    """Real PublicTest files under DIR/val/<emotion>/ with their FER+ votes in DIR/ferplus_votes.csv."""
    import csv

    root = tmp_path / "fer2013"
    kept = set()
    for emotion in EMOTIONS:
        (root / "val" / emotion).mkdir(parents=True)
        for path in sorted((FER_ROOT / "val" / emotion).iterdir())[:FACES_PER_CLASS]:
            shutil.copy(path, root / "val" / emotion / path.name)
            kept.add(f"val/{emotion}/{path.name}")
    with open(FER_ROOT / "ferplus_votes.csv", newline="") as source:
        reader = csv.DictReader(source)
        rows = [row for row in reader if row["path"] in kept]
        fieldnames = reader.fieldnames
    with open(root / "ferplus_votes.csv", "w", newline="") as target:
        writer = csv.DictWriter(target, fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return root, rows


def test_evaluate_reports_accuracy_against_the_ferplus_majority(fer_val_with_votes):
    from moodtunes.core.emotion import EmotionModel
    from moodtunes.core.settings import DEFAULT_MODEL_DIR

    root, rows = fer_val_with_votes
    result = runner.invoke(app, ["evaluate", "--data", str(root / "val"), "--json"])  # votes found beside val/
    assert result.exit_code == 0, result.output
    fer = json.loads(result.stdout)["ferplus_majority"]

    # FER+ columns in our class order; the majority over the seven emotions (contempt, unknown, NF dropped)
    columns = ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
    voted = [row for row in rows if sum(float(row[c]) for c in columns) > 0]
    majority = np.array([int(np.argmax([float(row[c]) for c in columns])) for row in voted])
    faces = np.stack([np.asarray(Image.open(root / row["path"]).convert("L")) for row in voted])
    predicted = EmotionModel(DEFAULT_MODEL_DIR).predict_many(faces).argmax(axis=1)
    assert fer["n"] == len(voted) > 0
    assert fer["accuracy"] == pytest.approx((predicted == majority).mean())
    assert fer["votes"] == str(root / "ferplus_votes.csv")

    text = runner.invoke(app, ["evaluate", "--data", str(root / "val")])
    assert f"against the FER+ majority labels ({root / 'ferplus_votes.csv'}): accuracy {fer['accuracy']:.4f} over " \
           f"{len(voted)} images with votes" in text.stdout


def test_evaluate_refuses_a_broken_votes_file_in_one_line(fer_val_with_votes, tmp_path):
    root, _ = fer_val_with_votes
    broken = tmp_path / "votes.csv"
    broken.write_text("path,neutral,happiness\nval/angry/x.jpg,three,4\n")
    result = runner.invoke(app, ["evaluate", "--data", str(root / "val"), "--ferplus-votes", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {broken}: row 2:") and result.stderr.count("\n") == 1


def test_evaluate_names_an_unreadable_face_file_in_one_line(fer_val_subset):
    broken = fer_val_subset / "sad" / "zz_truncated.jpg"
    broken.write_bytes(next((fer_val_subset / "sad").iterdir()).read_bytes()[:40])  # a JPEG cut short
    result = runner.invoke(app, ["evaluate", "--data", str(fer_val_subset)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {broken}: not a readable image (") and result.stderr.count("\n") == 1


def test_evaluate_text_report_says_where_the_plot_is(fer_val_subset, tmp_path):
    plot = tmp_path / "confusion.png"
    result = runner.invoke(app, ["evaluate", "--data", str(fer_val_subset), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert f"confusion matrix drawn in {plot}" in result.stdout and plot.stat().st_size > 10_000
    unwritable = runner.invoke(app, ["evaluate", "--data", str(fer_val_subset), "--plot", str(plot / "x.png")])
    assert unwritable.exit_code == 2 and unwritable.stderr.startswith("error: ")


def test_evaluate_with_detection_on_whole_photos(tmp_path, astronaut_jpeg, coffee_jpeg):
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "astronaut.jpg").write_bytes(astronaut_jpeg)
    (tmp_path / "happy" / "coffee.jpg").write_bytes(coffee_jpeg)
    result = runner.invoke(app, ["evaluate", "--data", str(tmp_path), "--detect", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["n"] == 2 and payload["no_face"] == 1
    assert sum(map(sum, payload["confusion"]["rows_true_columns_predicted"])) == 1


def test_installed_console_script_runs(photo):
    """The real `moodtunes` entry point, as a user runs it."""
    exe = shutil.which("moodtunes") or os.path.join(os.path.dirname(sys.executable), "moodtunes")
    done = subprocess.run([exe, "recommend", str(photo), "--json"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["tracks"]) == 5
