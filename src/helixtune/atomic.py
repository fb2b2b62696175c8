"""Atomic output files: write to a temporary name beside the target, rename when complete.

A crash, Ctrl-C or error never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def temporary_path_for(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike):
    """Yield a temporary path; on success rename it to `path`, on any exception remove it."""
    final = Path(path)
    if final.parent and not final.parent.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path_for(final)
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.replace(tmp, final)
