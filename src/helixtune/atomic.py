"""Atomic output files: write to a temporary name beside the target, rename when complete.

A crash, Ctrl-C or error never leaves a half-written file under the final name. Temporary files that a
killed run left behind (`.NAME.PID.partial` of a process that no longer runs) are removed by the next run
that writes NAME. An output that is one of the command's inputs, a folder where a file is wanted, or a
file where a folder is wanted is refused with a one-line error before any work is done.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import threading
from pathlib import Path

from helixtune.errors import HelixtuneError, InputFileError

# set by the command line's SIGINT handler: no output is renamed into place after Ctrl-C
interrupted = threading.Event()


def temporary_path_for(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def _process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> None:
    """Remove `.NAME.PID.partial` files or folders beside `path` whose process no longer runs."""
    path = Path(path)
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(\d+)\.partial(\.scratch)?")
    try:
        entries = list(path.parent.iterdir()) if path.parent.is_dir() else []
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _process_is_running(int(match.group(1))):
            with contextlib.suppress(OSError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()


def check_output_file(path: str | os.PathLike) -> Path:
    """Refuse an output file path that is a folder or whose folder is a file; create missing folders."""
    final = Path(path)
    if final.is_dir():
        raise InputFileError(final, "is a folder; the output needs a file name")
    parent = final.parent
    for folder in (parent, *parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise InputFileError(final, f"cannot be written: {folder} is a file, not a folder")
            break
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputFileError(parent, f"folder cannot be created ({err.strerror})") from None
    return final


def output_folder(path: str | os.PathLike) -> Path:
    """Create the output folder `path` (and its parents); refuse a path that is a file."""
    folder = Path(path)
    for existing in (folder, *folder.parents):
        if existing.exists():
            if not existing.is_dir():
                where = "" if existing == folder else f" ({existing} is a file)"
                raise InputFileError(folder, f"is needed as a folder, but it is a file{where}")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(folder, f"folder cannot be created ({err.strerror})") from None
    return folder


def refuse_output_over_input(outputs, inputs) -> None:
    """One-line error when an output path names the same file as an input (also through links or `..`)."""
    existing_inputs = [p for p in inputs if p is not None and os.path.exists(p)]
    for output in outputs:
        if output is None or not os.path.exists(output):
            continue
        for source in existing_inputs:
            try:
                same = os.path.samefile(output, source)
            except OSError:
                continue
            if same:
                shown = f"{output}" if str(output) == str(source) else f"{output} (the same file as {source})"
                raise HelixtuneError(f"{shown}: the output would overwrite an input; choose another output path")


@functools.cache
def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would change it for other threads for a moment)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _respect_umask(tmp: Path) -> None:
    """Give a finished file the permissions the user's umask asks for (some writers create files 0600)."""
    try:
        if tmp.is_file() and not tmp.is_symlink():
            wanted = 0o666 & ~_umask()
            if tmp.stat().st_mode & 0o777 != wanted:
                os.chmod(tmp, wanted)
    except OSError:
        pass


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike):
    """Yield a temporary path; on success rename it to `path`, on any exception remove it."""
    final = check_output_file(path)
    remove_stale_temporaries(final)
    tmp = temporary_path_for(final)
    if tmp.exists():
        tmp.unlink()
    try:
        yield tmp
        if interrupted.is_set():  # Ctrl-C that a library swallowed: still leave the old file as it was
            raise KeyboardInterrupt
        _respect_umask(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def scratch_folder(path: str | os.PathLike):
    """A temporary folder beside the output `path` (`.NAME.PID.partial.scratch`), removed on exit.

    A killed run's scratch folder is removed by the next run that writes NAME.
    """
    path = Path(path)
    remove_stale_temporaries(path)
    folder = path.with_name(f".{path.name}.{os.getpid()}.partial.scratch")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
