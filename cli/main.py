"""`moodtunes` console script: recommend, evaluate, chat, run, worker, train, catalog, db, report."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from moodtunes.core.intake import PHOTO_FORMATS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter is not for users

# rich_markup_mode=None (here and in every sub-app): Typer's Rich help panels print a "<bool>" type after every
# flag, as if it took a value; its plain help (click's layout) lists flags as flags.
app = typer.Typer(help="MoodTunes: send a selfie, get five songs for your mood.", no_args_is_help=True,
                  rich_markup_mode=None, pretty_exceptions_show_locals=False)
train_app = typer.Typer(help="Admin: retrain models.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(train_app, name="train")

EXIT_BAD_INPUT = 2


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    from moodtunes.cli.logs import redactor

    typer.echo(f"error: {redactor.redact(message)}", err=True)
    raise typer.Exit(code)


def _check_choice(option: str, value: str | None, choices) -> None:
    """Refuse a value outside ``choices`` with one line naming them all; None means the option was left out."""
    if value is not None and value not in choices:
        _fail(f"{option} must be one of {', '.join(choices)}")


@app.callback()
def main(
    ctx: typer.Context,
    env_file: Annotated[Optional[Path], typer.Option(
        "--env-file", dir_okay=False,
        help="read settings from this file instead of ./.env (or the checkout's .env); "
             "environment variables still win")] = None,
) -> None:
    """MoodTunes: send a selfie, get five songs for your mood."""
    from pydantic import ValidationError

    from moodtunes.core.settings import describe_invalid_settings, get_settings, use_env_file

    if env_file is not None and not env_file.is_file():
        _fail(f"--env-file {env_file}: no such file")
    use_env_file(env_file)
    ctx.call_on_close(lambda: use_env_file(None))
    try:
        settings = get_settings()
    except ValidationError as exc:  # one line per bad setting, named as it is set
        typer.echo("\n".join(f"error: {line}" for line in describe_invalid_settings(exc)), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    _log_to_terminal(settings, default_level="WARNING")


def _log_to_terminal(settings, default_level: str, *, serving: bool = False, screen: bool = False) -> None:
    """Quiet logging with every secret of ``settings`` redacted; ``LOG_LEVEL`` overrides ``default_level``.
    ``serving``: the salt is created now (not later by the service), so that it is redacted too. ``screen``: the
    terminal shows a chat or an answer, so native libraries' lines are kept off it (not for the Celery worker,
    which writes its own log to the process's stderr)."""
    import contextlib

    from moodtunes.cli.logs import configure_logging
    from moodtunes.core.native_logs import divert_native_stderr

    level = settings.log_level or default_level
    if screen and level != "DEBUG":
        divert_native_stderr()
    if serving:
        with contextlib.suppress(OSError):  # an unwritable DATA_DIR is reported when the service starts
            settings.resolved_salt()
    configure_logging(level, settings.secret_values(), log_format=settings.log_format)


def _fail_on_known(exc: Exception, settings) -> None:
    """Exit 2 with one line for a failure the admin can fix; anything else is a bug and is re-raised."""
    from moodtunes.cli.failures import describe_failure

    message = describe_failure(exc, settings)
    if message is None:
        raise exc
    _fail(message)


def _pipeline(model_dir: Path | None = None):
    from moodtunes.core.errors import MoodTunesError
    from moodtunes.core.pipeline import Pipeline
    from moodtunes.core.settings import get_settings

    settings = get_settings()
    if model_dir is not None:
        settings = settings.model_copy(update={"model_dir": model_dir})
    try:
        return Pipeline.from_settings(settings)
    except MoodTunesError as exc:
        _fail_on_known(exc, settings)


@app.command()
def recommend(
    photo: Annotated[Path, typer.Argument(metavar="PHOTO", help=f"a photo with a face ({PHOTO_FORMATS})")],
    strategy: Annotated[Optional[str], typer.Option(
        metavar="match|uplift", help="match (music that fits the mood) or uplift (music that lifts it) "
                                     "[default: DEFAULT_STRATEGY]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Find the face in PHOTO, read its emotion and recommend five tracks."""
    from moodtunes.core.errors import ImageRejected
    from moodtunes.core.mood import STRATEGIES

    _check_choice("--strategy", strategy, STRATEGIES)
    try:
        data = photo.read_bytes()
    except OSError as exc:
        _fail(f"{photo}: {exc.strerror or exc}")
    from moodtunes.core.intake import decode_photo
    from moodtunes.core.settings import get_settings

    try:
        decode_photo(data, get_settings())  # a file that is no photo is refused before the models load
    except ImageRejected as exc:
        _fail(f"{photo}: {exc}")
    _log_to_terminal(get_settings(), default_level="WARNING", screen=True)
    pipeline = _pipeline()
    try:
        result = pipeline.recommend_photo(data, strategy)
    except ImageRejected as exc:
        _fail(f"{photo}: {exc}")
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    if not result.faces:
        typer.echo("No face found in the photo.")
        return
    from moodtunes.bot.service import STRATEGY_LABEL, format_tracks

    p = result.primary.prediction
    typer.echo(f"Emotion: {p.emotion} ({p.confidence:.0%})" + (f" — largest of {len(result.faces)} faces"
                                                                if len(result.faces) > 1 else ""))
    if len(result.faces) > 1:
        typer.echo(f"Group: {result.group.faces_used} faces, {result.group.summary} → {result.mood}")
    typer.echo(f"Mood: {result.mood} · {STRATEGY_LABEL[result.strategy]}\n")
    typer.echo(format_tracks(result.tracks))


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="folder of labelled faces: DIR/<emotion>/<image>")],
    model: Annotated[Optional[Path],
                     typer.Option(help="model folder (model.tflite + metadata.json) or a training run")] = None,
    detect: Annotated[bool, typer.Option(help="run the face detector first (folders of whole photos)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON (the confusion matrix with "
                                                         "its labels)")] = False,
    plot: Annotated[Optional[Path], typer.Option(
        metavar="FILE.png", dir_okay=False,
        help="also draw the confusion matrix (rows true, recall on the diagonal) into this PNG")] = None,
    ferplus_votes: Annotated[Optional[Path], typer.Option(
        "--ferplus-votes", exists=True, dir_okay=False,
        help="FER+ crowd votes (ferplus_votes.csv, paths relative to its folder): also report accuracy against "
             "their majority labels; by default the one beside the data folder, if any")] = None,
) -> None:
    """Accuracy, per-class recall and confusion matrix of the emotion model on a labelled folder (and against the
    FER+ majority labels where crowd votes are given)."""
    import numpy as np
    from tqdm import tqdm

    from moodtunes.core.dataset import labelled_images, read_faces
    from moodtunes.core.emotion import EmotionModel
    from moodtunes.core.emotions import EMOTIONS
    from moodtunes.core.errors import ImageRejected, MoodTunesError
    from moodtunes.core.evaluation import evaluate_predictions, plot_confusion
    from moodtunes.core.intake import load_image
    from moodtunes.core.settings import get_settings
    from moodtunes.training.finalize import served_folder

    settings = get_settings()
    model_dir = served_folder(model or settings.model_dir)
    try:
        classifier = EmotionModel(model_dir, threads=os.cpu_count() or 1)
        items = labelled_images(data)
    except (MoodTunesError, FileNotFoundError) as exc:
        _fail(str(exc), 1)
    if not items:
        _fail(f"{data}: no images in folders named after the seven emotions", 1)
    size = classifier.input_size
    detector = None
    if detect:
        from moodtunes.core.faces import FaceDetector

        detector = FaceDetector(max_side=settings.detect_max_side, min_face_size=settings.min_face_size, crop_size=size)
    faces, labels, skipped = [], [], 0
    if detector is None:  # folders of face crops, such as FER2013's
        try:
            faces, labels = list(read_faces([path for path, _ in items], size)), [label for _, label in items]
        except ValueError as exc:
            _fail(str(exc), 1)
    else:
        for path, label in tqdm(items, desc="detecting", disable=as_json or not sys.stderr.isatty()):
            try:
                found = detector.detect(load_image(path.read_bytes(), min_side=1))
            except ImageRejected:
                found = []
            if not found:
                skipped += 1  # counted as a miss below, so accuracy is over every photo
                faces.append(None)
            else:
                faces.append(found[0].pixels)
            labels.append(label)
    have = [i for i, f in enumerate(faces) if f is not None]
    predicted = np.full(len(labels), -1)
    if have:
        probs = classifier.predict_many(np.stack([faces[i] for i in have]))
        predicted[have] = probs.argmax(axis=1)
    # A photo where no face was found counts as wrong: it is put in the true class's row with no column.
    report = evaluate_predictions(np.asarray(labels)[predicted >= 0], predicted[predicted >= 0])
    if detect:
        report = replace(report, accuracy=float(np.trace(np.asarray(report.confusion)) / len(labels)),
                         n=len(labels))
    payload = report.as_dict() | ({"no_face": skipped} if detect else {}) | {"model_version": classifier.version}
    votes_file = ferplus_votes or _votes_beside(data)
    if votes_file is not None:
        try:
            payload["ferplus_majority"] = _ferplus_accuracy([path for path, _ in items], predicted, votes_file)
        except (OSError, ValueError) as exc:
            _fail(str(exc), 1)
    if plot is not None:
        try:
            plot_confusion(report, plot, f"{classifier.version} on {data.name}")
        except OSError as exc:
            _fail(f"{plot}: {exc.strerror or exc}")
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"model {classifier.version} on {data}: accuracy {payload['accuracy']:.4f} over {payload['n']} images"
               + (f" ({skipped} without a detected face)" if detect else ""))
    typer.echo("recall: " + ", ".join(f"{e} {payload['per_class'][e]:.3f}" for e in EMOTIONS))
    if "ferplus_majority" in payload:
        fer = payload["ferplus_majority"]
        typer.echo(f"against the FER+ majority labels ({fer['votes']}): accuracy {fer['accuracy']:.4f} over "
                   f"{fer['n']} images with votes")
    typer.echo("confusion (rows true, columns predicted):")
    typer.echo("          " + " ".join(f"{e[:7]:>8}" for e in EMOTIONS))
    for e, row in zip(EMOTIONS, report.confusion, strict=True):
        typer.echo(f"{e:>9} " + " ".join(f"{v:>8}" for v in row))
    if plot is not None:
        typer.echo(f"confusion matrix drawn in {plot}")


def _votes_beside(data: Path) -> Path | None:
    from moodtunes.training.ferplus import VOTES_FILE

    candidate = data.parent / VOTES_FILE  # fer2013/ferplus_votes.csv beside fer2013/val
    return candidate if candidate.is_file() else None


def _ferplus_accuracy(paths: list[Path], predicted, votes_file: Path) -> dict:
    """Accuracy of ``predicted`` (-1: no face found, a miss) against the FER+ majority of the images that have votes;
    the votes file's paths are relative to its folder."""
    from moodtunes.training.ferplus import majority_accuracy, majority_for_files

    accuracy, n = majority_accuracy(predicted, majority_for_files(paths, votes_file))
    return {"accuracy": accuracy, "n": n, "votes": str(votes_file)}


@app.command()
def chat() -> None:
    """Console chat that behaves like the bot: type a photo path, /mood happy, more, /help."""
    from moodtunes.bot.console import run_console
    from moodtunes.core.settings import get_settings

    settings = get_settings()
    _log_to_terminal(settings, default_level="WARNING", serving=True, screen=True)  # the chat: warnings only
    try:
        run_console()
    except Exception as exc:
        _fail_on_known(exc, settings)


@app.command()
def run(
    webhook: Annotated[Optional[str], typer.Option(
        metavar="URL", help="receive Telegram updates at this public HTTPS URL instead of polling (needs "
                            "TELEGRAM_WEBHOOK_SECRET; served on 127.0.0.1:8443 for a reverse proxy)")] = None,
) -> None:
    """Start every adapter whose token is set (TELEGRAM_TOKEN, DISCORD_TOKEN); the console chat when none is."""
    from moodtunes.bot.run import has_token, run_adapters
    from moodtunes.core.settings import get_settings

    settings = get_settings()
    # A bot's terminal is its log: INFO by default. Without a token it is the console chat's screen.
    _log_to_terminal(settings, default_level="INFO" if has_token(settings) else "WARNING", serving=True,
                     screen=True)
    try:
        run_adapters(settings, webhook_url=webhook)
    except Exception as exc:
        _fail_on_known(exc, settings)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(
        min=1, help="worker processes, each with its own model and one inference thread; one per CPU core")] = (
        os.cpu_count() or 1),
    queue: Annotated[Optional[str], typer.Option(
        help="photo job queue to take jobs from (default: the WORKER_QUEUE setting)")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery's log level: DEBUG, INFO, WARNING, ERROR")] = "INFO",
    hostname: Annotated[Optional[str], typer.Option(
        help="this worker's name in logs and results, e.g. photos1@%h (default: celery@<host>)")] = None,
) -> None:
    """Run an inference worker: take photo jobs from BROKER_URL, analyse faces and emotions, send back the result."""
    from moodtunes.core.settings import get_settings
    from moodtunes.worker.tasks import run_worker

    settings = get_settings()
    if not settings.broker_url.get_secret_value():
        _fail("BROKER_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672//); see docs/deploy.md")
    if queue:
        settings = settings.model_copy(update={"worker_queue": queue})
    run_worker(settings, concurrency=concurrency, loglevel=loglevel, hostname=hostname)


def _check_quantization(quantization: str | None) -> None:
    from moodtunes.training.finalize import QUANTIZATIONS

    _check_choice("--quantization", quantization, QUANTIZATIONS)


def _check_teacher(teacher: Path) -> None:
    """A teacher must be a loadable served model folder; say which file is wrong before any training starts."""
    from moodtunes.core.emotion import EmotionModel
    from moodtunes.core.errors import ModelError

    try:
        EmotionModel(teacher)
    except ModelError as exc:
        _fail(f"--teacher: {exc}")


def _per_emotion(option: str, pairs: list[str], value_name: str, low: float, high: float = float("inf")
                 ) -> dict[str, float]:
    """``--class-boost fear=1.5 --class-boost sad=1.25`` -> {"fear": 1.5, "sad": 1.25} with each value in
    (low, high], or one precise error line."""
    from moodtunes.core.emotions import EMOTIONS

    values = {}
    for pair in pairs:
        emotion, _, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if emotion not in EMOTIONS or not low < value <= high:
            limits = f"above {low:g}" + (f" and at most {high:g}" if high != float("inf") else "")
            _fail(f"{option} must be EMOTION={value_name} with EMOTION one of {', '.join(EMOTIONS)} and {value_name} "
                  f"{limits}, got {pair!r}")
        values[emotion] = value
    return values


@train_app.command("emotion")
def train_emotion(
    data: Annotated[Path, typer.Option(help="DIR/<split>/<emotion>/* or fer2013.csv")] = Path("../shared/data/fer2013"),
    arch: Annotated[str, typer.Option(help="default, wide, custom-cnn, vgg16, vgg19 or resnet50v2")] = "default",
    out: Annotated[Path, typer.Option(help="run folder: face cache, best epoch's weights, exported model")] = Path(
        "runs/default"),
    state_dir: Annotated[Optional[Path], typer.Option(
        "--state-dir", help="where the resumable training state goes (commit it to continue elsewhere); "
                            "default OUT/state")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="length of the whole schedule")] = None,
    input_size: Annotated[Optional[int], typer.Option("--input-size", help="face size in pixels")] = None,
    weights: Annotated[str, typer.Option(help="imagenet or none")] = "none",
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="faces per training step")] = None,
    resume: Annotated[Optional[Path], typer.Option(
        help="continue a run: its state folder (e.g. models/training/wide-v1) or its run folder")] = None,
    max_train_images: Annotated[Optional[int], typer.Option(help="train on a random subset (smoke tests)")] = None,
    init_from: Annotated[Optional[Path], typer.Option(
        help="start from these weights: a run folder or the model folder of one network "
             "(models/candidates/run4)")] = None,
    learning_rate: Annotated[Optional[float], typer.Option("--learning-rate", help="peak learning rate")] = None,
    warmup_epochs: Annotated[Optional[int], typer.Option(
        "--warmup-epochs", help="epochs of linear learning-rate warm-up before the cosine decay")] = None,
    class_weight_power: Annotated[Optional[float], typer.Option(
        "--class-weight-power", help="0 ignores class imbalance, 1 fully balances it")] = None,
    class_boost: Annotated[Optional[list[str]], typer.Option(
        "--class-boost", help="EMOTION=FACTOR: multiply that class's weight (repeatable), e.g. fear=1.5")] = None,
    ferplus_weight: Annotated[Optional[float], typer.Option(
        "--ferplus-weight", help="share of each target taken from the FER+ crowd votes (0 to 0.5)")] = None,
    teacher: Annotated[Optional[Path], typer.Option(
        help="distil this served model folder (e.g. an ensemble's runs/<name>/model): its outputs on the "
             "training faces become part of each target")] = None,
    teacher_weight: Annotated[Optional[float], typer.Option(
        "--teacher-weight", help="share of each target taken from the teacher (above 0, at most 1; default 0.5)")
    ] = None,
    augmentation: Annotated[Optional[str], typer.Option(
        help="training augmentation: basic (±15° rotation, scale 0.9-1.1, ±10 % shift, contrast) or strong (±10°, "
             "0.8-1.2, ±20 %, random erasing); default: the architecture's")] = None,
    mixed_precision: Annotated[Optional[bool], typer.Option(
        "--mixed-precision/--no-mixed-precision",
        help="bfloat16 compute; by default on where the CPU has native bf16 (AMX, AVX512-BF16), off elsewhere")] = None,
    seed: Annotated[Optional[int], typer.Option(
        help="random seed: data order, augmentation and initial weights follow from it")] = None,
    quantization: Annotated[Optional[str], typer.Option(
        help="weights of the exported model: dynamic (int8, the default) or none (float32)")] = None,
    max_hours: Annotated[Optional[float], typer.Option(
        "--max-hours", help="pause (state saved, continue with --resume) after the last epoch expected to end "
                            "within this many hours")] = None,
) -> None:
    """Train (or resume) an emotion model; the selected epoch is exported to OUT/model."""
    from moodtunes.core.errors import ModelError
    from moodtunes.training.augment import RECIPES
    from moodtunes.training.train_emotion import ARCHITECTURES, default_config, train

    boost: dict[str, float] = {}
    if resume is None:
        _check_choice("--arch", arch, ARCHITECTURES)
        _check_choice("--weights", weights, ("imagenet", "none"))
        if ferplus_weight is not None and not 0 <= ferplus_weight < 0.5:
            _fail("--ferplus-weight must be at least 0 and below 0.5 (the original label keeps the majority)")
        if teacher_weight is not None and not 0 < teacher_weight <= 1:
            _fail("--teacher-weight must be above 0 and at most 1")
        if teacher_weight is not None and teacher is None:
            _fail("--teacher-weight needs --teacher")
        if teacher is not None:
            _check_teacher(teacher)
        _check_quantization(quantization)
        _check_choice("--augmentation", augmentation, RECIPES)
        boost = _per_emotion("--class-boost", class_boost or [], "FACTOR", 0.0)
    if max_hours is not None and not max_hours > 0:
        _fail("--max-hours must be above 0")
    config = default_config(arch, data=str(data), out=str(out), weights=weights)
    for name, value in (("epochs", epochs), ("input_size", input_size), ("batch_size", batch_size),
                        ("max_train_images", max_train_images), ("init_from", init_from and str(init_from)),
                        ("state_dir", state_dir and str(state_dir)),
                        ("learning_rate", learning_rate), ("warmup_epochs", warmup_epochs),
                        ("class_weight_power", class_weight_power), ("ferplus_weight", ferplus_weight),
                        ("teacher", teacher and str(teacher)), ("teacher_weight", teacher_weight),
                        ("mixed_precision", mixed_precision), ("seed", seed), ("quantization", quantization),
                        ("augmentation", augmentation), ("class_boost", boost or None)):
        if value is not None:
            setattr(config, name, value)
    try:
        folder = train(config, resume=resume, max_hours=max_hours)
    except (FileNotFoundError, ValueError, RuntimeError, ModelError) as exc:
        _fail(str(exc), 1)
    if folder is not None:
        typer.echo(f"model written to {folder}")


@train_app.command("ensemble")
def train_ensemble(
    member: Annotated[list[Path], typer.Option(
        help="a finished run folder or a model folder (e.g. models/candidates/run4); give two or more")],
    out: Annotated[Path, typer.Option(help="folder for the ensemble's model/")] = Path("runs/ensemble"),
    quantization: Annotated[str, typer.Option(
        help="weights of the exported model: dynamic (int8) or none (float32)")] = "dynamic",
) -> None:
    """Average finished runs or model folders into one servable model, measured on val."""
    from moodtunes.training.ensemble import build_ensemble

    _check_quantization(quantization)
    try:
        folder = build_ensemble(member, out, quantization)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc), 1)
    typer.echo(f"model written to {folder}")


@train_app.command("compare")
def train_compare(
    model: Annotated[list[Path], typer.Option(
        help="a model folder (model.tflite + metadata.json) or a finished run; give each candidate, up to 10: "
             "every subset of them is scored as the average of its members")],
    data: Annotated[Path, typer.Option(help="folder of labelled faces: DIR/<emotion>/<image>")] = Path(
        "../shared/data/fer2013/val"),
    baseline: Annotated[Optional[Path], typer.Option(
        help="the model a candidate must beat; default: the shipped one (MODEL_DIR)")] = None,
    min_gain: Annotated[float, typer.Option(help="accuracy points (%) a candidate must gain over the baseline")] = 0.5,
    max_mb: Annotated[float, typer.Option(help="largest model files a candidate may have, in MB")] = 25.0,
    max_ms: Annotated[float, typer.Option(
        help="most milliseconds per face a candidate may take on this machine (p50, one thread, its members' times "
             "summed)")] = 25.0,
    max_members: Annotated[Optional[int], typer.Option(
        help="most members a candidate may average: the time budget of a slower CPU than this one (an AVX2-only "
             "CPU fits four default-size members in 25 ms, docs/performance.md)")] = None,
    recall_floor: Annotated[Optional[list[str]], typer.Option(
        help="EMOTION=RECALL (0-1) a candidate's recall of that emotion must exceed; repeat per emotion")] = None,
    ferplus_votes: Annotated[Optional[Path], typer.Option(
        "--ferplus-votes", exists=True, dir_okay=False,
        help="FER+ crowd votes: also report accuracy against their majority; by default the file beside the data "
             "folder, if any")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
) -> None:
    """Score candidate models and every average of them on labelled faces, as served, against a shipping rule."""
    from moodtunes.core.errors import MoodTunesError
    from moodtunes.core.settings import get_settings
    from moodtunes.training.compare import ShippingRule, compare, markdown_table

    floors = _per_emotion("--recall-floor", recall_floor or [], "RECALL", 0.0, 1.0)
    if not 0 <= min_gain <= 100 or not max_mb > 0 or not max_ms > 0 or (max_members is not None and max_members < 1):
        _fail("--min-gain must be 0-100 points, --max-mb and --max-ms above 0, --max-members at least 1")
    rule = ShippingRule(min_gain=min_gain / 100, max_megabytes=max_mb, max_ms=max_ms, max_members=max_members,
                        recall_floors=floors)
    try:
        base, results = compare(data, model, baseline or get_settings().model_dir, rule,
                                ferplus_votes or _votes_beside(data), threads=os.cpu_count() or 1)
    except (MoodTunesError, FileNotFoundError, ValueError) as exc:
        _fail(str(exc), 1)
    if as_json:
        typer.echo(json.dumps({"baseline": base.as_dict(), "candidates": [r.as_dict() for r in results]}, indent=2))
        return
    typer.echo(markdown_table(base, results))
    passing = [r for r in results if r.passes]
    typer.echo(f"{len(passing)} of {len(results)} candidates pass the rule"
               + (f"; best: {' + '.join(passing[0].members)}" if passing else ""))


@train_app.command("export")
def train_export(
    source: Annotated[Path, typer.Option(
        help="a run folder, a run's state folder (e.g. models/training/wide-v1) or a model folder "
             "(models/candidates/run4)")],
    out: Annotated[Path, typer.Option(help="folder for the exported model/")],
    quantization: Annotated[str, typer.Option(
        help="weights of the exported model: dynamic (int8) or none (float32)")] = "dynamic",
    data: Annotated[Optional[Path], typer.Option(
        help="face folder for val and calibration; default: the one the source was trained on")] = None,
) -> None:
    """Export a run's selected weights or a model folder again (e.g. with int8 weights), measured on val."""
    from moodtunes.training.export import export_model

    _check_quantization(quantization)
    try:
        folder = export_model(source, out, quantization, data)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc), 1)
    typer.echo(f"model written to {folder}")


def _mount_optional() -> None:
    from moodtunes.cli.catalog_commands import catalog_app, train_catalog
    from moodtunes.cli.db_commands import db_app, report_app

    app.add_typer(db_app, name="db")
    app.add_typer(report_app, name="report")
    app.add_typer(catalog_app, name="catalog")
    train_app.command("catalog")(train_catalog)


_mount_optional()
