"""Reading FASTA files (plain or gzip/bgzip), streaming, with one-line errors for malformed input.

Rules follow upstream (GeenuFF's FASTA parser as used by fasta2h5): the sequence id is the header text up
to the first whitespace, sequences are upper-cased, and every character must be a nucleotide or an IUPAC
ambiguity code (upstream raises a KeyError on anything else; we name the file, line and character).
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from typing import Iterator

from helixtune.errors import InputFileError

# nucleotides and IUPAC ambiguity codes accepted in sequences (upper and lower case)
IUPAC_CODES = b"ACGTNYRWSKMDVHB"
_VALID = IUPAC_CODES + IUPAC_CODES.lower()
_WHITESPACE = b" \t\r\n"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FastaHeader:
    seqid: str
    line_number: int


def _open_binary(path) -> tuple[io.BufferedIOBase, io.BufferedReader]:
    """(decompressed stream, raw file); the raw file's position tells how far reading has got."""
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except IsADirectoryError:
        raise InputFileError(path, "is a directory, not a FASTA file") from None
    except OSError as err:
        raise InputFileError(path, f"cannot be read ({err.strerror})") from None
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20), raw
    return raw, raw


def iter_fasta_lines(path, on_progress=None) -> Iterator[FastaHeader | bytes]:
    """Yield a `FastaHeader` for each record, then its sequence lines (upper-cased, validated bytes).

    Memory stays at one line; this is the streaming primitive the encoder builds on. `on_progress`, if
    given, is called now and then with the number of bytes of the (possibly compressed) file read so far.
    """
    seen: dict[str, int] = {}
    in_record = False
    line_number = 0
    stream, raw = _open_binary(path)
    try:
        with stream, raw:
            for line_number, line in enumerate(stream, start=1):
                if on_progress is not None and line_number % 4096 == 0:
                    on_progress(raw.tell())
                if line.startswith(b">"):
                    header = line[1:].strip()
                    if not header:
                        raise InputFileError(path, "header without a sequence id", f"line {line_number}")
                    seqid = header.split()[0].decode("utf-8", errors="replace")
                    if seqid in seen:
                        raise InputFileError(path, f"duplicate sequence id '{seqid}' (first at line {seen[seqid]})",
                                             f"line {line_number}")
                    seen[seqid] = line_number
                    in_record = True
                    yield FastaHeader(seqid, line_number)
                    continue
                sequence = line.translate(None, _WHITESPACE)
                if not sequence:
                    continue
                if not in_record:
                    if line.startswith(b";"):  # old-style FASTA comment before the first record
                        continue
                    raise InputFileError(path, "not a FASTA file (expected a '>' header first)",
                                         f"line {line_number}")
                invalid = sequence.translate(None, _VALID)
                if invalid:
                    bad = chr(invalid[0]) if 32 < invalid[0] < 127 else f"byte 0x{invalid[0]:02x}"
                    raise InputFileError(
                        path, f"invalid character '{bad}' in sequence (only nucleotides and IUPAC codes "
                              f"{IUPAC_CODES.decode()} are allowed)", f"line {line_number}")
                yield sequence.upper()
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise InputFileError(path, f"corrupt or truncated gzip data after line {line_number} ({err})") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "not a FASTA file (binary content)", f"line {line_number}") from None
    if not seen:
        if line_number == 0:
            raise InputFileError(path, "file is empty")
        raise InputFileError(path, "no FASTA records found")


def iter_fasta(path) -> Iterator[tuple[str, bytes]]:
    """Yield `(seqid, sequence)` per record, the sequence upper-cased bytes (one record in memory)."""
    seqid = None
    pieces: list[bytes] = []
    for item in iter_fasta_lines(path):
        if isinstance(item, FastaHeader):
            if seqid is not None:
                yield seqid, b"".join(pieces)
            seqid, pieces = item.seqid, []
        else:
            pieces.append(item)
    if seqid is not None:
        yield seqid, b"".join(pieces)
