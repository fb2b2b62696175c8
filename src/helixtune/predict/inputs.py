"""Reading model inputs from a genome/test h5: X (+ coverage tracks), with HybridModel's read-time rotation."""

from __future__ import annotations

import numpy as np

from helixtune import h5layout
from helixtune.errors import InputFileError


class PredictionInput:
    """Rows of the test file as the model sees them: padded minus-strand chunks rotated padding-first
    (docs/models.md, padded minus-strand subsequences), coverage columns (raw counts) appended in the
    model's recorded order."""

    def __init__(self, path, pool_size: int, coverage_datasets: list[str] | None = None, coverage_tracks: int = 0):
        self.path = path
        self.h5 = h5layout.open_h5(path)
        try:
            h5layout.require_datasets(self.h5, [h5layout.X, h5layout.START_ENDS], path)
            x = self.h5[h5layout.X.path]
            if x.ndim != 3 or x.shape[2] != 4:
                raise InputFileError(path, f"dataset 'data/X' has shape {x.shape}, expected (N, L, 4)")
            self.n_rows, self.length = int(x.shape[0]), int(x.shape[1])
            if self.length % pool_size:
                raise InputFileError(path, f"subsequence length {self.length} is not divisible by the model's pool "
                                           f"size {pool_size}")
            self.start_ends = self.h5[h5layout.START_ENDS.path][:]
            if self.start_ends.shape != (self.n_rows, 2):
                raise InputFileError(path, f"dataset 'data/start_ends' has shape {self.start_ends.shape}, "
                                           f"expected ({self.n_rows}, 2)")
            lengths = h5layout.real_lengths(self.start_ends)
            if self.n_rows and (lengths.max() > self.length):
                bad = int(np.argmax(lengths > self.length))
                raise InputFileError(path, f"start_ends of row {bad} span more than the subsequence length",
                                     where=f"row {bad}")
            self.coverage = []
            if coverage_tracks:
                datasets = coverage_datasets or []
                for name in datasets:
                    if name not in self.h5:
                        raise InputFileError(path, f"the model needs coverage dataset '{name}', which is missing "
                                                   f"(add it with add-coverage --dataset-prefix rnaseq)")
                    ds = self.h5[name]
                    if ds.shape[:2] != (self.n_rows, self.length) or ds.shape[2] != coverage_tracks:
                        raise InputFileError(path, f"coverage dataset '{name}' has shape {ds.shape}, the model needs "
                                                   f"({self.n_rows}, {self.length}, {coverage_tracks})")
                    self.coverage.append(ds)
            self.x = x
        except BaseException:
            self.h5.close()
            raise

    def read_rows(self, first: int, last: int) -> np.ndarray:
        """Rows [first, last) as float32 (B, L, 4 + 2n), padded minus chunks rotated padding-first."""
        start_ends = self.start_ends[first:last]
        parts = [self.x[first:last]]
        for ds in self.coverage:
            parts.append(ds[first:last])
        parts = [h5layout.rotate_minus_padding_first(p, start_ends) for p in parts]
        if len(parts) == 1:
            return parts[0].astype(np.float32)
        return np.concatenate([p.astype(np.float32) for p in parts], axis=-1)

    def seqids_species(self):
        """Per-row sequence ids and species (needed to find the contiguous ranges of --overlap)."""
        h5layout.require_datasets(self.h5, [h5layout.SEQIDS, h5layout.SPECIES], self.path)
        return self.h5[h5layout.SEQIDS.path][:], self.h5[h5layout.SPECIES.path][:]

    def close(self):
        self.h5.close()

