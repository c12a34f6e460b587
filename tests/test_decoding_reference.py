"""The serving graph's decoding and resizing (components/imaging.py, baked into every exported
SavedModel) against a reference that shares no code with it: Pillow decodes, and a numpy
bilinear resize written from TensorFlow's documented semantics (half-pixel centres, no
antialiasing) resizes. Committed golden pixels (tests/golden/) catch a silent change in
TensorFlow's decoders or resize between releases.

Stated tolerances: PNG and BMP decode exactly; JPEG decoders may differ by their IDCT, so
Pillow's and TensorFlow's pixels may differ by at most 8 levels and 1.5 on average; the
resize of the same pixels agrees within 1e-3.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from components.imaging import decode_batch

GOLDEN = Path(__file__).resolve().parent / "golden"
IMAGES = ["gradient.png", "gradient.bmp", "gradient.jpg"]
SIZES = [8, 17, 32, 224]  # down, odd, down, up from 60x45


def reference_resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize to ``size`` x ``size`` as tf.image.resize documents it (TF2):
    sample at ``(i + 0.5) * in / out - 0.5``, clamp to the edge, interpolate linearly."""

    def axis(in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = (np.arange(size) + 0.5) * (in_size / size) - 0.5
        floor = np.floor(src)
        lower = np.clip(floor, 0, in_size - 1).astype(int)
        upper = np.clip(np.ceil(src), 0, in_size - 1).astype(int)
        return lower, upper, (src - floor)[:, None]

    p = pixels.astype(np.float64)
    y0, y1, wy = axis(p.shape[0])
    x0, x1, wx = axis(p.shape[1])
    top = p[y0][:, x0] + (p[y0][:, x1] - p[y0][:, x0]) * wx[None, :, :]
    bottom = p[y1][:, x0] + (p[y1][:, x1] - p[y1][:, x0]) * wx[None, :, :]
    return (top + (bottom - top) * wy[:, :, None]).astype(np.float32)


def _served_pixels(name: str, size: int) -> np.ndarray:
    encoded = np.array([(GOLDEN / name).read_bytes()], dtype=object)
    return np.asarray(decode_batch(encoded, size))[0]


def _pillow(name: str) -> np.ndarray:
    return np.asarray(Image.open(GOLDEN / name).convert("RGB"))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", IMAGES)
def test_serving_pixels_equal_pillow_and_a_separate_bilinear_resize(name, size):
    served = _served_pixels(name, size)
    reference = reference_resize(_pillow(name), size)
    assert served.shape == reference.shape == (size, size, 3)
    diff = np.abs(served - reference)
    if name.endswith(".jpg"):
        assert diff.max() <= 8 and diff.mean() <= 1.5, (diff.max(), diff.mean())
    else:
        assert diff.max() <= 1e-3, diff.max()


def test_the_reference_resize_is_not_trivially_equal():
    # The checks above must be able to fail: nearest-neighbour (a wrong method) or
    # corner-aligned sampling (TF1's default) differ from the reference by far more.
    pixels = _pillow("gradient.png")
    good = reference_resize(pixels, 32)
    nearest = np.asarray(Image.fromarray(pixels).resize((32, 32), Image.NEAREST), np.float32)
    assert np.abs(good - nearest).max() > 8
    rows = np.linspace(0, pixels.shape[0] - 1, 32).round().astype(int)
    cols = np.linspace(0, pixels.shape[1] - 1, 32).round().astype(int)
    corners = pixels[rows][:, cols].astype(np.float32)
    assert np.abs(good - corners).max() > 8


def test_tensorflow_decodes_and_resizes_the_golden_images_as_committed():
    golden = json.loads((GOLDEN / "pixels.json").read_text())
    for name in IMAGES:
        import tensorflow as tf

        decoded = tf.io.decode_image((GOLDEN / name).read_bytes(), channels=3).numpy()
        assert hashlib.sha256(decoded.tobytes()).hexdigest() == golden[name]["decoded_sha256"], name
        resized = _served_pixels(name, 8)
        np.testing.assert_allclose(resized, np.array(golden[name]["resized_8"]), atol=1e-3)


def write_golden() -> None:
    """Regenerate pixels.json from this TensorFlow (after checking the change is intended)."""
    import tensorflow as tf

    golden = {}
    for name in IMAGES:
        decoded = tf.io.decode_image((GOLDEN / name).read_bytes(), channels=3).numpy()
        golden[name] = {
            "decoded_sha256": hashlib.sha256(decoded.tobytes()).hexdigest(),
            "resized_8": np.round(_served_pixels(name, 8), 3).tolist(),
        }
    (GOLDEN / "pixels.json").write_text(json.dumps(golden) + "\n")


if __name__ == "__main__":
    write_golden()
