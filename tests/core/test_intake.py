"""Image intake on real photos and real malformed bytes."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from moodtunes.core import errors
from moodtunes.core.intake import load_image
from tests.helpers import avif, bomb_png, encode, heic, heic_claiming


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF"])
def test_accepts_common_formats_as_rgb(astronaut_image, fmt):
    image = load_image(encode(astronaut_image, fmt))
    assert image.mode == "RGB"
    assert image.size == astronaut_image.size


@pytest.mark.parametrize("encoder", [heic, avif], ids=["HEIC", "AVIF"])
def test_accepts_phone_formats_as_rgb(astronaut_image, encoder):
    """HEIC (iPhones) and AVIF, encoded here by real encoders: read like any photo, with the same pixels."""
    image = load_image(encoder(astronaut_image))
    assert image.mode == "RGB" and image.size == astronaut_image.size
    difference = np.abs(np.asarray(image, dtype=float) - np.asarray(astronaut_image, dtype=float))
    assert difference.mean() < 6  # lossy, but the astronaut and not something else


def test_heic_orientation_is_applied_once(astronaut_image):
    """A phone photo taken sideways: the HEIF transform turns it upright, and no EXIF tag turns it again."""
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = astronaut_image.resize((600, 400))
    buffer = io.BytesIO()
    Image.open(io.BytesIO(heic(sideways))).save(buffer, "HEIF", exif=exif.tobytes())
    assert load_image(buffer.getvalue()).size == (400, 600)


def test_gif_first_frame(astronaut_image):
    frames = [astronaut_image, Image.new("RGB", astronaut_image.size, (255, 0, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    first = np.asarray(load_image(buffer.getvalue()), dtype=float)
    # The first frame is the astronaut, not the solid red second frame.
    assert first[..., 1].mean() > 40 and abs(first[..., 0].mean() - 255) > 50


def test_exif_orientation_is_applied(astronaut_image):
    wide = astronaut_image.resize((600, 400))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers turn it 90 degrees clockwise
    image = load_image(encode(wide, "JPEG", exif=exif.tobytes()))
    assert image.size == (400, 600)


def test_transparency_becomes_white():
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert load_image(encode(rgba, "PNG")).getpixel((5, 5)) == (255, 255, 255)


def test_cmyk_and_16_bit_and_grey(astronaut_image):
    assert load_image(encode(astronaut_image.convert("CMYK"), "JPEG")).mode == "RGB"
    sixteen = Image.fromarray(np.asarray(astronaut_image.convert("L"), dtype=np.uint16) * 257)
    assert sixteen.mode == "I;16"
    rgb = np.asarray(load_image(encode(sixteen, "PNG")))
    assert 50 < rgb.mean() < 200  # scaled to 8 bits, not clipped to white
    assert load_image(encode(astronaut_image.convert("L"), "JPEG")).mode == "RGB"


def test_empty_bytes():
    with pytest.raises(errors.EmptyImage):
        load_image(b"")


def test_not_an_image():
    with pytest.raises(errors.NotAnImage):
        load_image(b"%PDF-1.7\n" + b"x" * 1000)


def test_truncated_jpeg(astronaut_jpeg):
    with pytest.raises(errors.TruncatedImage):
        load_image(astronaut_jpeg[: len(astronaut_jpeg) // 2])


def test_too_many_bytes(astronaut_jpeg):
    with pytest.raises(errors.ImageTooLarge):
        load_image(astronaut_jpeg, max_bytes=len(astronaut_jpeg) - 1)


def test_too_small():
    with pytest.raises(errors.ImageTooSmall):
        load_image(encode(Image.new("RGB", (1, 1)), "PNG"))


def test_decompression_bomb_is_refused_before_decoding():
    bomb = bomb_png(20_000, 20_000)  # 400 megapixels in a file of a few hundred bytes
    assert len(bomb) < 10_000
    with pytest.raises(errors.TooManyPixels):
        load_image(bomb)


def test_pixel_limit_is_configurable(astronaut_jpeg):
    with pytest.raises(errors.TooManyPixels):
        load_image(astronaut_jpeg, max_pixels=512 * 512 - 1)


@pytest.mark.parametrize("encoder", [heic, avif], ids=["HEIC", "AVIF"])
def test_pixel_limit_applies_to_phone_formats(astronaut_image, encoder):
    data = encoder(astronaut_image)
    with pytest.raises(errors.TooManyPixels):
        load_image(data, max_pixels=512 * 512 - 1)
    assert load_image(data, max_pixels=512 * 512).size == (512, 512)


@pytest.mark.parametrize("side", [8000, 20_000], ids=["over-our-limit", "over-pillows-limit"])
def test_heic_claiming_too_many_pixels_is_refused_before_decoding(side):
    """64 MP is over our 40 MP limit but under Pillow's own alarm; 400 MP is over both. The file's picture is
    small, so decoding it would fail with a size mismatch: TooManyPixels shows that the header decided."""
    with pytest.raises(errors.TooManyPixels):
        load_image(heic_claiming(side, side))


def test_corrupt_heic(astronaut_image):
    data = heic(astronaut_image)
    with pytest.raises(errors.TruncatedImage):  # the header is whole, the coded picture is cut short
        load_image(data[: len(data) * 2 // 3])
    with pytest.raises(errors.NotAnImage):  # not even the header is left
        load_image(data[:200])


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_only_raise_typed_errors(data):
    with contextlib.suppress(errors.ImageRejected):
        load_image(data)


@hsettings(max_examples=150, deadline=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_photos_only_raise_typed_errors(astronaut_jpeg, data):
    raw = bytearray(astronaut_jpeg[:6000])
    for _ in range(data.draw(st.integers(1, 20))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    try:
        image = load_image(bytes(raw[:cut]))
        assert image.mode == "RGB"
    except errors.ImageRejected:
        pass
