"""Compiled networks written once to a file and memory-mapped by every process that uses them.

With ``serve --workers N`` (and the plan workers beside each), every process compiles the
versions it is asked about and keeps them (:mod:`app.services.networks`): N copies of the
same arrays. Instead, the first process to compile a version writes it under
``<data dir>/compiled/`` and every process, the first included, maps that file read-only:
the operating system keeps one copy of its pages for all of them (a street network of a
million places is hundreds of MiB).

The file is the network pickled (protocol 5) with its arrays out of band, each array's
bytes at an aligned offset of the file; reading maps the file and hands those ranges back
to the unpickler, so numpy builds the arrays on the mapped pages without copying them
(read-only: a compiled network is never changed). What each process keeps for itself (a
lock, cached conditions) is not in the file (``Network.__getstate__``).

A file is named by a digest of the version (scenario id, version, creation time, document
digest, counts) and of the code that compiled it (the network and column modules, numpy
and Python versions, :data:`FORMAT`): a file from another database that reused the data
directory, or from another release, is never read. Files are written to a temporary name
and renamed into place, so a process never maps half a file. The directory is a cache:
it may be emptied whenever the service is stopped; the files of a deleted scenario are
removed with it, and the oldest files go when it holds more than twice
``SAFE_PASSAGE_CACHE_BYTES``.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import pickle
import struct
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from app.domain.network import graph
from app.domain.network.graph import Network
from app.domain.scenario import columns
from app.storage.repository import VersionInfo

log = logging.getLogger("safe_passage.networks")

FORMAT = 1
"""Bumped when the file layout changes."""
MAGIC = b"SPNET\x00\x00\x01"
ALIGN = 64
_HEADER = struct.Struct("<8sQ")  # magic, length of the index that follows


@cache
def code_fingerprint() -> str:
    """What a compiled network's layout depends on: the modules that build it, numpy's and
    Python's versions."""
    digest = hashlib.sha256(f"{FORMAT} {np.__version__} {sys.version}".encode())
    for module in (graph, columns):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def version_digest(info: VersionInfo) -> str:
    fields = (
        info.scenario_id,
        info.version,
        info.created_at.isoformat(),
        info.sha256 or "",
        info.node_count,
        info.edge_count,
        code_fingerprint(),
    )
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:32]


class SharedNetworks:
    """Compiled networks as files under ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, budget_bytes: int | None = None) -> None:
        self.directory = directory
        self.budget_bytes = budget_bytes
        self._mapped: weakref.WeakKeyDictionary[Network, int] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def path(self, info: VersionInfo) -> Path:
        safe = hashlib.sha256(info.scenario_id.encode()).hexdigest()[:16]
        return self.directory / f"{safe}-{info.version}-{version_digest(info)}.net"

    def load(self, info: VersionInfo) -> Network | None:
        """The version's network mapped from its file, or None if there is no file yet."""
        try:
            with open(self.path(info), "rb") as f:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # none yet, no directory; ValueError: an empty file
            return None
        view = memoryview(mapped)
        magic, index_length = _HEADER.unpack_from(view)
        if magic != MAGIC:
            return None
        start = _HEADER.size
        main, ranges = pickle.loads(view[start : start + index_length])
        buffers = [view[offset : offset + length] for offset, length in ranges]
        network: Network = pickle.loads(main, buffers=buffers)
        with self._lock:
            self._mapped[network] = len(mapped)
        return network

    def save(self, info: VersionInfo, network: Network) -> None:
        """Write ``network`` as the file of ``info`` (atomically; a file already there wins)."""
        target = self.path(info)
        if target.exists():
            return
        buffers: list[pickle.PickleBuffer] = []
        main = pickle.dumps(network, protocol=5, buffer_callback=buffers.append)
        raws = [b.raw() for b in buffers]
        ranges: list[tuple[int, int]] = []
        index = pickle.dumps((main, ranges), protocol=5)
        # The index holds the offsets, which depend on its own length: size it with
        # placeholders of the largest value first (a few bytes more at most).
        ranges[:] = [(2**62, len(r)) for r in raws]
        offset = _align(_HEADER.size + len(pickle.dumps((main, ranges), protocol=5)))
        ranges.clear()
        for raw in raws:
            ranges.append((offset, len(raw)))
            offset = _align(offset + len(raw))
        index = pickle.dumps((main, ranges), protocol=5)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(_HEADER.pack(MAGIC, len(index)))
                f.write(index)
                for (start, _), raw in zip(ranges, raws, strict=True):
                    f.seek(start)
                    f.write(raw)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._trim(keep=target)

    def _trim(self, keep: Path) -> None:
        """Remove the oldest files while the directory holds more than ``budget_bytes``
        (a process mapping one keeps its pages; the next to need it writes it again)."""
        if self.budget_bytes is None:
            return
        files = []
        for path in self.directory.glob("*.net"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.budget_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size

    def compiled(self, info: VersionInfo, compile: Callable[[], Network]) -> Network:
        """The version's network from its file; else compiled, written and mapped."""
        found = self.load(info)
        if found is not None:
            return found
        network: Network = compile()
        _settle(network)
        try:
            self.save(info, network)
        except OSError as exc:  # a full or read-only disk: this process keeps its own copy
            log.warning("could not write the compiled network of %s: %s", info.scenario_id, exc)
            return network
        return self.load(info) or network

    def size_of(self, network: Network) -> int:
        """Bytes a network takes: its file's size when mapped, else its arrays'."""
        with self._lock:
            mapped = self._mapped.get(network)
        return mapped if mapped is not None else network.nbytes

    def forget(self, scenario_id: str) -> None:
        """Remove the files of every version of a deleted scenario (a process that maps
        one keeps its pages until it lets the network go)."""
        safe = hashlib.sha256(scenario_id.encode()).hexdigest()[:16]
        for path in self.directory.glob(f"{safe}-*.net"):
            path.unlink(missing_ok=True)


def _align(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def _settle(network: Network) -> None:
    """Compute the network's lazily computed structure now, so that it is in the file and
    shared too, rather than computed again in each process."""
    for name, member in vars(type(network)).items():
        if isinstance(member, cached_property):
            getattr(network, name)
