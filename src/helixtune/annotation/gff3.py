"""Reading GFF3 files line by line into validated records, with one-line errors naming the line.

Rules (upstream GeenuFF's reader, with its crashes turned into messages):
- blank lines and lines starting with `#` are skipped; reading stops at a `##FASTA` directive
  (upstream would try to parse the sequence lines as features);
- a feature line has exactly 9 tab-separated columns; columns are stripped;
- start and end are positive integers with start <= end; strand is `+`, `-`, `.` or `?`;
  phase is `.`, 0, 1 or 2; score is `.` or a number;
- attributes are `key=value` pairs separated by `;`, values split on `,` (no URL-decoding, like upstream;
  a piece without `=` is ignored).
Files may be plain text or gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from typing import Iterator

from helixtune.errors import InputFileError
from helixtune.inputfiles import open_maybe_gzip

STRANDS = ("+", "-", ".", "?")


@dataclass
class GffRecord:
    """One feature line of a GFF3 file (GFF coordinates: 1-based, inclusive)."""

    line_number: int
    seqid: str
    source: str
    type: str
    start: int
    end: int
    score: float | None
    strand: str
    phase: int | None
    attributes: dict[str, list[str]]

    @property
    def id(self) -> str | None:
        values = self.attributes.get("ID")
        return values[0] if values else None

    @property
    def parents(self) -> list[str]:
        return self.attributes.get("Parent", [])


def open_text(path) -> io.TextIOBase:
    """Open a plain or gzip-compressed text file, with a one-line error if it cannot be opened."""
    stream, _ = open_maybe_gzip(path, "GFF3")
    return io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline=None)


def parse_attributes(text: str) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    for piece in text.split(";"):
        if "=" not in piece:
            continue  # e.g. after a trailing ';'
        key, _, value = piece.partition("=")
        key = key.strip()
        if key and key not in attributes:  # the first occurrence wins, as upstream's ID lookup
            attributes[key] = [v.strip() for v in value.split(",")]
    return attributes


def parse_line(path, line_number: int, line: str) -> GffRecord:
    """Parse one feature line; raise `InputFileError` naming the line for anything malformed."""
    where = f"line {line_number}"
    columns = [c.strip() for c in line.rstrip("\r\n").split("\t")]
    if len(columns) != 9:
        hint = " (truncated line?)" if len(columns) < 9 else ""
        raise InputFileError(path, f"expected 9 tab-separated columns, found {len(columns)}{hint}", where)
    seqid, source, ftype, start_text, end_text, score_text, strand, phase_text, attribute_text = columns
    if not seqid:
        raise InputFileError(path, "empty seqid (column 1)", where)
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise InputFileError(path, f"start and end must be integers, found '{start_text}' and '{end_text}'",
                             where) from None
    if start < 1:
        raise InputFileError(path, f"start must be >= 1 (GFF3 is 1-based), found {start}", where)
    if end < start:
        raise InputFileError(path, f"end {end} is before start {start}", where)
    if strand not in STRANDS:
        raise InputFileError(path, f"unknown strand '{strand}' (expected +, -, . or ?)", where)
    if score_text == ".":
        score = None
    else:
        try:
            score = float(score_text)
        except ValueError:
            raise InputFileError(path, f"score must be '.' or a number, found '{score_text}'", where) from None
    if phase_text == ".":
        phase = None
    elif phase_text in ("0", "1", "2"):
        phase = int(phase_text)
    else:
        raise InputFileError(path, f"phase must be '.', 0, 1 or 2, found '{phase_text}'", where)
    return GffRecord(line_number, seqid, source, ftype, start, end, score, strand, phase,
                     parse_attributes(attribute_text))


def iter_lines(path) -> Iterator[tuple[int, str]]:
    """(line number, line) of each feature line: comments and blank lines skipped, up to a `##FASTA` directive."""
    line_number = 0
    stream = open_text(path)
    try:
        with stream:
            for line_number, line in enumerate(stream, start=1):
                if line.startswith("#"):
                    if line.startswith("##FASTA"):
                        return
                    continue
                if not line.strip():
                    continue
                yield line_number, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        where = f" after line {line_number}" if line_number else " before its first complete line"
        raise InputFileError(path, f"corrupt or truncated gzip data{where} ({err})") from None
    except UnicodeDecodeError:
        raise InputFileError(path, "not a GFF3 text file (binary content)", f"line {line_number + 1}") from None


def iter_gff3(path) -> Iterator[GffRecord]:
    """Yield the feature records of a GFF3 file in file order."""
    for line_number, line in iter_lines(path):
        yield parse_line(path, line_number, line)


def iter_annotation(path, ignored=None) -> Iterator[GffRecord]:
    """The records of a GFF3 or a GTF file (told apart by their attribute column), as GFF3 records."""
    from helixtune.annotation.gtf import iter_gtf, looks_like_gtf

    if looks_like_gtf(path):
        return iter_gtf(path, ignored)
    return iter_gff3(path)
