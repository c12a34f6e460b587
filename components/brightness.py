"""Image brightness: the statistic the prepare step records and the Go predictor logs.

Brightness is the mean luma of the decoded image, ``(0.299 R + 0.587 G + 0.114 B) / 255``
averaged over its pixels (ITU-R BT.601 weights on 8-bit RGB), so it lies in [0, 1].
Grayscale, palette and alpha images count as their RGB conversion (alpha dropped:
the colour, whatever its opacity), 16-bit grayscale as its top 8 bits; an animated
GIF counts as its first frame. The Go predictor computes the same
(serving/internal/predlog). The drift monitor
(:mod:`components.monitor.drift`) compares the served images' brightness with the
training images' histogram over :data:`BRIGHTNESS_EDGES`.
"""

import io
from bisect import bisect_right
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageStat

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
BRIGHTNESS_EDGES = [round(i / 10, 1) for i in range(11)]
"""Ten equal bins over [0, 1]; the last one includes 1.0."""


def mean_luma(data: bytes) -> float:
    """The brightness of an encoded image (JPEG, PNG, GIF or BMP) in [0, 1]."""
    with Image.open(io.BytesIO(data)) as img:
        if img.mode.startswith("I"):
            # 16-bit grayscale: PIL's RGB conversion would clip it at 255; reduce it to
            # 8 bits as Go's colour models do (v >> 8), so both sides agree.
            return float((np.asarray(img, dtype=np.uint32) >> 8).mean()) / 255
        rgb = img.convert("RGB")
    # Per-channel means from the band histograms: exact, and no float copy of the pixels.
    means = ImageStat.Stat(rgb).mean
    return sum(w * m for w, m in zip(LUMA_WEIGHTS, means, strict=True)) / 255


def bin_index(value: float, edges: list[float]) -> int:
    """The bin of ``edges`` that ``value`` falls in; values outside go to the end bins."""
    return min(max(bisect_right(edges, value) - 1, 0), len(edges) - 2)


def histogram(values: Iterable[float], edges: list[float] = BRIGHTNESS_EDGES) -> dict[str, list]:
    """``{"edges": [...], "counts": [...]}``: how many ``values`` fall in each bin."""
    counts = [0] * (len(edges) - 1)
    for value in values:
        counts[bin_index(value, edges)] += 1
    return {"edges": list(edges), "counts": counts}
