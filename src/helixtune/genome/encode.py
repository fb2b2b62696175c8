"""FASTA -> genome h5 (upstream fasta2h5): `data/X`, `data/seqids`, `data/species`, `data/start_ends`.

Streaming: the FASTA is read line by line and written chunk by chunk. The minus strand needs each
sequence's chunks in reverse order, so the raw bases of the current sequence are spilled to a temporary
file (1 byte per base, on disk) and read back chunk by chunk; resident memory is a few chunks whatever
the size of the genome or of its longest sequence.
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output, check_output_file, scratch_folder
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.genome.fasta import FastaHeader, iter_fasta_stream
from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH
from helixtune.parallel import available_cpus
from helixtune.progress import progress_bar

# upstream's AMBIGUITY_DECODE, columns C, A, T, G; anything not listed is rejected by the FASTA reader
_AMBIGUITY = {
    "C": (1, 0, 0, 0), "A": (0, 1, 0, 0), "T": (0, 0, 1, 0), "G": (0, 0, 0, 1),
    "Y": (.5, 0, .5, 0), "R": (0, .5, 0, .5), "W": (0, .5, .5, 0), "S": (.5, 0, 0, .5),
    "K": (0, 0, .5, .5), "M": (.5, .5, 0, 0), "D": (0, .33, .33, .33), "V": (.33, .33, 0, .33),
    "H": (.33, .33, .33, 0), "B": (.33, 0, .33, .33), "N": (.25, .25, .25, .25),
}
ENCODING_TABLE = np.zeros((256, 4), dtype=np.float16)
for _base, _vector in _AMBIGUITY.items():
    ENCODING_TABLE[ord(_base)] = _vector
    ENCODING_TABLE[ord(_base.lower())] = _vector
# the same table with each row's four float16 values as one 64-bit word: one gather per base, not four
_ENCODING_WORDS = ENCODING_TABLE.view(np.uint64).ravel()


def encode_sequence(sequence: bytes) -> np.ndarray:
    """(S, 4) float16 encoding of an (already validated) sequence."""
    words = _ENCODING_WORDS[np.frombuffer(sequence, dtype=np.uint8)]
    return words.view(np.float16).reshape(-1, 4)


def reverse_complement(encoded: np.ndarray) -> np.ndarray:
    """Reverse complement of an encoded sequence: reverse the bases, and C,A,T,G -> G,T,A,C."""
    return encoded[::-1, ::-1]


@dataclass
class EncodeSummary:
    n_sequences: int = 0
    n_bases: int = 0
    n_chunks: int = 0
    skipped_short: list[str] = field(default_factory=list)
    truncated_ids: list[str] = field(default_factory=list)


class GenomeH5Writer:
    """Appends chunks to the four genome datasets, a batch of rows at a time."""

    def __init__(self, h5: h5py.File, subsequence_length: int, compression: str, batch_rows: int = 32,
                 executor=None):
        self.length = subsequence_length
        self.batch_rows = batch_rows
        self.datasets = {spec.path: h5layout.create_dataset(h5, spec, 0, subsequence_length, compression)
                         for spec in h5layout.GENOME_DATASETS}
        self._x = np.zeros((batch_rows, subsequence_length, 4), dtype=np.float16)
        self._x_appender = h5layout.CompressedRowAppender(self.datasets[h5layout.X.path], executor)
        self._meta: list[tuple[bytes, bytes, tuple[int, int]]] = []

    def add(self, encoded: np.ndarray, seqid: bytes, species: bytes, start: int, end: int) -> None:
        row = len(self._meta)
        self._x[row, : len(encoded)] = encoded
        self._x[row, len(encoded):] = 0
        self._meta.append((seqid, species, (start, end)))
        if len(self._meta) == self.batch_rows:
            self.flush()

    def flush(self) -> None:
        n = len(self._meta)
        if n == 0:
            return
        self._x_appender.append(self._x[:n])
        h5layout.append_rows(self.datasets[h5layout.SEQIDS.path],
                             np.array([m[0] for m in self._meta], dtype=h5layout.SEQID_DTYPE))
        h5layout.append_rows(self.datasets[h5layout.SPECIES.path],
                             np.array([m[1] for m in self._meta], dtype=h5layout.SPECIES_DTYPE))
        h5layout.append_rows(self.datasets[h5layout.START_ENDS.path],
                             np.array([m[2] for m in self._meta], dtype=np.int64))
        self._meta.clear()

    def close(self) -> None:
        self.flush()
        self._x_appender.close()


class _SequenceEncoder:
    """Turns one sequence's stream of lines into plus chunks (as they arrive) and minus chunks (at the end)."""

    def __init__(self, writer: GenomeH5Writer, spill_dir: str):
        self.writer = writer
        self.length = writer.length
        self.spill_dir = spill_dir

    def start(self, seqid: bytes, species: bytes) -> None:
        self.seqid, self.species = seqid, species
        self.buffer = bytearray()
        self.position = 0  # bases already written as plus chunks
        self.spill = tempfile.TemporaryFile(dir=self.spill_dir)

    def add_line(self, line: bytes) -> None:
        self.buffer += line
        self.spill.write(line)
        while len(self.buffer) >= self.length:
            self._emit_plus(bytes(self.buffer[: self.length]))
            del self.buffer[: self.length]

    def _emit_plus(self, sequence: bytes) -> None:
        start = self.position
        self.writer.add(encode_sequence(sequence), self.seqid, self.species, start, start + len(sequence))
        self.position += len(sequence)

    def finish(self) -> int:
        """Write the last plus chunk and all minus chunks; return the sequence length."""
        if self.buffer:
            self._emit_plus(bytes(self.buffer))
        total = self.position
        n = -(-total // self.length)
        for index in range(n - 1, -1, -1):
            lo, hi = index * self.length, min((index + 1) * self.length, total)
            self.spill.seek(lo)
            sequence = self.spill.read(hi - lo)
            self.writer.add(reverse_complement(encode_sequence(sequence)), self.seqid, self.species, hi, lo)
        self.spill.close()
        return total


def _fixed_bytes(text: str, size: int, what: str, summary_list: list[str]) -> bytes:
    raw = text.encode()
    if len(raw) > size:
        summary_list.append(text)
        print(f"warning: {what} '{text}' is longer than {size} bytes and is truncated in the h5 file, "
              f"as upstream does", file=sys.stderr)
    return raw[:size]


def encode_fasta(fasta_path, h5_output_path, species: str, subsequence_length: int = DEFAULT_SUBSEQUENCE_LENGTH,
                 compression: str = "gzip", min_sequence_length: int = 0, threads: int | None = None
                 ) -> EncodeSummary:
    """Encode a FASTA (plain or gzip) into a genome h5 file, as upstream fasta2h5 writes it.

    The output appears under its final name only when complete.
    """
    if subsequence_length <= 0:
        raise HelixtuneError(f"--subsequence-length must be positive, got {subsequence_length}")
    if compression not in ("gzip", "lzf"):
        raise HelixtuneError(f"--compression must be gzip or lzf, got '{compression}'")
    if not species:
        raise HelixtuneError("--species must not be empty")
    fasta_path = Path(fasta_path)
    if not fasta_path.is_file():
        raise InputFileError(fasta_path, "no such file" if not fasta_path.exists() else "not a regular file")

    summary = EncodeSummary()
    species_bytes = _fixed_bytes(species, 25, "species", summary.truncated_ids)
    file_size = os.path.getsize(fasta_path)
    check_output_file(h5_output_path)
    threads = threads or available_cpus()
    with ThreadPoolExecutor(max_workers=threads) as executor, atomic_output(h5_output_path) as tmp, \
            scratch_folder(h5_output_path) as spill_dir:
        with h5py.File(tmp, "w") as h5, \
                progress_bar(total=file_size, desc="encode", unit="B", unit_scale=True) as bar:
            writer = GenomeH5Writer(h5, subsequence_length, compression, executor=executor)
            record = _RecordFilter(_SequenceEncoder(writer, spill_dir), species_bytes, min_sequence_length, summary)
            for item in iter_fasta_stream(fasta_path, on_progress=lambda pos: bar.update(pos - bar.n)):
                if isinstance(item, FastaHeader):
                    record.finish()
                    record.begin(item)
                else:
                    record.add_line(item)
            record.finish()
            writer.close()
            bar.update(file_size - bar.n)
            summary.n_chunks = h5[h5layout.X.path].shape[0]
            if summary.n_chunks == 0:
                raise InputFileError(fasta_path, "no sequence to encode" + (
                    f" (all shorter than {min_sequence_length} bp)" if min_sequence_length else ""))
            h5layout.write_provenance(h5, str(fasta_path))
    return summary


class _RecordFilter:
    """Holds back the first lines of a record until it is known to reach the minimum length."""

    def __init__(self, encoder: _SequenceEncoder, species: bytes, min_length: int, summary: EncodeSummary):
        self.encoder, self.species, self.min_length, self.summary = encoder, species, min_length, summary
        self.header: FastaHeader | None = None

    def begin(self, header: FastaHeader) -> None:
        self.header, self.held, self.held_length, self.started = header, [], 0, False
        if self.min_length <= 0:
            self._start()

    def _start(self) -> None:
        seqid = _fixed_bytes(self.header.seqid, 50, "sequence id", self.summary.truncated_ids)
        self.encoder.start(seqid, self.species)
        self.started = True
        for line in self.held:
            self.encoder.add_line(line)
        self.held = []

    def add_line(self, line: bytes) -> None:
        if self.started:
            self.encoder.add_line(line)
            return
        self.held.append(line)
        self.held_length += len(line)
        if self.held_length >= self.min_length:
            self._start()

    def finish(self) -> None:
        if self.header is None:
            return
        if self.started:
            self.summary.n_bases += self.encoder.finish()
            self.summary.n_sequences += 1
        else:
            self.summary.skipped_short.append(self.header.seqid)
        self.header = None
