"""Recognise image files by their first bytes (no TensorFlow import: cheap to call)."""

# Formats tf.io.decode_image understands, by their leading bytes.
_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
}


def sniff_image_format(head: bytes) -> str | None:
    """Return the image format named by the first bytes of a file, or None."""
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None
