"""Image intake: bytes in, an upright RGB PIL image out, or a typed ImageRejected. Never touches disk."""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from moodtunes.core.errors import EmptyImage, ImageTooLarge, ImageTooSmall, NotAnImage, TooManyPixels, TruncatedImage

if TYPE_CHECKING:
    from moodtunes.core.settings import Settings

# iPhones save photos as HEIC (HEVC in HEIF): pillow-heif reads them. Only the primary picture is wanted, so the
# thumbnails, depth maps and auxiliary images a phone stores beside it are not decoded. AVIF is Pillow's own.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Pillow format ids; JPEG covers multi-picture (MPO) phone photos. PHOTO_FORMATS names them for people.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "BMP", "GIF")
PHOTO_FORMATS = "JPEG, PNG, WebP, HEIC/HEIF, AVIF, BMP or GIF"


ORIGINAL_SIZE = "moodtunes_original_size"  # key in Image.info: (width, height) before any draft reduction


def load_image(data: bytes, *, max_bytes: int = 20 * 1024 * 1024, max_pixels: int = 40_000_000,
               min_side: int = 32, draft_side: int | None = None) -> Image.Image:
    """Decode photo bytes into an RGB image with EXIF orientation applied.

    The dimensions are read from the header (for HEIF and AVIF: the ``ispe`` property) and checked before
    any pixel is decoded, so a decompression bomb is refused without being expanded. With ``draft_side``, a
    large JPEG is decoded directly at a reduced scale (DCT scaling) that still keeps both sides >= draft_side.
    """
    if not data:
        raise EmptyImage("the file is empty")
    if len(data) > max_bytes:
        raise ImageTooLarge(f"{len(data)} bytes is over the {max_bytes}-byte limit")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning; our pixel limit below is the one that decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(str(exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise NotAnImage(f"not a {PHOTO_FORMATS} image") from exc

    width, height = image.size
    if width * height > max_pixels:
        raise TooManyPixels(f"{width}x{height} is over the {max_pixels}-pixel limit")
    if min(width, height) < min_side:
        raise ImageTooSmall(f"{width}x{height} is smaller than {min_side} pixels on a side")
    try:
        image.seek(0)  # GIF / WebP animations: the first frame
        if draft_side and image.format == "JPEG" and min(width, height) > 2 * draft_side:
            image.draft("RGB", (draft_side, draft_side))
        image.load()
        reduction = width / image.width
        image = ImageOps.exif_transpose(image)
        rgb = _to_rgb(image)
        rgb.info[ORIGINAL_SIZE] = (round(rgb.width * reduction), round(rgb.height * reduction))
        return rgb
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise TruncatedImage("the image data is cut short or corrupt") from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any mode (palette, CMYK, 16-bit, alpha) onto RGB; transparency becomes white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale to 8 bits instead of clipping to white.
        import numpy as np

        array = np.asarray(image, dtype=np.float64)
        peak = array.max() or 1.0
        scale = 255.0 / (65535.0 if peak > 255 else max(peak, 255.0))
        return Image.fromarray((array * scale).clip(0, 255).astype("uint8"), "L").convert("RGB")
    return image.convert("RGB")


def decode_photo(data: bytes, settings: Settings) -> Image.Image:
    """``load_image`` within the configured limits: what the pipeline sees of a photo (no model needed)."""
    return load_image(data, max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
                      min_side=settings.min_image_side, draft_side=settings.detect_max_side)
