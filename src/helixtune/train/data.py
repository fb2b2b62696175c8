"""Training and validation data: `training_data*.h5` / `validation_data*.h5` read the way upstream's
HybridModel reads them (docs/training.md, docs/coverage.md).

Per chunk (one h5 row) we produce what upstream's `_generic_get_item` produces for one sample of a batch:

- `X`: the input (L', 4) float16, L' = L clipped to a multiple of the pool size P; with coverage
  (L', 4 + 2n) float32 holding the raw counts [coverage_1..n, spliced_1..n] after the DNA columns;
- `y`, `phases`: one-hot targets reshaped to (T, P, 4), int8 (T = L' / P);
- `utr_known` (only when some file's genome annotates no UTRs, its root attribute `utr_annotated` false):
  whether this sample's intergenic labels exclude UTRs; the loss merges intergenic and UTR where not;
- `sample_weights`: one float32 weight per timestep (T,): 1 if all P bases are usable, else 0; in training
  mode multiplied by the class weights of the classes present (additive) and the transition weights of the
  transition marks present (summed, 0 -> 1).

Every computation is per sample, so a batch is simply the stack of its samples. Padded minus-strand chunks
are rotated padding-first when read (docs/models.md, padded minus-strand subsequences), as upstream does.
In train/val mode only chunks with `is_annotated & err_samples` are used.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helixtune import h5layout
from helixtune.errors import HelixtuneError, InputFileError

COVERAGE = h5layout.coverage_spec("rnaseq")
SPLICED_COVERAGE = h5layout.spliced_coverage_spec("rnaseq")

# keep decoded samples in RAM when a dataset is smaller than this (decompressing gzip rows every epoch is the
# main cost for small sets; big sets are read lazily)
DEFAULT_CACHE_BYTES = 2 * 2**30


def find_data_files(data_dir) -> tuple[list[Path], list[Path]]:
    """The training and validation files of a data directory (upstream's globs), sorted by name."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputFileError(data_dir, "--data-dir is not a directory")
    trains = sorted(Path(p) for p in glob.glob(os.path.join(data_dir, "training_data*h5")))
    vals = sorted(Path(p) for p in glob.glob(os.path.join(data_dir, "validation_data*h5")))
    if not trains:
        raise InputFileError(data_dir, "no training data: expected files named training_data*.h5")
    if not vals:
        raise InputFileError(data_dir, "no validation data: expected files named validation_data*.h5")
    return trains, vals


def pooled_sample_weights(sample_weights: np.ndarray, pool_size: int) -> np.ndarray:
    """(..., L') base weights -> (..., T) int8: 1 where all P bases of the timestep are usable."""
    shaped = sample_weights.reshape(sample_weights.shape[:-1] + (-1, pool_size))
    return np.logical_not(np.any(shaped == 0, axis=-1)).astype(np.int8)


def weighted_sample_weights(sw_t: np.ndarray, y_pooled: np.ndarray, class_weights=None,
                            transitions_pooled: np.ndarray | None = None, transition_weights=None) -> np.ndarray:
    """Upstream's train-mode weighting (class and transition weights on the pooled sample weights), with the
    same float32 operations in the same order.

    sw_t: (..., T) 0/1; y_pooled: (..., T, P, 4); transitions_pooled: (..., T, P, 6).
    """
    sw = sw_t
    if class_weights is not None:
        present = np.any(y_pooled == 1, axis=-2).astype(np.int8)  # (..., T, 4)
        cw = np.sum(np.multiply(present, np.asarray(class_weights, dtype=np.float32)), axis=-1)
        sw = np.multiply(cw, sw)
    if transition_weights is not None:
        marks = np.max(transitions_pooled, axis=-2).astype(np.int8)  # (..., T, 6)
        tw = np.sum(np.multiply(marks, np.asarray(transition_weights, dtype=np.float32)), axis=-1)
        tw[tw == 0] = 1
        sw = np.multiply(tw, sw)
    return np.asarray(sw, dtype=np.float32)


@dataclass
class DataOptions:
    """What to read and how to weight it (the data half of upstream's HybridModel flags)."""

    pool_size: int = 9
    predict_phase: bool = True
    class_weights: list[float] | None = None
    transition_weights: list[float] | None = None
    input_coverage: bool = False
    cache_bytes: int = DEFAULT_CACHE_BYTES

    def __post_init__(self):
        if self.class_weights is not None and len(self.class_weights) != 4:
            raise HelixtuneError(f"--class-weights needs 4 numbers (intergenic, UTR, CDS, intron), "
                                 f"got {len(self.class_weights)}")
        if self.transition_weights is not None and len(self.transition_weights) != 6:
            raise HelixtuneError(f"--transition-weights needs 6 numbers, got {len(self.transition_weights)}")


@dataclass
class _FileIndex:
    path: Path
    rows: np.ndarray  # h5 rows used, in file order
    start_ends: np.ndarray  # of those rows
    utr_annotated: bool = True  # False: the genome annotates no UTRs (intergenic labels mean "or UTR")


class ChunkDataset:
    """A map-style dataset (torch-compatible) over the usable chunks of one or more h5 files.

    mode: 'train' (weights applied, chunks filtered), 'val' (0/1 weights, filtered) or 'test' (0/1 weights,
    nothing filtered). Files are opened lazily in each process, so the dataset can go to DataLoader workers.
    """

    def __init__(self, paths, mode: str, options: DataOptions):
        if mode not in ("train", "val", "test"):
            raise ValueError(mode)
        self.paths = [Path(p) for p in paths]
        self.mode = mode
        self.options = options
        self.files: list[_FileIndex] = []
        self.n_masked = 0
        self.subsequence_length = None
        self.coverage_count = 0
        needed = [h5layout.X, h5layout.START_ENDS, h5layout.Y, h5layout.SAMPLE_WEIGHTS]
        if options.predict_phase:
            needed.append(h5layout.PHASES)
        if mode == "train" and options.transition_weights is not None:
            needed.append(h5layout.TRANSITIONS)
        if options.input_coverage:
            needed += [COVERAGE, SPLICED_COVERAGE]
        if mode in ("train", "val"):
            needed += [h5layout.IS_ANNOTATED, h5layout.ERR_SAMPLES]
        for path in self.paths:
            with h5layout.open_h5(path) as h5:
                h5layout.require_datasets(h5, needed, path)
                length = int(h5[h5layout.X.path].shape[1])
                if self.subsequence_length is None:
                    self.subsequence_length = length
                elif length != self.subsequence_length:
                    raise InputFileError(path, f"subsequence length {length} differs from "
                                               f"{self.subsequence_length} of {self.paths[0]}")
                if options.input_coverage:
                    n = int(h5[COVERAGE.path].shape[2])
                    if n != int(h5[SPLICED_COVERAGE.path].shape[2]):
                        raise InputFileError(path, "coverage and spliced coverage have different track counts")
                    if self.coverage_count and n != self.coverage_count:
                        raise InputFileError(path, f"has {n} coverage tracks, {self.paths[0]} has "
                                                   f"{self.coverage_count}; all files need the same BAM tracks")
                    self.coverage_count = n
                n_rows = int(h5[h5layout.X.path].shape[0])
                if mode in ("train", "val"):
                    keep = np.logical_and(h5[h5layout.IS_ANNOTATED.path][:], h5[h5layout.ERR_SAMPLES.path][:])
                else:
                    keep = np.ones(n_rows, dtype=bool)
                rows = np.flatnonzero(keep)
                self.n_masked += n_rows - len(rows)
                self.files.append(_FileIndex(path, rows, h5[h5layout.START_ENDS.path][:][rows],
                                             h5layout.utr_annotated(h5)))
        P = options.pool_size
        self.clip = self.subsequence_length % P
        self.length = self.subsequence_length - self.clip
        self.timesteps = self.length // P
        self._offsets = np.cumsum([0] + [len(f.rows) for f in self.files])
        self._handles = None
        self._pid = None
        per_sample = self.length * (4 + 2 * self.coverage_count) * 4 + self.length * 8 + self.timesteps * 4
        self._cache = {} if per_sample * len(self) <= options.cache_bytes else None

    # ---- torch Dataset protocol -----------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getitem__(self, index: int) -> dict:
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        sample = self._read(int(index))
        if self._cache is not None:
            self._cache[index] = sample
        return sample

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handles"] = None  # h5py handles do not cross process boundaries
        state["_pid"] = None
        return state

    # ---- reading -------------------------------------------------------------------------------------
    def locate(self, index: int) -> tuple[int, int]:
        """(file number, h5 row) of sample `index`."""
        if index < 0 or index >= len(self):
            raise IndexError(index)
        f = int(np.searchsorted(self._offsets, index, side="right") - 1)
        return f, int(self.files[f].rows[index - self._offsets[f]])

    def _h5(self, f: int):
        import h5py

        if self._handles is None or self._pid != os.getpid():
            self._handles = [None] * len(self.files)
            self._pid = os.getpid()
        if self._handles[f] is None:
            self._handles[f] = h5py.File(self.files[f].path, "r")
        return self._handles[f]

    def _row(self, h5, spec_path: str, row: int, start_end: np.ndarray) -> np.ndarray:
        data = h5[spec_path][row]
        data = h5layout.rotate_chunk_padding_first(data, int(start_end[0]), int(start_end[1]))
        if self.clip:
            data = data[: self.length]
        return data

    def _read(self, index: int) -> dict:
        f, row = self.locate(index)
        h5 = self._h5(f)
        se = self.files[f].start_ends[index - self._offsets[f]]
        opts = self.options
        P = opts.pool_size
        X = self._row(h5, h5layout.X.path, row, se)
        if opts.input_coverage:
            # raw read counts (-1 in padding) as float32: exact up to 2**24, where float16 would overflow at
            # 65504; the model normalises them itself (ln(x + 1.1) or x / 100, rounded to float16 as upstream)
            n = self.coverage_count
            cov = self._row(h5, COVERAGE.path, row, se).reshape(-1, n)
            spl = self._row(h5, SPLICED_COVERAGE.path, row, se).reshape(-1, n)
            X = np.concatenate([X.astype(np.float32), cov.astype(np.float32), spl.astype(np.float32)], axis=1)
        sample = {"X": np.ascontiguousarray(X)}
        if not all(f.utr_annotated for f in self.files):
            sample["utr_known"] = np.bool_(self.files[f].utr_annotated)
        y = self._row(h5, h5layout.Y.path, row, se).reshape(self.timesteps, P, 4)
        sw = pooled_sample_weights(self._row(h5, h5layout.SAMPLE_WEIGHTS.path, row, se), P)
        if self.mode == "train":
            transitions = None
            if opts.transition_weights is not None:
                transitions = self._row(h5, h5layout.TRANSITIONS.path, row, se).reshape(self.timesteps, P, 6)
            sw = weighted_sample_weights(sw, y, opts.class_weights, transitions, opts.transition_weights)
        sample["y"] = np.ascontiguousarray(y)
        sample["sample_weights"] = sw.astype(np.float32)
        if opts.predict_phase:
            sample["phases"] = np.ascontiguousarray(
                self._row(h5, h5layout.PHASES.path, row, se).reshape(self.timesteps, P, 4))
        return sample

    def close(self) -> None:
        for handle in self._handles or []:
            if handle is not None:
                handle.close()
        self._handles = None


def collate(samples: list[dict]) -> dict:
    """Stack samples into a batch of torch tensors (X stays float16 until it reaches the device)."""
    import torch

    return {key: torch.from_numpy(np.stack([s[key] for s in samples])) for key in samples[0]}


def stack_batch(dataset: ChunkDataset, indices) -> dict:
    """The numpy batch of the given samples (upstream's `HybridSequence[i]` for consecutive indices)."""
    samples = [dataset[i] for i in indices]
    return {key: np.stack([s[key] for s in samples]) for key in samples[0]}


@dataclass
class LabelSummary:
    """Counts behind the label-quality gate."""

    n_chunks: int = 0
    n_usable_chunks: int = 0
    usable_bases: int = 0
    class_bases: list = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def genic_fraction(self) -> float:
        return (sum(self.class_bases[1:]) / self.usable_bases) if self.usable_bases else 0.0


def summarise_labels(paths, block_rows: int = 256) -> LabelSummary:
    """Class counts over the usable bases of the usable chunks (read in blocks to bound memory)."""
    summary = LabelSummary()
    for path in paths:
        with h5layout.open_h5(path) as h5:
            keep = np.logical_and(h5[h5layout.IS_ANNOTATED.path][:], h5[h5layout.ERR_SAMPLES.path][:])
            summary.n_chunks += len(keep)
            summary.n_usable_chunks += int(keep.sum())
            y_ds, sw_ds = h5[h5layout.Y.path], h5[h5layout.SAMPLE_WEIGHTS.path]
            for start in range(0, len(keep), block_rows):
                mask = keep[start:start + block_rows]
                if not mask.any():
                    continue
                y = y_ds[start:start + block_rows][mask]
                usable = sw_ds[start:start + block_rows][mask] != 0
                summary.usable_bases += int(usable.sum())
                counts = y[usable].sum(axis=0)
                for c in range(4):
                    summary.class_bases[c] += int(counts[c])
    return summary


def check_label_quality(paths, min_genic_fraction: float = 0.01) -> LabelSummary:
    """Refuse degenerate training data (no usable chunk, or almost no genic bases)."""
    summary = summarise_labels(paths)
    names = ", ".join(str(p) for p in paths)
    if summary.n_usable_chunks == 0:
        raise HelixtuneError(f"{names}: no usable training chunk (every chunk is un-annotated or fully masked); "
                             f"pass --allow-degenerate-labels to train anyway")
    if summary.genic_fraction < min_genic_fraction:
        raise HelixtuneError(
            f"{names}: only {100 * summary.genic_fraction:.3f}% of the usable bases are genic (UTR, CDS or "
            f"intron), below {100 * min_genic_fraction:g}%; the labels look degenerate. Pass "
            f"--allow-degenerate-labels to train anyway")
    return summary


def balanced_draw(file_sizes: list[int], n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """`n_samples` sample indices (files' samples numbered consecutively), as equal a share from every non-empty
    file as `n_samples` allows: a smaller file's samples repeat (each once before any twice), a larger file's
    are a random subset. The epoch keeps its length; small genomes are seen more often, large ones less."""
    offsets = np.cumsum([0] + list(file_sizes))
    files = [f for f, n in enumerate(file_sizes) if n > 0]
    share, extra = divmod(n_samples, len(files))
    lucky = set(rng.choice(files, size=extra, replace=False).tolist()) if extra else set()
    drawn = []
    for f in files:
        want, size = share + (f in lucky), file_sizes[f]
        rounds = [rng.permutation(size) for _ in range(-(-want // size))]
        drawn.append(offsets[f] + np.concatenate(rounds)[:want])
    return np.concatenate(drawn)


class EpochBatchSampler:
    """Batches of sample indices: a fresh permutation every epoch, reproducible from (seed, epoch), and able to
    skip the batches an interrupted epoch already trained on, so a resumed run sees exactly the batches an
    uninterrupted one would.

    Upstream permutes all training samples every epoch and cuts consecutive batches (the last one smaller).
    With several processes (DDP), every process draws the same permutation; global batch i is
    `batch_size * world_size` samples and process r takes its r-th slice (wrapping around at the end, so all
    processes run the same number of equally sized batches).
    """

    def __init__(self, n_samples: int, batch_size: int, shuffle: bool = True, seed: int = 0,
                 rank: int = 0, world_size: int = 1, file_sizes: list[int] | None = None):
        if batch_size < 1:
            raise HelixtuneError(f"batch size must be >= 1, got {batch_size}")
        if file_sizes is not None and sum(file_sizes) != n_samples:
            raise ValueError(f"file sizes {file_sizes} do not add up to {n_samples} samples")
        self.n_samples = int(n_samples)
        # balanced: each epoch takes the same number of samples from every file (--balance-training-files)
        self.file_sizes = None if file_sizes is None else [int(n) for n in file_sizes]
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.epoch = 0
        self.skip_batches = 0  # consumed by the next __iter__

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        per_step = self.batch_size * self.world_size
        return -(-self.n_samples // per_step) if self.n_samples else 0

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n_samples)
        rng = np.random.default_rng([self.seed, int(epoch)])
        if self.file_sizes is None:
            return rng.permutation(self.n_samples)
        return rng.permutation(balanced_draw(self.file_sizes, self.n_samples, rng))

    def batches(self, epoch: int) -> list[list[int]]:
        order = self.order(epoch)
        if self.world_size == 1:
            return [order[i:i + self.batch_size].tolist() for i in range(0, self.n_samples, self.batch_size)]
        per_step = self.batch_size * self.world_size
        total = len(self) * per_step
        padded = np.resize(order, total)  # wraps around, like torch's DistributedSampler
        out = []
        for i in range(len(self)):
            start = i * per_step + self.rank * self.batch_size
            out.append(padded[start:start + self.batch_size].tolist())
        return out

    def __iter__(self):
        skip, self.skip_batches = self.skip_batches, 0
        yield from self.batches(self.epoch)[skip:]
