"""Check that a file is an image the training and serving graphs can decode."""

import io

from PIL import Image

from components.image_format import sniff_image_format

# Larger images are rejected before decoding (a decompression bomb would exhaust memory).
MAX_PIXELS = 40_000_000


def image_problem(data: bytes) -> str | None:
    """Return why ``data`` is not a usable image, or None if it is one.

    Returns one of: ``empty file``, ``not a JPEG, PNG, GIF or BMP image``,
    ``corrupt <format>: <reason>``, ``too large: WxH``.
    """
    if not data:
        return "empty file"
    kind = sniff_image_format(data[:16])
    if kind is None:
        return "not a JPEG, PNG, GIF or BMP image"
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                return f"too large: {img.width}x{img.height}"
            img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        return f"corrupt {kind}: {err}"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the image header (no decoding)."""
    with Image.open(io.BytesIO(data)) as img:
        return img.width, img.height
