"""User-facing errors.

Anything a user can cause (a bad file, a wrong option) raises `HelixtuneError` with a one-line message
that names the file, the line or record, and what is wrong. The command-line entry point prints it
and exits non-zero, without a traceback.
"""

import os
import re


class HelixtuneError(Exception):
    """An error caused by the user's input; its message is shown as is, on one line."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class InputFileError(HelixtuneError):
    """A file that is missing, unreadable or malformed."""

    def __init__(self, path, problem: str, where: str | None = None):
        location = f"{path}" if where is None else f"{path}, {where}"
        super().__init__(f"{location}: {problem}")
        self.path = path
        self.problem = problem


# errno values that mean "the output cannot be written": disk full, file too large, quota, permission, read-only
_WRITE_ERRNOS = {"ENOSPC": "no space left on the disk", "EFBIG": "file too large (disk full or size limit)",
                 "EDQUOT": "disk quota exceeded", "EACCES": "permission denied", "EPERM": "permission denied",
                 "EROFS": "read-only file system"}


# a system error reported inside another library's message: HDF5 ("errno = 28"), safetensors ("os error 28")
SYSTEM_ERROR_IN_TEXT = re.compile(r"errno = (\d+)|\(os error (\d+)\)")


def _final_name(path: str) -> str:
    """A temporary output name (`.NAME.PID.partial`, see `helixtune.atomic`) -> the final name the user gave."""
    import os
    import re

    head, tail = os.path.split(path)
    match = re.fullmatch(r"\.(.+)\.\d+\.partial", tail)
    return os.path.join(head, match.group(1)) if match else path


def _h5_object_in_traceback(error: BaseException):
    """The innermost h5py dataset or file that was being read or written when `error` was raised, or None."""
    try:
        import h5py
    except ImportError:  # pragma: no cover
        return None
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            if isinstance(value, (h5py.Dataset, h5py.File, h5py.Group)):
                found = value
        traceback = traceback.tb_next
    return found


def _atomic_output_in_traceback(error: BaseException) -> str | None:
    """The final name of the innermost temporary output (`.NAME.PID.partial`) in the frames `error` passed."""
    import re
    from pathlib import PurePath

    found = None
    traceback = error.__traceback__
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            if isinstance(value, (str, PurePath)) and re.fullmatch(r"\.(.+)\.\d+\.partial",
                                                                  os.path.basename(str(value))):
                found = str(value)
        traceback = traceback.tb_next
    return found


def _written_file_in_traceback(error: BaseException) -> str | None:
    """The name of the innermost open file being written when `error` was raised, or None."""
    import io

    found = None
    traceback = error.__traceback__
    while traceback is not None:
        for value in traceback.tb_frame.f_locals.values():
            if isinstance(value, io.IOBase):
                mode = str(getattr(value, "mode", ""))
                name = getattr(value, "name", None)
                if isinstance(name, (str, bytes)) and any(flag in mode for flag in "wax+"):
                    found = os.fsdecode(name)
        traceback = traceback.tb_next
    return found


def describe_os_error(error: BaseException) -> str:
    """One line naming the file and the problem of an OSError raised anywhere (plain I/O, HDF5, BAM).

    Also for h5py's RuntimeErrors that carry a system error in their text ("errno = 27, ...").
    """
    import errno
    import re

    text = str(error)
    code = getattr(error, "errno", None)
    system_error = SYSTEM_ERROR_IN_TEXT.search(text)
    if code is None and system_error:
        code = int(system_error.group(1) or system_error.group(2))
    reason = _WRITE_ERRNOS.get(errno.errorcode.get(code or 0, ""))
    filename = getattr(error, "filename", None)
    if reason is not None and getattr(error, "filename2", None) is not None:
        filename = error.filename2  # copying: the target is what cannot be written
    # HDF5's driver errors carry the file name and the system's message in their text
    h5_file = re.search(r"filename = '([^']*)'", text)
    h5_message = re.search(r"error message = '([^']*)'", text)
    if filename is None and h5_file:
        filename = h5_file.group(1)
    if h5_message and reason is None:
        message = h5_message.group(1).lower()
        reason = next((r for r in _WRITE_ERRNOS.values() if r.split(" (")[0] in message), None) or message
    if filename is not None:
        filename = _final_name(str(filename))
        if reason is not None:
            action = "cannot be written" if reason != "permission denied" else "cannot be opened"
            return f"{filename}: {action}: {reason}"
        return f"{filename}: {error.strerror or text.splitlines()[0]}"
    if reason is not None:  # a write failed: name the output (h5 objects of a failed file must not be touched)
        written = _atomic_output_in_traceback(error) or _written_file_in_traceback(error)
        if written is not None:
            return f"{_final_name(written)}: cannot be written: {reason}"
        return f"output cannot be written: {reason}"
    h5_object = _h5_object_in_traceback(error)
    if h5_object is not None:
        try:
            where = f"{_final_name(h5_object.file.filename)}, {h5_object.name}"
        except Exception:  # a closed object: no name left
            where = "an h5 file"
        first = text.splitlines()[0] if text else type(error).__name__
        if re.search(r"(?i)can't (read|decompress)|inflate|filter|checksum|read failed|wrong b-tree|bad", first):
            return f"{where}: data cannot be read; the file is damaged ({first})"
        return f"{where}: {first}"
    return text.splitlines()[0] if text else type(error).__name__


class DamagedFileError(InputFileError, OSError):
    """Data of an h5 file that cannot be read (a corrupt chunk): names the file and the dataset.

    Also an OSError, so code that handles h5py's read errors handles it as before.
    """


def _damaged(dataset, error: OSError) -> DamagedFileError:
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DamagedFileError(_final_name(dataset.file.filename),
                            f"data of {dataset.name} cannot be read; the file is damaged ({first})")


def name_h5_read_errors():
    """Make h5py's read errors (corrupt chunk, failed filter) name the file and dataset (the CLI installs it).

    Returns a function that undoes it.
    """
    import functools

    import h5py

    originals = {name: getattr(h5py.Dataset, name) for name in ("__getitem__", "read_direct")}

    def wrap(original):
        @functools.wraps(original)
        def read(self, *args, **kwargs):
            try:
                return original(self, *args, **kwargs)
            except DamagedFileError:
                raise
            except OSError as error:
                if error.errno is not None:  # a system error (e.g. a vanished file): not the data
                    raise
                raise _damaged(self, error) from None
        return read

    for name, original in originals.items():
        setattr(h5py.Dataset, name, wrap(original))

    def undo():
        for name, original in originals.items():
            setattr(h5py.Dataset, name, original)
    return undo
