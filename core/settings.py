"""The one settings object: every configurable value, read from the environment and a ``.env`` file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from moodtunes.core.mood import Strategy

# The folder holding core/, bot/, models/ ...: the checkout itself, or site-packages/moodtunes in an installed copy.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
# A checkout has pyproject.toml beside the package folders; an installed copy has not.
CHECKOUT: Path | None = PACKAGE_DIR if (PACKAGE_DIR / "pyproject.toml").is_file() else None
PROJECT_ROOT = CHECKOUT or PACKAGE_DIR
# Track data is never committed; a checkout reads it from the shared data folder beside it. An installed copy has
# no such folder: it needs CATALOG_PATH or CATALOG_SOURCE.
SHARED_MUSIC = PACKAGE_DIR.parent / "shared" / "data" / "music"
MOODS_CATALOG = SHARED_MUSIC / "data_moods.csv"  # Kaggle's 686 hand-labelled tracks (CATALOG_PATH=...)
DEFAULT_CATALOG_SOURCE = SHARED_MUSIC / "spotify_hit_predictor_1960-2019.csv"  # 40,560 tracks, no moods
# The shipped models are package data: under the checkout's models/ or the installed package's.
DEFAULT_MOOD_CLASSIFIER = PACKAGE_DIR / "models" / "mood"
DEFAULT_MODEL_DIR = PACKAGE_DIR / "models" / "emotion"
DEFAULT_MOOD_MAP = Path(__file__).resolve().parent / "moods.toml"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
_SECRET_MIN_CHARS = 4  # shorter "secrets" (test values, typos) would blank out ordinary words in every log line


def default_data_dir() -> Path:
    """A checkout keeps its data in its own data/; an installed copy in the user's data folder (XDG)."""
    if CHECKOUT is not None:
        return CHECKOUT / "data"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"  # relative: ignored, as XDG says
    return base / "moodtunes"


def default_catalog_source() -> Path | None:
    return DEFAULT_CATALOG_SOURCE if CHECKOUT is not None else None


_env_file_option: Path | None = None  # `moodtunes --env-file PATH`


def use_env_file(path: Path | None) -> None:
    """Read settings from ``path`` instead of the default ``.env`` (None: back to the default)."""
    global _env_file_option
    _env_file_option = path
    get_settings.cache_clear()


def default_env_file() -> Path | None:
    """The ``.env`` to read: ``--env-file``, else ./.env, else the checkout's .env (whichever exists first)."""
    if _env_file_option is not None:
        return _env_file_option
    for folder in (Path.cwd(), CHECKOUT):
        if folder is not None and (folder / ".env").is_file():
            return folder / ".env"
    return None


class Settings(BaseSettings):
    """MoodTunes configuration. Every field maps to the upper-case environment variable of its name; the
    environment wins over the ``.env`` file."""

    model_config = SettingsConfigDict(env_file_encoding="utf-8", extra="ignore")

    # Core pipeline.
    catalog_path: Path | None = Field(None, description="labelled catalog CSV (data_moods.csv columns); "
                                      "unset: the catalog built from catalog_source under data_dir")
    catalog_source: Path | None = Field(default_factory=default_catalog_source,
                                        description="unlabelled track CSV the default catalog is imported from")
    mood_classifier_dir: Path = Field(DEFAULT_MOOD_CLASSIFIER, description="catalog mood classifier folder")
    model_dir: Path = Field(DEFAULT_MODEL_DIR, description="folder with model.tflite and metadata.json")
    mood_map_path: Path = Field(DEFAULT_MOOD_MAP, description="TOML table: emotion -> mood per strategy")
    default_strategy: Strategy = Strategy.MATCH
    tracks_per_answer: int = Field(5, ge=1, le=20)
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1)
    max_image_pixels: int = Field(40_000_000, ge=1)
    min_image_side: int = Field(32, ge=1, description="smaller images cannot hold a detectable face")
    detect_max_side: int = Field(480, ge=64, description="longest side MTCNN sees")
    min_face_size: int = Field(20, ge=12, description="smallest face side MTCNN looks for, in downscaled pixels")
    inference_threads: int = Field(1, ge=1)

    # Storage.
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: SecretStr = SecretStr("")  # empty: SQLite file in data_dir; a secret: it may hold a password
    user_id_salt: SecretStr = SecretStr("")  # empty: a random salt kept in data_dir

    # Chat adapters.
    telegram_token: SecretStr = SecretStr("")
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_secret: SecretStr = SecretStr("")
    # Where the webhook server listens (behind a TLS reverse proxy or load balancer); each replica its own port.
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    telegram_webhook_path: str = Field("", description="URL path the webhook server answers on; empty: the path "
                                       "of the --webhook URL")
    discord_token: SecretStr = SecretStr("")
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_shard_count: int = Field(0, ge=0, description="total shards of the bot; 0: one connection, no sharding")
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="the shards this process runs, e.g. 0,1; empty with a shard count: all")
    photos_per_minute: int = Field(10, ge=1, description="per-user flood limit")

    # Scaling out: state shared by the replicas.
    redis_url: str = Field("", description="Redis for the flood limit shared by all replicas; empty: in-process")
    redis_key_prefix: str = "moodtunes:"

    # Operations.
    metrics_port: int = Field(0, ge=0, le=65535, description="port of /metrics and /healthz; 0: off")
    metrics_listen: str = "127.0.0.1"

    # Inference workers (`moodtunes worker`); unset BROKER_URL: photos are analysed in the front end's process.
    broker_url: SecretStr = Field(SecretStr(""), description="RabbitMQ URL photo jobs go through, e.g. "
                                  "amqp://guest:guest@127.0.0.1:5672//")
    result_backend_url: SecretStr = Field(SecretStr("redis://127.0.0.1:6379/0"),
                                          description="Redis URL where workers leave each photo's analysis")
    worker_queue: str = Field("moodtunes.photos", min_length=1, description="photo job queue; its dead letters "
                              "go to <name>.dead")
    photo_job_timeout: float = Field(30.0, gt=0, description="seconds a front end waits for a worker's answer")
    broker_timeout: float = Field(2.0, gt=0, description="seconds to connect to or publish on the broker")
    photo_job_max_deliveries: int = Field(3, ge=1, le=100, description="deliveries of a job whose photo keeps "
                                          "crashing workers before it is dead-lettered")
    # Unset: INFO for the bots, WARNING in the console chat and one-shot commands (their screen is the answer).
    log_level: LogLevel | None = None
    log_format: Literal["text", "json"] = "text"

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        # "0,1" in the environment, or "[0,1]" (the JSON pydantic-settings would otherwise expect).
        if isinstance(value, str):
            return [int(part) for part in value.strip().strip("[]").split(",") if part.strip()]
        return value

    def __init__(self, **values) -> None:
        values.setdefault("_env_file", default_env_file())
        super().__init__(**values)

    @field_validator("catalog_path", "catalog_source", "log_level", mode="before")
    @classmethod
    def _unset_when_empty(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.discord_shard_ids and not self.discord_shard_count:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total number of shards)")
        if any(not 0 <= i < self.discord_shard_count for i in self.discord_shard_ids):
            raise ValueError(f"DISCORD_SHARD_IDS must lie in 0..{self.discord_shard_count - 1}")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    def model_post_init(self, __context) -> None:
        if not self.database_url.get_secret_value():
            self.database_url = SecretStr(f"sqlite:///{(self.data_dir / 'moodtunes.sqlite3').resolve()}")

    def resolved_salt(self) -> str:
        """The salt for hashing user ids: from the environment, else created once under data_dir."""
        if self.user_id_salt.get_secret_value():
            return self.user_id_salt.get_secret_value()
        salt_file = self.data_dir / "user_id_salt"
        if not salt_file.is_file():
            import secrets

            salt_file.parent.mkdir(parents=True, exist_ok=True)
            salt_file.write_text(secrets.token_hex(32))
            salt_file.chmod(0o600)
        return salt_file.read_text().strip()

    def secret_values(self) -> set[str]:
        """Every secret these settings hold, as it may appear in a log line or a library's error: the tokens,
        the webhook secret, the salt, and the passwords in the database, Redis and broker URLs (not the rest)."""
        found = {getattr(self, name).get_secret_value() for name in type(self).model_fields
                 if not name.endswith("_url") and isinstance(getattr(self, name), SecretStr)}
        salt_file = self.data_dir / "user_id_salt"
        if not self.user_id_salt.get_secret_value() and salt_file.is_file():
            found.add(salt_file.read_text().strip())
        for address in (self.database_url.get_secret_value(), self.redis_url, self.broker_url.get_secret_value(),
                        self.result_backend_url.get_secret_value()):
            url = urlsplit(address)
            passwords = [url.password or ""] + [v for k, v in parse_qsl(url.query) if "password" in k.lower()]
            found.update(p for raw in passwords for p in (raw, unquote(raw)))
        return {value for value in found if len(value) >= _SECRET_MIN_CHARS}


def describe_invalid_settings(error: ValidationError) -> list[str]:
    """One line per bad setting, named by its environment variable; a secret's value is never shown."""
    secret_fields = {name for name, field in Settings.model_fields.items() if field.annotation is SecretStr}
    lines = []
    for problem in error.errors():
        if not problem["loc"]:  # a rule across settings: its message names them; its input is all of them
            lines.append(problem["msg"].removeprefix("Value error, "))
            continue
        name = str(problem["loc"][0])
        shown = "" if name in secret_fields else f" (got {problem.get('input')!r})"
        lines.append(f"{name.upper()}: {problem['msg']}{shown}")
    return lines


@lru_cache
def get_settings() -> Settings:
    return Settings()
