"""Every h5 dataset helixtune reads or writes, declared once, with readers/writers built on the table.

The layouts are upstream Helixer's (fasta2h5, geenuff2h5, HybridModel predictions, add_ngs_coverage),
so files written here are read by upstream tools and HelixerPost, and upstream files are read here.

Conventions (shared by every producer):
- the first axis is the subsequence ("chunk") index; HDF5 chunk shape is one subsequence, `(1,) + tail`;
- `maxshape` is `(None,) + tail` so files can grow chunk by chunk (streaming writers);
- the shuffle filter is on for datasets with more than one dimension and off for 1-D ones;
- `L` in a tail means the subsequence length of the file; `TRACKS` the number of coverage tracks.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

import h5py
import numpy as np

from helixtune.errors import InputFileError

try:  # a faster implementation of the same deflate format, when installed
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - zlib-ng is a declared dependency
    import zlib as _zlib

L = "L"  # placeholder for the subsequence length in a shape tail
TRACKS = "TRACKS"  # placeholder for the number of coverage tracks

# column orders (kept here so every stage agrees)
NUCLEOTIDE_COLUMNS = ("C", "A", "T", "G")
CLASS_NAMES = ("intergenic", "UTR", "CDS", "intron")
PHASE_NAMES = ("no_phase", "phase_0", "phase_1", "phase_2")
TRANSITION_NAMES = ("transcript_start", "start_codon", "donor", "transcript_end", "stop_codon", "acceptor")

SEQID_DTYPE = "S50"
SPECIES_DTYPE = "S25"
BAM_PATH_DTYPE = "S512"


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of an h5 layout: where it lives, its dtype, the shape of one row, and its storage."""

    path: str
    dtype: str
    tail: tuple = ()  # shape of one row, with L / TRACKS placeholders
    fillvalue: object = None
    compressed: bool = True  # False: stored without a compression filter (upstream's bam_files list)
    description: str = ""

    def row_shape(self, subsequence_length: int, n_tracks: int | None = None) -> tuple:
        shape = []
        for dim in self.tail:
            if dim == L:
                shape.append(int(subsequence_length))
            elif dim == TRACKS:
                shape.append(int(n_tracks) if n_tracks is not None else 1)
            else:
                shape.append(int(dim))
        return tuple(shape)

    def maxshape(self, subsequence_length: int) -> tuple:
        # the track axis stays extendable (upstream appends BAMs as further tracks)
        fixed = self.row_shape(subsequence_length)
        return (None,) + tuple(None if d == TRACKS else n for d, n in zip(self.tail, fixed))


# ---- genome (fasta2h5) ------------------------------------------------------------------------------
X_COLUMNS = "CATG"  # the bases of data/X's four columns, in order
X = DatasetSpec("data/X", "float16", (L, 4), description="DNA, columns C,A,T,G; IUPAC codes as fractions; padding all 0")
SEQIDS = DatasetSpec("data/seqids", SEQID_DTYPE, description="sequence id per chunk (truncated to 50 bytes)")
SPECIES = DatasetSpec("data/species", SPECIES_DTYPE, description="species per chunk (truncated to 25 bytes)")
START_ENDS = DatasetSpec("data/start_ends", "int64", (2,), description="[start, end) of the chunk; start > end on minus")
GENOME_DATASETS = (X, SEQIDS, SPECIES, START_ENDS)

# ---- labels (geenuff2h5) ----------------------------------------------------------------------------
Y = DatasetSpec("data/y", "int8", (L, 4), description="one-hot intergenic, UTR, CDS, intron; padding all 0")
SAMPLE_WEIGHTS = DatasetSpec("data/sample_weights", "int8", (L,), description="1 usable base, 0 error-masked or padding")
GENE_LENGTHS = DatasetSpec("data/gene_lengths", "uint32", (L,), description="length of the longest overlapping transcript")
PHASES = DatasetSpec("data/phases", "int8", (L, 4), description="one-hot no phase, phase 0, 1, 2")
TRANSITIONS = DatasetSpec("data/transitions", "int8", (L, 6), description="feature boundary marks (genomic orientation)")
ERR_SAMPLES = DatasetSpec("data/err_samples", "bool", description="True when the chunk has >= 1 usable base (sic)")
FULLY_INTERGENIC_SAMPLES = DatasetSpec("data/fully_intergenic_samples", "bool",
                                       description="True when every base, padding included, is intergenic")
IS_ANNOTATED = DatasetSpec("data/is_annotated", "bool", description="False for chunks of sequences without features")
LABEL_DATASETS = (Y, SAMPLE_WEIGHTS, GENE_LENGTHS, PHASES, TRANSITIONS, ERR_SAMPLES, FULLY_INTERGENIC_SAMPLES,
                  IS_ANNOTATED)
ANNOTATED_DATASETS = GENOME_DATASETS + LABEL_DATASETS

# ---- predictions (HybridModel --prediction-output-path) --------------------------------------------
PREDICTIONS = DatasetSpec("predictions", "float16", (L, 4), description="softmax over intergenic, UTR, CDS, intron")
PREDICTIONS_PHASE = DatasetSpec("predictions_phase", "float16", (L, 4), description="softmax over no phase, 0, 1, 2")
PREDICTION_DATASETS = (PREDICTIONS, PREDICTIONS_PHASE)


# ---- pseudolabel selection (select-confident; helixtune only, ignored by upstream readers) ----------
PSEUDOLABEL_DISCREPANCY = DatasetSpec("pseudolabel/discrepancy", "float32",
                                      description="mean |labels - predictions| per labelled base, summed over classes")
PSEUDOLABEL_INTERGENIC_FRACTION = DatasetSpec("pseudolabel/intergenic_fraction", "float32",
                                              description="fraction of labelled bases that are intergenic")
PSEUDOLABEL_STRATUM = DatasetSpec("pseudolabel/stratum", "int8", description="intergenic-fraction stratum")
PSEUDOLABEL_SOURCE_ROW = DatasetSpec("pseudolabel/source_row", "int64", description="row in the unfiltered file")


# ---- coverage (add_ngs_coverage) --------------------------------------------------------------------
def coverage_spec(prefix: str) -> DatasetSpec:
    return DatasetSpec(f"evaluation/{prefix}_coverage", "int64", (L, TRACKS), fillvalue=-1,
                       description="per-base read coverage per BAM track; -1 in padding")


def spliced_coverage_spec(prefix: str) -> DatasetSpec:
    return DatasetSpec(f"evaluation/{prefix}_spliced_coverage", "int64", (L, TRACKS), fillvalue=-1,
                       description="per-base spliced (N/D) coverage per BAM track; -1 in padding")


def bam_files_spec(prefix: str) -> DatasetSpec:
    return DatasetSpec(f"evaluation/{prefix}_meta/bam_files", BAM_PATH_DTYPE, compressed=False,
                       description="BAM paths in track order")


# ---- creating and writing ---------------------------------------------------------------------------
def create_dataset(h5: h5py.File | h5py.Group, spec: DatasetSpec, n_rows: int, subsequence_length: int = 0,
                   compression: str | None = "gzip", n_tracks: int | None = None, path: str | None = None,
                   data=None, chunks: tuple | None = None) -> h5py.Dataset:
    """Create `spec` in `h5` with upstream's chunking, filters and maxshape; `path` overrides its location.

    `chunks` overrides the HDF5 chunk shape (default: one row), e.g. upstream's (1, L, 1) for coverage.
    """
    row_shape = spec.row_shape(subsequence_length, n_tracks)
    kwargs = dict(shape=(n_rows,) + row_shape, maxshape=spec.maxshape(subsequence_length),
                  chunks=tuple(chunks) if chunks is not None else (1,) + row_shape, dtype=spec.dtype)
    if spec.compressed and compression:
        kwargs["compression"] = compression
        kwargs["shuffle"] = len(row_shape) > 0
    if spec.fillvalue is not None:
        kwargs["fillvalue"] = spec.fillvalue
    if data is not None:
        kwargs["data"] = data
        del kwargs["shape"]
    return h5.create_dataset(path or spec.path, **kwargs)


def append_rows(dataset: h5py.Dataset, rows: np.ndarray) -> None:
    """Grow `dataset` along its first axis and write `rows` at the end."""
    start = dataset.shape[0]
    dataset.resize(start + len(rows), axis=0)
    dataset[start:] = rows


# root attribute of an annotated h5 whose genome annotates no UTRs (helixtune's own; absent = annotated):
# training then reads its intergenic labels as "intergenic or UTR"
UTR_ANNOTATED_ATTR = "utr_annotated"


def utr_annotated(h5: h5py.File) -> bool:
    return bool(h5.attrs.get(UTR_ANNOTATED_ATTR, True))


def write_provenance(h5: h5py.File, input_path: str) -> None:
    """Root attributes upstream writes at the end of every export (all strings)."""
    from helixtune import __version__

    h5.attrs["timestamp"] = str(datetime.datetime.now())
    h5.attrs["input_path"] = str(input_path)
    h5.attrs["helixtune_version"] = __version__
    # upstream tools look for these; we say honestly which program wrote the file
    h5.attrs["helixer_commit"] = f"commit not found, version: helixtune {__version__}"
    h5.attrs["geenuff_commit"] = f"commit not found, version: helixtune {__version__}"


# ---- reading ----------------------------------------------------------------------------------------
def open_h5(path, mode: str = "r") -> h5py.File:
    """Open an h5 file, turning "missing" and "not HDF5" into one-line errors naming the file."""
    try:
        return h5py.File(path, mode)
    except FileNotFoundError:
        raise InputFileError(path, "no such file") from None
    except OSError as err:
        raise InputFileError(path, f"not a readable HDF5 file ({str(err).splitlines()[0]})") from None


def require_datasets(h5: h5py.File, specs: Iterable[DatasetSpec | str], path=None) -> None:
    """Raise a one-line error naming the file and the first dataset that is missing."""
    for spec in specs:
        name = spec.path if isinstance(spec, DatasetSpec) else spec
        if name not in h5:
            raise InputFileError(path or h5.filename, f"dataset '{name}' is missing")


def subsequence_length(h5: h5py.File) -> int:
    """L of a genome/annotated/predictions file."""
    for name in (X.path, Y.path, PREDICTIONS.path):
        if name in h5:
            return int(h5[name].shape[1])
    raise InputFileError(h5.filename, "has neither data/X, data/y nor predictions")


def decode_strings(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def minus_strand_rows(start_ends: np.ndarray) -> np.ndarray:
    """Boolean per chunk: True for minus-strand chunks (start > end)."""
    start_ends = np.asarray(start_ends)
    return start_ends[:, 0] > start_ends[:, 1]


def real_lengths(start_ends: np.ndarray) -> np.ndarray:
    """Number of real (unpadded) bases per chunk."""
    start_ends = np.asarray(start_ends)
    return np.abs(start_ends[:, 1] - start_ends[:, 0])


def rotate_chunk_padding_first(chunk: np.ndarray, start: int, end: int) -> np.ndarray:
    """HybridModel's read-time transformation of one chunk: a padded minus chunk gets its padding first;
    any other chunk is returned as it is (docs/models.md, padded minus-strand subsequences)."""
    real = start - end
    if start > end and real < len(chunk):
        return np.concatenate([chunk[real:], chunk[:real]], axis=0)
    return chunk


def _padded_minus_rows(start_ends: np.ndarray, length: int) -> np.ndarray:
    return np.flatnonzero(minus_strand_rows(start_ends) & (real_lengths(start_ends) < length))


def rotate_minus_padding_first(array: np.ndarray, start_ends: np.ndarray) -> np.ndarray:
    """`rotate_chunk_padding_first` over chunks along axis 0 (bases along axis 1).

    Returns `array` itself when no chunk is a padded minus chunk, else a rotated copy.
    """
    rows = _padded_minus_rows(start_ends, array.shape[1])
    if rows.size == 0:
        return array
    out = np.array(array, copy=True)
    for i in rows:
        out[i] = rotate_chunk_padding_first(array[i], *start_ends[i])
    return out


def row_slice(start_end, a: int, b: int) -> slice:
    """The positions of a row (genome file's layout) that hold genome bases [a, b) of the row's strand.

    A plus-strand row [s, e) holds genome base s + i at position i; a minus-strand row with s > e holds
    base s - 1 - i (padding, if any, after the real bases), so there the bases come in reverse order.
    [a, b) must lie within the row's range.
    """
    s, e = int(start_end[0]), int(start_end[1])
    return slice(a - s, b - s) if s < e else slice(s - b, s - a)


def rotate_minus_padding_last(array: np.ndarray, start_ends: np.ndarray) -> np.ndarray:
    """Inverse of `rotate_minus_padding_first`: back to the genome file's layout (real bases first)."""
    rows = _padded_minus_rows(start_ends, array.shape[1])
    if rows.size == 0:
        return array
    out = np.array(array, copy=True)
    pads = array.shape[1] - real_lengths(start_ends)
    for i in rows:
        pad = int(pads[i])
        out[i] = np.concatenate([array[i, pad:], array[i, :pad]], axis=0)
    return out


# ---- fast writing of gzip-compressed rows -----------------------------------------------------------
def _compress_chunk(row: np.ndarray, level: int, shuffle: bool) -> bytes:
    """What HDF5's (shuffle +) deflate filters make of one row-chunk: bytes transposed, then zlib.

    zlib-ng writes the same zlib format as zlib at the same level, about twice as fast.
    """
    raw = np.ascontiguousarray(row).view(np.uint8)
    if shuffle and row.dtype.itemsize > 1:
        raw = raw.reshape(-1, row.dtype.itemsize).T
    return _zlib.compress(raw.tobytes(), level)


class CompressedRowAppender:
    """Appends rows to a dataset, compressing them in background threads while the caller goes on.

    For datasets stored one row per HDF5 chunk with gzip (every large dataset of these layouts): rows are
    shuffled and deflated by the executor's threads (zlib releases the GIL) and written as raw chunks, in
    order; at most `max_pending` batches are in flight, so memory stays bounded. Any other dataset goes
    through h5py's own filter pipeline. The file is the same either way. Call `close()` at the end.
    """

    def __init__(self, dataset: h5py.Dataset, executor=None, max_pending: int = 2):
        self.dataset = dataset
        self.executor = executor
        self.max_pending = max_pending
        self.direct = executor is not None and dataset.compression == "gzip" and \
            dataset.chunks == (1,) + dataset.shape[1:]
        self.level = 4 if dataset.compression_opts is None else int(dataset.compression_opts)
        self.shuffle = bool(dataset.shuffle)
        self._pending: list[tuple[int, list]] = []

    def append(self, rows: np.ndarray) -> None:
        if not self.direct:
            append_rows(self.dataset, rows)
            return
        rows = np.array(rows, dtype=self.dataset.dtype)  # a private copy: the caller may reuse its buffer
        start = self.dataset.shape[0]
        self.dataset.resize(start + len(rows), axis=0)
        futures = [self.executor.submit(_compress_chunk, row, self.level, self.shuffle) for row in rows]
        self._pending.append((start, futures))
        while len(self._pending) > self.max_pending:
            self._write_oldest()

    def _write_oldest(self) -> None:
        start, futures = self._pending.pop(0)
        zeros = (0,) * (self.dataset.ndim - 1)
        for index, future in enumerate(futures):
            self.dataset.id.write_direct_chunk((start + index,) + zeros, future.result())

    def close(self) -> None:
        while self._pending:
            self._write_oldest()
