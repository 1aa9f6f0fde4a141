"""Writing secret files (keys, sealed blobs): created 0600, written atomically, on disk before they replace the old."""

from __future__ import annotations

import os
from pathlib import Path

SECRET_FILE_MODE = 0o600


def write_secret_file(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data`, never leaving a partial or world-readable file behind."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Unique per writer, so concurrent writers of one path never share a temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
