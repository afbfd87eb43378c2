"""Scenario documents as stored: their JSON text and their columns.

Every version is stored twice over in compact form — the JSON text
zlib-compressed (what ``GET`` returns, byte for byte) and the columns as a
compressed ``.npz`` (what a replica compiles from, without parsing JSON). A JSON
upload at least ``large_scenario_bytes`` long is never held whole in memory: it
arrives in a temporary file and is read item by item into columns
(:mod:`app.domain.scenario.reading`); smaller ones and YAML are parsed whole and
go through the same collector. Adding incidents touches only the header and
writes the document anew from the columns.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import json
import zlib
from collections.abc import Iterator
from typing import IO, Any

from app.config import Settings
from app.domain.scenario.columns import CompactScenario
from app.domain.scenario.reading import read_large_scenario
from app.storage.repository import EncodedDocument

CHUNK = 1 << 20
LEVEL = 1
"""zlib level for large documents: fast, and street data compresses well anyway."""


def file_chunks(file: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The rest of ``file`` from its start, in pieces of ``size`` bytes."""
    file.seek(0)
    while chunk := file.read(size):
        yield chunk


def looks_like_json(file: IO[bytes]) -> bool:
    """Whether the upload starts like a JSON object (YAML is always read whole)."""
    file.seek(0)
    head = file.read(4096).lstrip(b" \t\r\n")
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"


def is_large(file: IO[bytes], size: int, fmt: str | None, settings: Settings) -> bool:
    """Whether an upload goes the large way: JSON, and at least ``large_scenario_bytes``."""
    if size < settings.large_scenario_bytes or fmt == "yaml":
        return False
    return looks_like_json(file)


def read_upload(file: IO[bytes], settings: Settings) -> CompactScenario:
    """Parse and validate a large JSON upload into columns (every problem at its pointer)."""
    return read_large_scenario(
        file_chunks(file), max_nodes=settings.max_nodes, max_edges=settings.max_edges
    )


def encode_upload(file: IO[bytes], compact: CompactScenario) -> EncodedDocument:
    """The upload as stored: its own JSON text compressed, and the columns."""
    return _encode(file_chunks(file), compact)


def encode_parsed(document: dict[str, Any], compact: CompactScenario) -> EncodedDocument:
    """A document parsed whole, as stored: its JSON text compressed, and the columns."""
    raw = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return encode_text(raw, compact)


def encode_text(text: bytes, compact: CompactScenario) -> EncodedDocument:
    """A document's JSON text and its columns, as stored."""
    return _encode(iter((text,)), compact)


def _encode(pieces: Iterator[bytes], compact: CompactScenario) -> EncodedDocument:
    packer = zlib.compressobj(LEVEL)
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    for piece in pieces:
        digest.update(piece)
        size += len(piece)
        parts.append(packer.compress(piece))
    parts.append(packer.flush())
    return EncodedDocument(b"".join(parts), size, digest.hexdigest(), compact.to_bytes())


def release_memory() -> None:
    """Hand memory freed after a large upload back to the system (glibc keeps it otherwise).

    Reading a large document makes and drops millions of small objects; without
    this the process would keep their pages and look hundreds of MiB bigger.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def decompressed(blob: bytes, size: int = CHUNK) -> Iterator[bytes]:
    """A stored document's JSON text, in pieces (never whole in memory)."""
    unpacker = zlib.decompressobj()
    for start in range(0, len(blob), size):
        piece = unpacker.decompress(blob[start : start + size])
        if piece:
            yield piece
    tail = unpacker.flush()
    if tail:
        yield tail
