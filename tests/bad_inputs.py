"""The bad-input corpus: every awkward thing a user can send instead of (or as) a selfie, built in memory from
real photos (scikit-image's astronaut, chelsea the cat, coffee). The console, Telegram and Discord suites all run
the same cases; each case says what the user must be told.

``expect`` is one of: a ``core.messages`` sentence (the exact answer), ``TRACKS`` (a normal answer with five
Spotify links) or ``GROUP`` (a normal answer headed by the two faces' group mood, each face's emotion below).
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

import numpy as np
from PIL import Image

from moodtunes.core import errors, messages
from tests.helpers import avif, bomb_png, encode, heic, heic_claiming

TRACKS = "tracks"
GROUP = "group"
EXIF_ORIENTATION = 0x0112
SPOTIFY_TRACK = r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})"
GROUP_SENTENCE = "2 faces: "  # the group answer's headline: "😊 2 faces: all happy → Happy"
UNKNOWN_MOOD = "furious"  # not one of core.mood.MOODS
TOO_BIG = 25 * 1024 * 1024
# Button payloads no answer ever carried (wrong shape, unknown kind, out-of-range ids) or that point at no answer.
FORGED_PAYLOADS = ("v|999999|x|+", "zz|%$#", "|||", "v|999999|" + "A" * 22 + "|+", "v|0|" + "A" * 22 + "|+",
                   "d|Furious", "d|", "s|1|sideways", "m|-1", "m|1e9", "m|99999999999999", "m|0x10", "m| 12",
                   "f|maybe", "t|loud", "d|Счастье", "m|999999")


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    mime: str  # what a chat app would announce for it (Telegram mime_type, Discord content_type)
    filename: str
    expect: str
    photo_like: bool = False  # also worth sending as a compressed Telegram photo

    @property
    def is_answer(self) -> bool:
        return self.expect in (TRACKS, GROUP)

    def signature(self) -> list[bytes]:
        """Up to three varied 48-byte windows of the payload: a file holding one of them holds this input.

        Windows of few distinct bytes (runs of zeros, compressed zeros) are skipped: any database page has
        those. The empty file, the 1x1 PNG and the bomb's repetitive body have none; their header bytes are
        what any PNG or JPEG starts with."""
        windows = []
        for start in range(len(self.data) // 3, len(self.data) - 48, 997):
            window = self.data[start:start + 48]
            if len(set(window)) >= 32:
                windows.append(window)
                if len(windows) == 3:
                    break
        return windows

    def __repr__(self) -> str:  # keeps pytest ids and failure messages short
        return f"Case({self.name}, {len(self.data)} bytes, {self.mime}, expect={self.expect[:30]!r})"


def _skimage(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)())


def _animated_gif(first: Image.Image, *others: Image.Image) -> bytes:
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=list(others), duration=120, loop=0)
    return buffer.getvalue()


def _exif_rotated(upright: Image.Image) -> bytes:
    """Stored lying on its side (turned 90° counter-clockwise); the EXIF tag says: turn 90° clockwise to view."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes(), quality=92)


def _transparent(upright: Image.Image) -> bytes:
    """RGBA: a fully transparent frame around the face and a half-transparent band at the bottom."""
    rgba = upright.convert("RGBA")
    alpha = np.full((rgba.height, rgba.width), 255, np.uint8)
    alpha[:, :40] = alpha[:, -40:] = 0
    alpha[-120:, :] = 128
    rgba.putalpha(Image.fromarray(alpha, "L"))
    return encode(rgba, "PNG")


def _sixteen_bit(upright: Image.Image) -> bytes:
    grey = np.asarray(upright.convert("L"), dtype=np.uint16) * 257
    image = Image.fromarray(grey)
    assert image.mode == "I;16"
    return encode(image, "PNG")


def _group(upright: Image.Image, background: Image.Image) -> bytes:
    """Two astronauts of different sizes on one canvas (the coffee photo, stretched): the big one on the left."""
    canvas = background.resize((960, 560)).convert("RGB")
    canvas.paste(upright.resize((440, 440)), (20, 60))
    canvas.paste(upright.resize((300, 300)), (600, 200))
    return encode(canvas, "JPEG", quality=92)


def _too_big(upright: Image.Image) -> bytes:
    """A real, uncompressed photo of about 25 MB (still under the pixel limit)."""
    side = int((TOO_BIG / 3) ** 0.5) + 8
    data = encode(upright.resize((side, side)), "BMP")
    assert len(data) >= TOO_BIG
    return data


@functools.cache
def bad_inputs() -> tuple[Case, ...]:
    """Every case, built once per session (about a second)."""
    astronaut, chelsea, coffee = _skimage("astronaut"), _skimage("chelsea"), _skimage("coffee")
    jpeg, heic_photo = encode(astronaut), heic(astronaut)
    pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
           + b"% astronaut pixels, not a picture format:\n" + np.asarray(astronaut)[::8, ::8].tobytes() + b"\n%%EOF\n")
    cases = (
        Case("not-an-image-pdf", pdf, "application/pdf", "cv.pdf", messages.friendly_rejection(errors.NotAnImage())),
        Case("garbage-claiming-jpeg", np.asarray(astronaut)[:64].tobytes(), "image/jpeg", "selfie.jpg",
             messages.friendly_rejection(errors.NotAnImage())),
        Case("empty", b"", "image/jpeg", "empty.jpg", messages.friendly_rejection(errors.EmptyImage())),
        Case("truncated-jpeg", jpeg[: len(jpeg) // 2], "image/jpeg", "cut.jpg",
             messages.friendly_rejection(errors.TruncatedImage()), photo_like=True),
        Case("one-pixel", encode(astronaut.resize((1, 1)), "PNG"), "image/png", "dot.png",
             messages.friendly_rejection(errors.ImageTooSmall()), photo_like=True),
        Case("decompression-bomb", bomb_png(20_000, 20_000), "image/png", "bomb.png",
             messages.friendly_rejection(errors.TooManyPixels())),
        Case("25-megabytes", _too_big(astronaut), "image/bmp", "huge.bmp",
             messages.friendly_rejection(errors.ImageTooLarge())),
        Case("animated-gif", _animated_gif(astronaut, chelsea, coffee), "image/gif", "me.gif", TRACKS),
        Case("cmyk-jpeg", encode(astronaut.convert("CMYK"), "JPEG", quality=92), "image/jpeg", "cmyk.jpg", TRACKS,
             photo_like=True),
        Case("16-bit-png", _sixteen_bit(astronaut), "image/png", "deep.png", TRACKS, photo_like=True),
        Case("transparent-png", _transparent(astronaut), "image/png", "cutout.png", TRACKS, photo_like=True),
        Case("exif-rotated-jpeg", _exif_rotated(astronaut), "image/jpeg", "sideways.jpg", TRACKS, photo_like=True),
        Case("greyscale-jpeg", encode(astronaut.convert("L"), "JPEG", quality=92), "image/jpeg", "grey.jpg", TRACKS,
             photo_like=True),
        Case("cat", encode(chelsea, "JPEG", quality=92), "image/jpeg", "cat.jpg", messages.NO_FACE,
             photo_like=True),
        Case("group", _group(astronaut, coffee), "image/jpeg", "group.jpg", GROUP, photo_like=True),
        # What phones send as a file: iPhones HEIC, some Android phones AVIF (Telegram sends these as documents).
        Case("heic-selfie", heic_photo, "image/heic", "IMG_4032.HEIC", TRACKS),
        Case("avif-selfie", avif(astronaut), "image/avif", "selfie.avif", TRACKS),
        Case("heic-too-many-pixels", heic_claiming(8000, 8000, astronaut), "image/heic", "huge.heic",
             messages.friendly_rejection(errors.TooManyPixels())),
        Case("corrupt-heic", heic_photo[: len(heic_photo) * 2 // 3], "image/heic", "cut.heic",
             messages.friendly_rejection(errors.TruncatedImage())),
    )
    assert len({c.name for c in cases}) == len(cases)
    return cases


def case_ids(cases) -> list[str]:
    return [c.name for c in cases]


def image_size(case: Case) -> tuple[int, int]:
    """Width and height as a chat app would report them (the 1x1 header, the bomb's claim...); (512, 512) if
    the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(case.data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 — anything unreadable
        return 512, 512


# --- "none is written to disk" ---------------------------------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parent.parent
_SKIP_DIRS = {".venv", ".git", "runs", "__pycache__", "node_modules"}
_SKIP_PREFIXES = ("bash_jobs", "bash_tool_")  # the machine's own job folders in the temp dir: not ours to read
SQLITE_SUFFIXES = (".sqlite3", ".sqlite3-wal", ".sqlite3-shm", ".sqlite3-journal")
_MAX_READ = 64 * 1024 * 1024


def _files(root: Path) -> dict[Path, tuple[int, int]]:
    """Every regular file under ``root`` (path -> (size, mtime_ns)), skipping the venv, git, runs, job folders."""
    found: dict[Path, tuple[int, int]] = {}
    for folder, dirs, names in os.walk(root, onerror=lambda exc: None):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(_SKIP_PREFIXES)]
        for name in names:
            path = Path(folder) / name
            try:
                stat = path.stat(follow_symlinks=False)
            except OSError:
                continue
            if S_ISREG(stat.st_mode):
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


class DiskSnapshot:
    """The files under the system temp dir, the repository and the test's own folders, to compare later.

    ``assert_nothing_written`` fails if (1) a file created or changed since holds the bytes of any case (the
    SQLite files included), or (2) a new file other than the SQLite db/WAL appeared in one of ``own`` folders
    (the test's data dirs, the repo's data/). Elsewhere in the temp dir other processes come and go (TensorFlow's
    autograph sources, other test runs), so there only the content decides.
    """

    def __init__(self, *own: Path) -> None:
        self.own = [Path(p).resolve() for p in (*own, REPO_ROOT / "data")]
        self.roots = sorted({Path(tempfile.gettempdir()).resolve(), REPO_ROOT, *self.own})
        self.before = self._take()

    def _take(self) -> dict[Path, tuple[int, int]]:
        files: dict[Path, tuple[int, int]] = {}
        for root in self.roots:
            if root.is_dir():
                files.update(_files(root))
        return files

    def changed(self) -> list[Path]:
        after = self._take()
        return sorted(p for p, stamp in after.items() if self.before.get(p) != stamp)

    def assert_nothing_written(self, cases) -> None:
        changed = self.changed()
        signatures = [(c.name, s) for c in cases for s in c.signature()]
        holding = []
        for path in changed:
            try:
                with path.open("rb") as f:
                    content = f.read(_MAX_READ)
            except OSError:
                continue
            holding += [f"{path} holds {name}" for name, s in signatures if s in content]
        assert not holding, holding
        strays = [p for p in changed if p not in self.before and not p.name.endswith(SQLITE_SUFFIXES)
                  and any(p.is_relative_to(own) for own in self.own)]
        assert not strays, strays
