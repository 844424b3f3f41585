"""Writing an archive's files so that a crash (SIGKILL, power loss) leaves either the whole file or none.

A file is written beside its place under a temporary name, flushed to disk, renamed into place, and the
directory is flushed too: the rename is what makes it exist, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

TEMP_SUFFIX = ".tmp"
"""What an unfinished file's name ends with; an archive run removes any it finds before it starts."""


def sha256_hex(data: bytes) -> str:
    """SHA-256 of ``data`` as 64 lower-case hex digits (what ``sha256sum`` prints)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks so a large archive file never sits in memory whole."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries, so a rename into it survives a power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``: temporary file, fsync, rename, fsync of the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + TEMP_SUFFIX)
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)
    fsync_directory(path.parent)
