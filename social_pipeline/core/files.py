"""Replace a file atomically: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

# What to write: text (UTF-8), bytes, or a writer that creates the file at the path it is given
# (joblib.dump, a DuckDB ATTACH), for libraries that want a path rather than data.
Content = str | bytes | Callable[[Path], object]


def staging_path(path: Path) -> Path:
    """A unique, hidden name beside `path`: same folder, so same file system, so os.replace is atomic."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str | os.PathLike, content: Content) -> Path:
    """Write `content` under a temporary name beside `path`, flush it to disk, rename it over `path`.

    A failure at any step (the writer raises, the disk fills, the process is interrupted) leaves the
    old file as it was and removes the temporary one. Returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(path)
    try:
        if callable(content):
            content(staging)
        else:
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(staging, "xb") as handle:
                handle.write(data)
        # The data on disk before the rename: after a power cut the name never points at a hole.
        _fsync(staging)
        os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)
    if os.name == "posix":
        _fsync(path.parent)  # the rename itself, durable
    return path
