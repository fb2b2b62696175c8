"""Reading FASTA files (plain or gzip/bgzip), streaming, with one-line errors for malformed input.

Rules follow upstream (GeenuFF's FASTA parser as used by fasta2h5): the sequence id is the header text up
to the first whitespace, sequences are upper-cased, and every character must be a nucleotide or an IUPAC
ambiguity code (upstream raises a KeyError on anything else; we name the file, line and character).
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from typing import Iterator

from helixtune.errors import InputFileError
from helixtune.inputfiles import open_maybe_gzip

# nucleotides and IUPAC ambiguity codes accepted in sequences (upper and lower case)
IUPAC_CODES = b"ACGTNYRWSKMDVHB"
_VALID = IUPAC_CODES + IUPAC_CODES.lower()
_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True)
class FastaHeader:
    seqid: str
    line_number: int


READ_BLOCK = 1 << 20


def iter_fasta_stream(path, on_progress=None) -> Iterator[FastaHeader | bytes]:
    """Yield a `FastaHeader` for each record, then pieces of its sequence (upper-cased, validated bytes).

    The file is read in blocks of about 1 MB, so memory stays small whatever the size of a record; this is
    the streaming primitive the encoder builds on. `on_progress`, if given, is called after each block with
    the number of bytes of the (possibly compressed) file read so far.
    """
    parser = _BlockParser(path)
    stream, raw = open_maybe_gzip(path, "FASTA")
    carry = b""
    try:
        with stream, raw:
            while True:
                block = stream.read(READ_BLOCK)
                data = carry + block
                if block:
                    cut = data.rfind(b"\n") + 1
                    data, carry = data[:cut], data[cut:]
                yield from parser.parse(data)
                if on_progress is not None:
                    on_progress(raw.tell())
                if not block:
                    break
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        where = f"after line {parser.line_number}" if parser.line_number else "before the first complete line"
        raise InputFileError(path, f"corrupt or truncated gzip data {where} ({err})") from None
    if not parser.seen:
        if parser.line_number == 0 and not parser.any_content:
            raise InputFileError(path, "file is empty")
        raise InputFileError(path, "no FASTA records found")


class _BlockParser:
    """Parses blocks of whole lines; keeps the line count, the ids seen and whether a record is open."""

    def __init__(self, path):
        self.path = path
        self.seen: dict[str, int] = {}
        self.line_number = 0  # lines completely consumed
        self.in_record = False
        self.any_content = False

    def parse(self, data: bytes) -> Iterator[FastaHeader | bytes]:
        position, size = 0, len(data)
        self.any_content = self.any_content or size > 0
        while position < size:
            if data[position] == 0x3E:  # '>'
                end = data.find(b"\n", position)
                end = size if end < 0 else end + 1
                yield self._header(data[position + 1:end])
                position = end
                continue
            next_header = data.find(b"\n>", position)
            end = size if next_header < 0 else next_header + 1
            piece = self._sequence(data[position:end])
            if piece:
                yield piece
            position = end

    def _header(self, header: bytes) -> FastaHeader:
        self.line_number += 1
        header = header.strip()
        if not header:
            raise InputFileError(self.path, "header without a sequence id", f"line {self.line_number}")
        seqid = header.split()[0].decode("utf-8", errors="replace")
        if seqid in self.seen:
            raise InputFileError(self.path, f"duplicate sequence id '{seqid}' (first at line {self.seen[seqid]})",
                                 f"line {self.line_number}")
        self.seen[seqid] = self.line_number
        self.in_record = True
        return FastaHeader(seqid, self.line_number)

    def _sequence(self, segment: bytes) -> bytes:
        """Whole lines of sequence: whitespace removed, validated, upper-cased."""
        first_line = self.line_number + 1
        self.line_number += segment.count(b"\n")
        sequence = segment.translate(None, _WHITESPACE)
        if not sequence:
            return b""
        if not self.in_record:
            # old-style ';' comments may precede the first record; anything else means this is not FASTA
            for offset, line in enumerate(segment.splitlines()):
                if line.strip() and not line.startswith(b";"):
                    raise InputFileError(self.path, "not a FASTA file (expected a '>' header first)",
                                         f"line {first_line + offset}")
            return b""
        invalid = sequence.translate(None, _VALID)
        if invalid:
            bad_byte = invalid[0]
            line = first_line + segment.count(b"\n", 0, segment.index(bytes([bad_byte])))
            bad = chr(bad_byte) if 32 < bad_byte < 127 else f"byte 0x{bad_byte:02x}"
            raise InputFileError(self.path, f"invalid character '{bad}' in sequence (only nucleotides and IUPAC "
                                            f"codes {IUPAC_CODES.decode()} are allowed)", f"line {line}")
        return sequence.upper()


def iter_fasta(path) -> Iterator[tuple[str, bytes]]:
    """Yield `(seqid, sequence)` per record, the sequence upper-cased bytes (one record in memory)."""
    seqid = None
    pieces: list[bytes] = []
    for item in iter_fasta_stream(path):
        if isinstance(item, FastaHeader):
            if seqid is not None:
                yield seqid, b"".join(pieces)
            seqid, pieces = item.seqid, []
        else:
            pieces.append(item)
    if seqid is not None:
        yield seqid, b"".join(pieces)


def write_fasta(path, records, width: int = 60) -> None:
    """Write `(seqid, sequence)` records (sequence as str or bytes) as FASTA, `width` bases a line; the file
    appears only once complete."""
    from helixtune.atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "w", encoding="ascii", newline="\n") as out:
        for seqid, sequence in records:
            text = sequence.decode() if isinstance(sequence, bytes) else sequence
            out.write(f">{seqid}\n")
            out.writelines(text[i:i + width] + "\n" for i in range(0, len(text), width))
