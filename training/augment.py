"""Training-time augmentation of 48x48 face batches, deterministic in (seed, batch index).

Every random draw is a stateless op seeded by the batch's position in the whole schedule, so a run resumed from
its committed state sees exactly the batches an uninterrupted run would. One projective transform per image
does flip, rotation, scale and shift together (one resampling, not four).
"""

from __future__ import annotations

import math

import tensorflow as tf

# "basic": the default model's recipe; "strong": the 73 % FER2013 papers' geometric augmentation + random erasing.
RECIPES = {
    "basic": {"rotation_deg": 15.0, "scale": (0.9, 1.1), "shift": 0.1, "erase_p": 0.0, "contrast": 0.2},
    "strong": {"rotation_deg": 10.0, "scale": (0.8, 1.2), "shift": 0.2, "erase_p": 0.5, "contrast": 0.0},
}
ERASE_AREA = (0.02, 0.25)  # fraction of the face hidden by random erasing
ERASE_ASPECT = (0.3, 3.3)


def affine_matrices(params: tf.Tensor, size: int) -> tf.Tensor:
    """(n, 8) projective transforms mapping output pixels to input pixels, from (n, 5) draws in [0, 1):
    flip, rotation, scale, shift x, shift y (already scaled to the recipe by :func:`augment_batch`)."""
    flip, angle, scale, dx, dy = tf.unstack(params, axis=1)
    centre = (size - 1) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    sign = tf.where(flip > 0.5, -1.0, 1.0)  # mirror x in the output frame
    # input = R(angle)/scale @ (diag(sign, 1) @ (output - centre)) + centre - shift
    a0, a1 = cos * sign, -sin
    b0, b1 = sin * sign, cos
    a2 = centre - a0 * centre - a1 * centre - dx
    b2 = centre - b0 * centre - b1 * centre - dy
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_batch(images: tf.Tensor, seed: tf.Tensor, recipe: str) -> tf.Tensor:
    """Augment a float32 (n, size, size, 1) batch of 0..255 pixels; ``seed`` is a stateless seed (2 ints)."""
    r = RECIPES[recipe]
    n, size = tf.shape(images)[0], images.shape[1]
    draws = tf.random.stateless_uniform((n, 10), seed=seed)
    rotation = math.radians(r["rotation_deg"])
    params = tf.stack([
        draws[:, 0],
        (draws[:, 1] * 2 - 1) * rotation,
        r["scale"][0] + draws[:, 2] * (r["scale"][1] - r["scale"][0]),
        (draws[:, 3] * 2 - 1) * r["shift"] * size,
        (draws[:, 4] * 2 - 1) * r["shift"] * size,
    ], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=affine_matrices(params, size), output_shape=[size, size],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="NEAREST")
    if r["contrast"]:
        factor = 1 + (draws[:, 5] * 2 - 1) * r["contrast"]
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * factor[:, None, None, None] + mean
    if r["erase_p"]:
        images = random_erasing(images, draws[:, 5:10], r["erase_p"])
    return tf.clip_by_value(images, 0.0, 255.0)


def random_erasing(images: tf.Tensor, draws: tf.Tensor, p: float) -> tf.Tensor:
    """Hide one random rectangle of each chosen image behind mid-grey (random erasing, Zhong et al. 2017)."""
    size = tf.cast(images.shape[1], tf.float32)
    apply, area_draw, aspect_draw, x_draw, y_draw = tf.unstack(draws, axis=1)
    area = (ERASE_AREA[0] + area_draw * (ERASE_AREA[1] - ERASE_AREA[0])) * size * size
    log_lo, log_hi = math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])
    aspect = tf.exp(log_lo + aspect_draw * (log_hi - log_lo))
    height = tf.minimum(tf.sqrt(area * aspect), size)
    width = tf.minimum(tf.sqrt(area / aspect), size)
    top = y_draw * (size - height)
    left = x_draw * (size - width)
    grid = tf.range(size)
    rows = (grid[None, :] >= top[:, None]) & (grid[None, :] < (top + height)[:, None])
    cols = (grid[None, :] >= left[:, None]) & (grid[None, :] < (left + width)[:, None])
    mask = rows[:, :, None] & cols[:, None, :] & (apply < p)[:, None, None]
    grey = tf.fill(tf.shape(images), 127.5)
    return tf.where(mask[..., None], grey, images)
