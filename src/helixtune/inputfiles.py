"""Opening input files that may be gzip- or bgzip-compressed, with one-line errors naming the file."""

from __future__ import annotations

import gzip
import io

from helixtune.errors import InputFileError

GZIP_MAGIC = b"\x1f\x8b"


def open_maybe_gzip(path, kind: str) -> tuple[io.BufferedIOBase, io.BufferedReader]:
    """(decompressed binary stream, raw file) of a plain or gzip file; `kind` names the format in errors.

    The raw file's position tells how far reading has got, for progress bars.
    """
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(path, f"is a directory, not a {kind} file") from None
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror})") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20), raw
    return raw, raw
