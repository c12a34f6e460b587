"""What both client scripts do with BYTES tensors: images in, text out."""

import base64


def read_images(paths: list[str], binary: bool) -> list[bytes]:
    """The files' bytes; base64 of them for JSON, which carries text only."""
    images = [open(p, "rb").read() for p in paths]
    return images if binary else [base64.b64encode(b) for b in images]


def text(value: bytes | str) -> str:
    """BYTES elements come back as bytes in binary mode and as str in JSON mode."""
    return value.decode() if isinstance(value, bytes) else value
