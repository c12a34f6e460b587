"""Writes a FileDescriptorSet of the given .proto files and everything they import.

The upstream protocol definitions come from pinned Python packages, not a network copy of
their repositories: every generated ``*_pb2.py`` module carries its .proto file's
serialized ``FileDescriptorProto`` (the argument of ``AddSerializedFile``). This script
reads those bytes from wheels (zip files) and installed package directories without
importing the modules, so it needs only ``protobuf``.

Usage::

    descriptor_set.py --out set.pb --source WHEEL_OR_DIR... --root FILE.proto...
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import (
    any_pb2,
    descriptor_pb2,
    duration_pb2,
    empty_pb2,
    struct_pb2,
    timestamp_pb2,
    wrappers_pb2,
)

_SOURCE = re.compile(rb"^# source: (\S+\.proto)\s*$", re.MULTILINE)
_SERIALIZED = re.compile(
    rb"AddSerializedFile\(\s*(b(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))\s*\)", re.DOTALL
)
# protobuf's own well-known types, taken from the protobuf package itself.
_WELL_KNOWN = {
    m.DESCRIPTOR.name: m.DESCRIPTOR
    for m in (any_pb2, duration_pb2, timestamp_pb2, wrappers_pb2, struct_pb2, empty_pb2)
}


def _pb2_modules(source: Path) -> Iterator[tuple[str, bytes]]:
    """Yields (location, text) for each ``*_pb2.py`` in a wheel or directory."""
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            for name in wheel.namelist():
                if name.endswith("_pb2.py"):
                    yield f"{source.name}:{name}", wheel.read(name)
    else:
        for path in sorted(source.rglob("*_pb2.py")):
            yield str(path), path.read_bytes()


def _index(sources: list[Path]) -> dict[str, tuple[str, bytes]]:
    """Maps each .proto file name to the first module that carries it."""
    found: dict[str, tuple[str, bytes]] = {}
    for source in sources:
        for location, text in _pb2_modules(source):
            match = _SOURCE.search(text)
            if match:
                found.setdefault(match.group(1).decode(), (location, text))
    return found


def _parse(proto: str, location: str, text: bytes) -> descriptor_pb2.FileDescriptorProto:
    match = _SERIALIZED.search(text)
    if not match:
        raise SystemExit(f"descriptor_set: no AddSerializedFile in {location} ({proto})")
    fd = descriptor_pb2.FileDescriptorProto.FromString(
        ast.literal_eval(match.group(1).decode("latin-1"))
    )
    if fd.name != proto:
        raise SystemExit(f"descriptor_set: {location} says it is {proto} but carries {fd.name}")
    return fd


def build(sources: list[Path], roots: list[str]) -> descriptor_pb2.FileDescriptorSet:
    """The roots and their imports, each file after the files it imports."""
    index = _index(sources)
    done: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    out = descriptor_pb2.FileDescriptorSet()

    def visit(proto: str, chain: tuple[str, ...]) -> None:
        if proto in done:
            return
        if proto in _WELL_KNOWN:
            fd = descriptor_pb2.FileDescriptorProto()
            _WELL_KNOWN[proto].CopyToProto(fd)
        elif proto in index:
            fd = _parse(proto, *index[proto])
        else:
            raise SystemExit(
                f"descriptor_set: {proto} (imported by {' <- '.join(reversed(chain))})"
                " is in none of the sources"
            )
        done[proto] = fd
        for dep in fd.dependency:
            visit(dep, (*chain, proto))
        out.file.append(fd)

    for root in roots:
        visit(root, ())
    return out


def main(argv: list[str]) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--source", type=Path, nargs="+", required=True)
    parser.add_argument("--root", nargs="+", required=True)
    args = parser.parse_args(argv)
    fds = build(args.source, args.root)
    args.out.write_bytes(fds.SerializeToString(deterministic=True))
    for fd in fds.file:
        print(fd.name)


if __name__ == "__main__":
    main(sys.argv[1:])
