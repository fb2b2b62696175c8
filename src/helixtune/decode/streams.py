"""Reading a genome h5 and its predictions h5 as per-sequence, per-strand base streams.

HelixerPost's view of the files (and ours): rows with the same seqid, contiguous, form a sequence. Rows
with start < end are plus-strand blocks, ordered by start; rows with start > end are minus-strand blocks
(already reverse-complemented, padding at the end), ordered by end, descending. Each block contributes its
first |end - start| bases, padding dropped, so the plus stream position p is genomic position p and the
minus stream position p is genomic position length - 1 - p.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from helixtune import h5layout
from helixtune.errors import HelixtuneError, InputFileError


@dataclass
class Sequence:
    seqid: str
    length: int
    forward_rows: list[int] = field(default_factory=list)  # h5 rows in stream order
    reverse_rows: list[int] = field(default_factory=list)
    block_lengths: dict[int, int] = field(default_factory=dict)  # row -> real (unpadded) length


@dataclass
class DecodeInputs:
    """Open genome and predictions files plus their sequence index."""

    genome_path: str
    predictions_path: str
    genome: object
    predictions: object
    species: str
    sequences: list[Sequence]
    model_md5sum: str | None
    subsequence_length: int

    def close(self):
        self.genome.close()
        self.predictions.close()


def _strings(dataset) -> list[str]:
    return [bytes(v).rstrip(b"\0").decode("ascii", errors="replace") for v in dataset[:]]


def _variable_length_string_attribute(h5, name: str) -> str | None:
    """Upstream writes the md5 header line only for a variable-length string attribute."""
    if name not in h5.attrs:
        return None
    import h5py

    info = h5py.check_string_dtype(h5.attrs.get_id(name).dtype)
    if info is None or info.length is not None:
        return None
    value = h5.attrs[name]
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    return value


def build_sequence_index(seqids: list[str], start_ends: np.ndarray, path) -> list[Sequence]:
    """Group rows into sequences and strands, with HelixerPost's consistency checks as one-line errors."""
    sequences: list[Sequence] = []
    seen: set[str] = set()
    for row, seqid in enumerate(seqids):
        if not sequences or sequences[-1].seqid != seqid:
            if seqid in seen:
                raise InputFileError(path, f"rows of sequence '{seqid}' are not contiguous", where=f"row {row}")
            seen.add(seqid)
            sequences.append(Sequence(seqid, 0))
        seq = sequences[-1]
        start, end = int(start_ends[row, 0]), int(start_ends[row, 1])
        if start == end:
            raise InputFileError(path, f"zero-length block [{start}, {end}) of '{seqid}'", where=f"row {row}")
        (seq.forward_rows if start < end else seq.reverse_rows).append(row)
        seq.block_lengths[row] = abs(end - start)
    for seq in sequences:
        seq.forward_rows.sort(key=lambda r: int(start_ends[r, 0]))
        seq.reverse_rows.sort(key=lambda r: -int(start_ends[r, 1]))
        where = f"sequence '{seq.seqid}'"
        if len(seq.forward_rows) != len(seq.reverse_rows):
            raise InputFileError(path, f"{len(seq.forward_rows)} plus-strand but {len(seq.reverse_rows)} "
                                 "minus-strand blocks (perhaps using filtered data?)", where=where)
        # the plus blocks must tile [0, length) and the minus blocks [length, 0): nothing filtered out
        position = 0
        for r in seq.forward_rows:
            if int(start_ends[r, 0]) != position:
                raise InputFileError(path, f"plus-strand blocks do not tile the sequence: expected a block "
                                     f"starting at {position} (perhaps using filtered data?)", where=f"row {r}")
            position = int(start_ends[r, 1])
        seq.length = position
        for r in seq.reverse_rows:
            if int(start_ends[r, 0]) != position:
                raise InputFileError(path, f"minus-strand blocks do not tile the sequence: expected a block "
                                     f"starting at {position} (perhaps using filtered data?)", where=f"row {r}")
            position = int(start_ends[r, 1])
        if position != 0:
            raise InputFileError(path, "the last minus-strand block does not end at 0 (perhaps using filtered "
                                 "data?)", where=where)
    return sequences


def open_inputs(genome_path, predictions_path) -> DecodeInputs:
    """Open both files, check that they belong together, and index the sequences."""
    genome = h5layout.open_h5(genome_path)
    try:
        predictions = h5layout.open_h5(predictions_path)
    except BaseException:
        genome.close()
        raise
    try:
        h5layout.require_datasets(genome, h5layout.GENOME_DATASETS, genome_path)
        h5layout.require_datasets(predictions, h5layout.PREDICTION_DATASETS, predictions_path)
        x = genome[h5layout.X.path]
        if x.ndim != 3 or x.shape[2] != 4:
            raise InputFileError(genome_path, f"data/X has shape {x.shape}, expected (chunks, length, 4)")
        n_rows, length = x.shape[0], x.shape[1]
        for name in (h5layout.SEQIDS.path, h5layout.SPECIES.path, h5layout.START_ENDS.path):
            if genome[name].shape[0] != n_rows:
                raise InputFileError(genome_path, f"{name} has {genome[name].shape[0]} rows but data/X has {n_rows}")
        if genome[h5layout.START_ENDS.path].shape[1:] != (2,):
            raise InputFileError(genome_path, "data/start_ends must have shape (chunks, 2)")
        for spec in h5layout.PREDICTION_DATASETS:
            shape = predictions[spec.path].shape
            if shape != (n_rows, length, 4):
                raise InputFileError(predictions_path, f"'{spec.path}' has shape {shape} but the genome file "
                                     f"{genome_path} has data/X {x.shape}: the files do not belong together "
                                     "(different chunk count or subsequence length)")
        species_names = sorted(set(_strings(genome[h5layout.SPECIES.path])))
        if len(species_names) != 1:
            raise InputFileError(genome_path, f"{len(species_names)} species in data/species "
                                 f"({', '.join(species_names[:3])}); exactly one is allowed for GFF output")
        seqids = _strings(genome[h5layout.SEQIDS.path])
        start_ends = genome[h5layout.START_ENDS.path][:].astype(np.int64)
        if n_rows and np.abs(start_ends[:, 1] - start_ends[:, 0]).max() > length:
            row = int(np.argmax(np.abs(start_ends[:, 1] - start_ends[:, 0])))
            raise InputFileError(genome_path, f"block longer than the subsequence length {length}",
                                 where=f"row {row}")
        sequences = build_sequence_index(seqids, start_ends, genome_path)
        return DecodeInputs(str(genome_path), str(predictions_path), genome, predictions, species_names[0],
                            sequences, _variable_length_string_attribute(predictions, "model_md5sum"), length)
    except BaseException:
        genome.close()
        predictions.close()
        raise


def read_block(inputs: DecodeInputs, row: int, real_length: int):
    """One block's real bases as float32 arrays: (bases, classes, phases), each (real_length, 4), checked."""
    bases = inputs.genome[h5layout.X.path][row, :real_length].astype(np.float32)
    classes = inputs.predictions[h5layout.PREDICTIONS.path][row, :real_length].astype(np.float32)
    phases = inputs.predictions[h5layout.PREDICTIONS_PHASE.path][row, :real_length].astype(np.float32)
    for path, name, values in ((inputs.predictions_path, "predictions", classes),
                               (inputs.predictions_path, "predictions_phase", phases),
                               (inputs.genome_path, "data/X", bases)):
        finite = np.isfinite(values)
        if not finite.all():
            position = int(np.argwhere(~finite)[0][0])
            raise InputFileError(path, f"'{name}' holds NaN or infinite values", where=f"row {row}, base {position}")
        if (values < 0).any():
            position = int(np.argwhere(values < 0)[0][0])
            raise InputFileError(path, f"'{name}' holds negative probabilities", where=f"row {row}, base {position}")
    return bases, classes, phases


_LETTERS = np.frombuffer(h5layout.X_COLUMNS.encode(), np.uint8)


def sequence_bytes(inputs: DecodeInputs, seq: Sequence) -> bytes:
    """One sequence's bases as letters, from its plus-strand blocks (N where the encoding is not one base)."""
    parts = []
    for row in seq.forward_rows:
        x = inputs.genome[h5layout.X.path][row, :seq.block_lengths[row]]
        letters = _LETTERS[np.argmax(x, axis=1)]
        letters[np.max(x, axis=1) < 0.9] = ord("N")
        parts.append(letters.tobytes())
    return b"".join(parts)


def genome_sequences(genome_path, predictions_path) -> dict[str, bytes]:
    """{seqid: bases} of every sequence of a genome h5 (read back from its one-hot encoding)."""
    inputs = open_inputs(genome_path, predictions_path)
    try:
        return {seq.seqid: sequence_bytes(inputs, seq) for seq in inputs.sequences}
    finally:
        inputs.close()


def check_thresholds(window_size, edge_threshold, peak_threshold, min_coding_length) -> None:
    if int(window_size) != window_size or window_size < 1:
        raise HelixtuneError(f"window size must be a positive integer, got {window_size}")
    for name, value in (("edge threshold", edge_threshold), ("peak threshold", peak_threshold)):
        if not (0.0 <= float(value) <= 1.0):
            raise HelixtuneError(f"{name} must be between 0 and 1, got {value}")
    if int(min_coding_length) != min_coding_length or min_coding_length < 0:
        raise HelixtuneError(f"minimum coding length must be a non-negative integer, got {min_coding_length}")
