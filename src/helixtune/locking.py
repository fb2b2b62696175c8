"""Exclusive locks on files and run folders that a command updates in place.

Two `add-coverage` runs on one h5 file, or two `train` runs in one run folder, would each read the old
state and the last one to finish would silently drop the other's work. A command that updates a file or
folder in place holds an exclusive `flock` on it for its whole run; a second one is refused at once with
a one-line error. The lock goes with the process: a killed run leaves nothing to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError


def _refusal(path, what: str) -> HelixtuneError:
    return HelixtuneError(f"{path}: another helixtune command is {what} it right now; wait until it has "
                          f"finished, or use another {'folder' if Path(path).is_dir() else 'file'}")


@contextlib.contextmanager
def locked(path: str | os.PathLike, what: str = "writing to"):
    """Hold an exclusive lock on the existing file or folder `path`, or refuse at once if another process has it.

    A file that is replaced by rename while we wait is a new file: the lock is taken again on the new one,
    so a lock is always on the file that the path names now.
    """
    path = Path(path)
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
        except FileNotFoundError:
            raise InputFileError(path, "no such file") from None
        except OSError as err:
            raise InputFileError(path, f"cannot be opened ({err.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _refusal(path, what) from None
        except OSError:  # a file system without locks: go on unlocked, as before
            os.close(fd)
            yield
            return
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev):
            break
        os.close(fd)  # replaced between open and lock: lock the file the path names now
        if now is None:
            raise InputFileError(path, "no such file")
    try:
        yield
    finally:
        os.close(fd)


def is_worker_process() -> bool:
    """True in the extra processes of a multi-device (DDP) run, which must not take the run's locks."""
    return os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
