"""SQLite gene-model store -> annotated training h5 (upstream geenuff2h5), as one library call: `export_h5`.

Streaming: one sequence at a time, one strand at a time is labelled, cut into chunks and appended to the
h5; memory follows the longest sequence, not the genome.

Upstream's choices, kept so files line up with upstream files:
- only the longest coding transcript of each gene is exported, with the errors attached to it;
  non-coding genes are intergenic with weight 1;
- sequences are ordered by length, descending (equal lengths: annotated sequences first, in order of
  their first exported transcript, then the others in FASTA order) -- not the FASTA order of `encode`;
- per sequence, all plus-strand chunks, then all minus-strand chunks (see `helixtune.genome.chunks`).
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.annotation.geenuff_models import GEENUFF_CDS
from helixtune.annotation.labels import LabelFeature, StrandLabeller
from helixtune.annotation.store import open_store
from helixtune.annotation.validation import ERROR_TYPES
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.genome.chunks import chunk_start_ends, cut_strand, n_chunks_per_strand
from helixtune.genome.fasta import iter_fasta
from helixtune.genome.lengths import DEFAULT_SUBSEQUENCE_LENGTH
from helixtune.parallel import available_cpus
from helixtune.progress import progress_bar

DEFAULT_WINDOW_CHUNKS = 128  # subsequences labelled at once: about 2.7 Mbp, 250 MB at the default length
LABEL_ARRAYS = ("y", "sample_weights", "gene_lengths", "phases", "transitions")
CLASS_NAMES = h5layout.CLASS_NAMES

_EXPORTED_FEATURES = """
    SELECT f.type, f.start, f."end", f.is_plus_strand, f.phase, t.id
    FROM feature f
    JOIN association_transcript_piece_to_feature a ON a.feature_id = f.id
    JOIN transcript_piece tp ON tp.id = a.transcript_piece_id
    JOIN transcript t ON t.id = tp.transcript_id
    WHERE t.longest = 1 AND f.coordinate_id = ?
    ORDER BY t.id, f.id"""


@dataclass
class ExportSummary:
    """Label quality of an export: what a user checks before training on these labels."""

    h5_path: str
    species: str = ""
    n_sequences: int = 0
    n_chunks: int = 0
    n_bases: int = 0  # real bases, both strands
    class_bases: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    class_masked: np.ndarray = field(default_factory=lambda: np.zeros(4, dtype=np.int64))
    n_masked: int = 0
    n_chunks_fully_masked: int = 0
    unannotated_sequences: list[str] = field(default_factory=list)
    n_exported_transcripts: int = 0
    genes_per_error: Counter = field(default_factory=Counter)

    def add_counts(self, bases: np.ndarray, masked: np.ndarray) -> None:
        self.class_bases += bases
        self.class_masked += masked
        self.n_bases += int(bases.sum())
        self.n_masked += int(masked.sum())

    def lines(self) -> list[str]:
        total = max(self.n_bases, 1)
        out = [f"{self.h5_path}: {self.n_sequences} sequences, {self.n_chunks} subsequences, "
               f"{self.n_bases:,} bases (both strands), species {self.species}"]
        out.append("bases per class (share, of which masked): " + ", ".join(
            f"{name} {int(n):,} ({n / total:.1%}, {m / max(n, 1):.1%} masked)"
            for name, n, m in zip(CLASS_NAMES, self.class_bases, self.class_masked)))
        out.append(f"masked (sample weight 0): {self.n_masked:,} bases = {self.n_masked / total:.1%}; "
                   f"fully masked subsequences: {self.n_chunks_fully_masked}")
        errors = ", ".join(f"{t} {self.genes_per_error[t]}" for t in ERROR_TYPES if self.genes_per_error[t])
        out.append(f"exported genes (longest coding transcript): {self.n_exported_transcripts:,}; "
                   f"genes per error class: {errors or 'none'}")
        if self.unannotated_sequences:
            names = ", ".join(self.unannotated_sequences[:5])
            more = f" and {len(self.unannotated_sequences) - 5} more" if len(self.unannotated_sequences) > 5 else ""
            out.append(f"sequences without annotation (is_annotated False): {names}{more}")
        return out


SEQUENCE_ORDERS = ("length", "fasta")


def export_order(db: sqlite3.Connection, sequence_order: str = "length") -> list[tuple[int, str, int]]:
    """(coordinate id, seqid, length) in upstream geenuff2h5's order ("length"), or in FASTA order ("fasta",
    the order of `encode`/fasta2h5 genome files, so that labels line up row by row with predictions)."""
    if sequence_order not in SEQUENCE_ORDERS:
        raise HelixtuneError(f"sequence order must be one of {', '.join(SEQUENCE_ORDERS)}, got '{sequence_order}'")
    if sequence_order == "fasta":
        return list(db.execute("SELECT id, seqid, length FROM coordinate ORDER BY id"))
    first_transcript = dict(db.execute("""
        SELECT f.coordinate_id, MIN(t.id) FROM feature f
        JOIN association_transcript_piece_to_feature a ON a.feature_id = f.id
        JOIN transcript_piece tp ON tp.id = a.transcript_piece_id
        JOIN transcript t ON t.id = tp.transcript_id
        WHERE t.longest = 1 GROUP BY f.coordinate_id"""))
    coords = list(db.execute("SELECT id, seqid, length FROM coordinate ORDER BY id"))

    def key(row):
        cid, _, length = row
        if cid in first_transcript:
            return (-length, 0, first_transcript[cid])
        return (-length, 1, cid)

    return sorted(coords, key=key)


def _import_info(db: sqlite3.Connection, key: str) -> str | None:
    """A value helixtune's import recorded (None for stores written by upstream GeenuFF)."""
    try:
        row = db.execute("SELECT value FROM import_info WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def exported_features(db: sqlite3.Connection, coordinate_id: int) -> tuple[list[LabelFeature], int]:
    """Features of the longest coding transcripts on a sequence, sorted as upstream; and how many transcripts."""
    by_transcript: dict[int, list[LabelFeature]] = {}
    for ftype, start, end, plus, phase, tid in db.execute(_EXPORTED_FEATURES, (coordinate_id,)):
        by_transcript.setdefault(tid, []).append(LabelFeature(ftype, start, end, bool(plus), phase))
    features = [f for group in by_transcript.values() if any(x.type == GEENUFF_CDS for x in group) for f in group]
    n_coding = sum(any(x.type == GEENUFF_CDS for x in g) for g in by_transcript.values())
    features.sort(key=lambda f: min(f.start, f.end))  # stable, as upstream
    return features, n_coding


def _genes_per_error(db: sqlite3.Connection) -> Counter:
    rows = db.execute("""
        SELECT f.type, COUNT(DISTINCT t.super_locus_id) FROM feature f
        JOIN association_transcript_piece_to_feature a ON a.feature_id = f.id
        JOIN transcript_piece tp ON tp.id = a.transcript_piece_id
        JOIN transcript t ON t.id = tp.transcript_id
        WHERE t.longest = 1 AND f.type NOT LIKE 'geenuff_%' GROUP BY f.type""")
    return Counter(dict(rows))


class _FastaSequences:
    """Sequences from a FASTA instead of the database: spilled to a temporary file in one pass (memory stays at
    one record), read back by offset in export order; each is checked against the database's length and SHA-1."""

    def __init__(self, fasta, spill_dir):
        self.fasta = fasta
        self.spill = tempfile.TemporaryFile(dir=spill_dir)
        self.offsets: dict[str, tuple[int, int]] = {}
        for seqid, sequence in iter_fasta(fasta):
            self.offsets[seqid] = (self.spill.tell(), len(sequence))
            self.spill.write(sequence)

    def get(self, seqid: str, length: int, sha1: str | None) -> bytes:
        if seqid not in self.offsets:
            raise InputFileError(self.fasta, f"sequence '{seqid}' of the database is missing")
        offset, size = self.offsets[seqid]
        self.spill.seek(offset)
        sequence = self.spill.read(size)
        if size != length or (sha1 and hashlib.sha1(sequence).hexdigest() != sha1):
            raise InputFileError(self.fasta, f"sequence '{seqid}' differs from the one in the database "
                                             f"({size:,} bp here, {length:,} bp there)")
        return sequence

    def close(self) -> None:
        self.spill.close()


class _LabelWriter:
    """Appends rows to every dataset; the large per-base ones are deflated in background threads."""

    def __init__(self, h5, subsequence_length: int, compression: str | None, with_x: bool, executor):
        specs = list(h5layout.LABEL_DATASETS) + [h5layout.SPECIES, h5layout.SEQIDS, h5layout.START_ENDS]
        if with_x:
            specs.insert(0, h5layout.X)
        self.datasets = {s.path.split("/")[-1]: h5layout.create_dataset(h5, s, 0, subsequence_length, compression)
                         for s in specs}
        self.appenders = {name: h5layout.CompressedRowAppender(ds, executor, max_pending=1)
                          for name, ds in self.datasets.items() if ds.ndim > 1}

    def append(self, name: str, rows: np.ndarray) -> None:
        if name in self.appenders:
            self.appenders[name].append(rows)
        else:
            h5layout.append_rows(self.datasets[name], rows)

    def close(self) -> None:
        for appender in self.appenders.values():
            appender.close()


def export_h5(db_path, h5_path, subsequence_length: int = DEFAULT_SUBSEQUENCE_LENGTH, compression: str = "gzip",
              with_x: bool = True, threads: int | None = None, fasta=None,
              window_chunks: int = DEFAULT_WINDOW_CHUNKS, sequence_order: str = "length") -> ExportSummary:
    """Write the annotated training h5 (data/X, y, phases, transitions, sample_weights, ...) of a gene-model store.

    `data/X` comes from the sequences stored in the database, or from `fasta` when given (checked against them).
    Sequences come in upstream's order (`sequence_order="length"`) or in FASTA order (`"fasta"`).
    """
    if subsequence_length < 1:
        raise HelixtuneError(f"--subsequence-length must be positive, got {subsequence_length}")
    if not str(h5_path).endswith(".h5"):
        raise InputFileError(h5_path, "the output name must end with .h5")
    db = open_store(db_path)
    from_fasta = None
    try:
        species_rows = db.execute("SELECT species FROM genome").fetchall()
        if len(species_rows) != 1:
            raise InputFileError(db_path, f"holds {len(species_rows)} genomes; export needs exactly one")
        species = species_rows[0][0] or ""
        summary = ExportSummary(str(h5_path), species)
        summary.genes_per_error = _genes_per_error(db)
        order = export_order(db, sequence_order)
        from_fasta = _FastaSequences(fasta, Path(h5_path).resolve().parent) if (fasta and with_x) else None
        total_chunks = sum(2 * n_chunks_per_strand(length, subsequence_length) for _, _, length in order)
        with ThreadPoolExecutor(max_workers=threads or available_cpus()) as executor, \
                atomic_output(h5_path) as tmp, h5layout.open_h5(tmp, "w") as h5, \
                progress_bar(total_chunks, "export", "subseq") as bar:
            writer = _LabelWriter(h5, subsequence_length, compression, with_x, executor)
            for coordinate_id, seqid, length in order:
                features, n_transcripts = exported_features(db, coordinate_id)
                summary.n_exported_transcripts += n_transcripts
                sequence = None
                if with_x:
                    if from_fasta is not None:
                        (sha1,) = db.execute("SELECT sha1 FROM coordinate WHERE id = ?", (coordinate_id,)).fetchone()
                        sequence = from_fasta.get(seqid, length, sha1)
                    else:
                        (text,) = db.execute("SELECT sequence FROM coordinate WHERE id = ?",
                                             (coordinate_id,)).fetchone()
                        if text is None or len(text) != length:
                            raise InputFileError(db_path, f"holds no sequence for '{seqid}'; give the FASTA (--fasta)")
                        sequence = text.encode("ascii")
                        del text
                _export_sequence(writer, summary, features, sequence, seqid, species, length, subsequence_length,
                                 window_chunks)
                del sequence
                if not features:
                    summary.unannotated_sequences.append(seqid)
                summary.n_sequences += 1
                bar.update(2 * n_chunks_per_strand(length, subsequence_length))
            writer.close()
            h5layout.write_provenance(h5, str(db_path))
            if _import_info(db, "utr_annotated") == "no":
                h5.attrs[h5layout.UTR_ANNOTATED_ATTR] = False
        return summary
    except sqlite3.DatabaseError as err:
        raise InputFileError(db_path, f"not a readable gene-model database ({err})") from None
    finally:
        db.close()
        if from_fasta is not None:
            from_fasta.close()


def _export_sequence(writer: _LabelWriter, summary: ExportSummary, features, sequence: bytes | None, seqid: str,
                     species: str, length: int, subsequence_length: int, window_chunks: int) -> None:
    """Append one sequence's rows: plus-strand chunks ascending, then minus-strand chunks descending.

    Labels are built a window of `window_chunks` subsequences at a time (windows start at multiples of the
    subsequence length, so their chunks are the sequence's chunks): memory follows the window.
    """
    from helixtune.genome.encode import encode_sequence

    start_ends = chunk_start_ends(length, subsequence_length)
    n_per_strand = len(start_ends) // 2
    window = window_chunks * subsequence_length
    windows = [(a, min(a + window, length)) for a in range(0, length, window)]
    species_bytes, seqid_bytes = species.encode("utf-8")[:25], seqid.encode("utf-8")[:50]
    for plus in (True, False):
        labeller = StrandLabeller(features, length, plus)
        for a, b in (windows if plus else windows[::-1]):
            n_chunks = n_chunks_per_strand(b - a, subsequence_length)
            if plus:  # consecutive slices padded at the end: built padded, then reshaped (no copy)
                labels = labeller.window(a, b, rows=n_chunks * subsequence_length)
                cut = {name: getattr(labels, name).reshape((n_chunks, subsequence_length)
                                                           + getattr(labels, name).shape[1:])
                       for name in LABEL_ARRAYS}
            else:
                labels = labeller.window(a, b)
                cut = {name: cut_strand(getattr(labels, name), subsequence_length, minus=True)
                       for name in LABEL_ARRAYS}
            bases, masked = labeller.class_counts(labels.sample_weights, a, b)
            del labels
            if sequence is not None:
                encoded = encode_sequence(sequence[a:b])
                writer.append("X", cut_strand(encoded, subsequence_length, minus=not plus, flip_columns=True))
            for name in LABEL_ARRAYS:
                writer.append(name, cut[name])
            err_samples = cut["sample_weights"].any(axis=1)
            writer.append("err_samples", err_samples)
            # True when every base, padding included, is intergenic (upstream's code; its docs say otherwise)
            writer.append("fully_intergenic_samples", np.all(cut["y"][:, :, 0] == 1, axis=1))
            writer.append("is_annotated", np.full(n_chunks, bool(features)))
            writer.append("species", np.full(n_chunks, species_bytes, dtype=h5layout.SPECIES_DTYPE))
            writer.append("seqids", np.full(n_chunks, seqid_bytes, dtype=h5layout.SEQID_DTYPE))
            first = a // subsequence_length  # this window's chunks among the strand's
            rows = np.arange(first, first + n_chunks) if plus else 2 * n_per_strand - 1 - np.arange(
                first + n_chunks - 1, first - 1, -1)
            writer.append("start_ends", start_ends[rows])
            summary.add_counts(bases, masked)
            summary.n_chunks_fully_masked += int((~err_samples).sum())
            summary.n_chunks += n_chunks
