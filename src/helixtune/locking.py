"""Exclusive locks on files and run folders that a command updates in place.

Two `add-coverage` runs on one h5 file, or two `train` runs in one run folder, would each read the old
state and the last one to finish would silently drop the other's work. A command that updates a file or
folder in place holds an exclusive `flock` on it for its whole run; a second one is refused at once with
a one-line error. The lock goes with the process: a killed run leaves no lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError


def _refusal(path, what: str) -> HelixtuneError:
    return HelixtuneError(f"{path}: another helixtune command is {what} it right now; wait until it has "
                          f"finished, or use another {'folder' if Path(path).is_dir() else 'file'}")


def lock_file_for(path: str | os.PathLike) -> Path:
    """The lock file of a data file: `.NAME.lock` beside it (HDF5 takes its own flock on the file itself)."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: str | os.PathLike, what: str = "writing to"):
    """Hold an exclusive lock on the existing file or folder `path`, or refuse at once if another process has it.

    A folder is locked itself. A file is locked through `.NAME.lock` beside it, which exists only while a
    command holds it (a killed run's stale lock file is taken over, as nobody holds its lock).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "no such file")
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _lock_or_refuse(fd, path, what)
            yield
        finally:
            os.close(fd)
        return
    lock_path = lock_file_for(path)
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:  # e.g. a read-only folder: nobody else can write here either
            if err.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                yield
                return
            raise
        try:
            _lock_or_refuse(fd, path, what)
        except BaseException:
            os.close(fd)
            raise
        try:  # the lock file may have been removed by its last holder between our open and our lock
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)  # while still holding the lock: a waiting opener sees it vanish and retries
        os.close(fd)


def _lock_or_refuse(fd: int, path: Path, what: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _refusal(path, what) from None


def is_worker_process() -> bool:
    """True in the extra processes of a multi-device (DDP) run, which must not take the run's locks."""
    return os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
