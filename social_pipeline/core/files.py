"""Replace a file atomically: readers see the old file or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
    _replace(path, content)
    if os.name == "posix":
        _fsync(path.parent)  # the rename itself, durable
    return path


def _replace(path: Path, content: Content) -> None:
    """Stage `content` beside `path`, flush it, rename it over `path` (the folder exists)."""
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


def _holds(path: Path, data: bytes) -> bool:
    """`path` exists and holds exactly `data` (the size first: most changed files differ in it)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


# Threads, not processes: writing, fsync and rename wait on the disk and release the GIL.
FILE_WRITER_THREADS = 8


def write_files_atomically(files: Mapping[Path, str | bytes], threads: int = FILE_WRITER_THREADS) -> list[Path]:
    """Write many files, each as `write_atomically` does, and return the paths rewritten.

    A file that already holds exactly its new content is left alone (its modification time too), so
    writing the same files again rewrites nothing. The others are staged, flushed and renamed on a
    pool of `threads`, then each folder is flushed once rather than once per file. Any failure leaves
    every file either as it was or wholly new, and no temporary file behind."""
    encoded = {Path(p): c.encode("utf-8") if isinstance(c, str) else c for p, c in files.items()}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        unchanged = list(pool.map(lambda item: _holds(*item), encoded.items()))
        changed = [path for path, same in zip(encoded, unchanged, strict=True) if not same]
        folders = sorted({path.parent for path in changed})
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        list(pool.map(lambda path: _replace(path, encoded[path]), changed))
        if os.name == "posix":
            list(pool.map(_fsync, folders))  # the renames, durable
    return changed
