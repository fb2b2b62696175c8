"""Overlapping prediction (upstream `--overlap`, docs/models.md), planned per contiguous range of chunks.

A *range* is a run of consecutive rows of one sequence and strand (after the minus-strand padding rotation a
strand's chunks form one continuous sequence). Over a range of m chunks of length C, windows of length C start
at 0, O, 2O, ... while they fit, plus a final window ending at m*C if the last regular one does not. Each window
loses `trim = (C - K) // 2` positions at both ends, except the range's first window at its start and the range's
last window at its end; every position is the unweighted mean of the retained window values covering it.

Upstream computes this in sub-batches whose size follows the batch size. Here the windows are defined on the
whole range (upstream's sub-batch windows are the same ones whenever C % O == 0), and ranges are processed in
blocks of chunks with one chunk of context on each side, which always contains every window touching the
block. So results do not depend on the batch size or the block size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def overlap_parameters(chunk_size: int, offset: int | None = None, core_length: int | None = None) -> tuple[int, int]:
    """(offset, core length) of overlapping prediction over chunks of `chunk_size`, defaults filled in and
    checked; a ValueError names the first rule broken. `predict` and `annotate` both use it.

    Defaults as upstream: offset L // 2, core length int(3L / 4). The rule is upstream's overlap code's
    (helixer/core/overlap.py): a positive offset at most the core length, which is at most L. Helixer.py
    also demands an offset that divides L, because upstream's windows then depend on its batches; here the
    windows are laid over whole ranges (module docstring), so any such offset gives the same predictions
    at every batch size, and `annotate` accepts what `predict` does.
    """
    offset = offset or chunk_size // 2
    core_length = core_length or int(chunk_size * 3 / 4)
    if offset <= 0 or core_length <= 0:
        raise ValueError("overlap offset and core length must be positive")
    if offset > core_length:
        raise ValueError(f"overlap offset {offset} must not exceed the core length {core_length}")
    if core_length > chunk_size:
        raise ValueError(f"overlap core length {core_length} must not exceed the subsequence length {chunk_size}")
    return offset, core_length


def window_starts(n_chunks: int, chunk_size: int, offset: int) -> np.ndarray:
    """Start positions of all windows over a range of `n_chunks` chunks (upstream's rule)."""
    total = n_chunks * chunk_size
    starts = list(range(0, total - chunk_size + 1, offset))
    if starts[-1] + chunk_size != total:
        starts.append(total - chunk_size)
    return np.asarray(starts, dtype=np.int64)


@dataclass
class Window:
    start: int  # in range coordinates
    keep_from: int  # retained part, in range coordinates
    keep_to: int


@dataclass
class Block:
    """Kept chunks [first, last) of a range (range-relative chunk indices) and the windows touching them."""

    range_start_row: int
    first: int
    last: int
    context_first: int  # first chunk whose data is loaded
    context_last: int
    windows: list


def range_blocks(range_start_row: int, n_chunks: int, chunk_size: int, offset: int, core_length: int,
                 block_chunks: int = 16):
    """Split one range into blocks; yields `Block`s in row order."""
    starts = window_starts(n_chunks, chunk_size, offset)
    trim = (chunk_size - core_length) // 2
    total = n_chunks * chunk_size
    last_index = len(starts) - 1
    windows = [Window(int(s), int(s) + (trim if i > 0 else 0), int(s) + chunk_size - (trim if i < last_index else 0))
               for i, s in enumerate(starts)]
    for first in range(0, n_chunks, block_chunks):
        last = min(first + block_chunks, n_chunks)
        lo, hi = first * chunk_size, last * chunk_size
        touching = [w for w in windows if w.keep_to > lo and w.keep_from < hi]
        context_first = min(w.start for w in touching) // chunk_size
        context_last = -(-max(w.start + chunk_size for w in touching) // chunk_size)
        assert context_last * chunk_size <= total
        yield Block(range_start_row, first, last, context_first, context_last, touching)


class BlockMerger:
    """Accumulates window predictions of one block and returns the kept chunks when complete."""

    def __init__(self, block: Block, chunk_size: int, n_outputs: int):
        self.block = block
        self.chunk_size = chunk_size
        length = (block.last - block.first) * chunk_size
        self.sums = [np.zeros((length, 4), dtype=np.float32) for _ in range(n_outputs)]
        self.counts = np.zeros(length, dtype=np.int32)
        self.remaining = len(block.windows)

    def add(self, window: Window, predictions: list) -> None:
        """predictions: per output, the (C, 4) values of `window`."""
        origin = self.block.first * self.chunk_size
        lo = max(window.keep_from, origin)
        hi = min(window.keep_to, origin + len(self.counts))
        if hi > lo:
            for total, values in zip(self.sums, predictions):
                total[lo - origin:hi - origin] += values[lo - window.start:hi - window.start]
            self.counts[lo - origin:hi - origin] += 1
        self.remaining -= 1

    def result(self) -> list:
        if self.counts.min() == 0:
            raise AssertionError("overlap windows left a position uncovered")
        n = self.block.last - self.block.first
        return [(total / self.counts[:, None]).astype(np.float32).reshape(n, self.chunk_size, 4)
                for total in self.sums]


def contiguous_ranges(seqids: np.ndarray, species: np.ndarray, start_ends: np.ndarray) -> list[tuple[int, int]]:
    """(first_row, end_row) of each run of consecutive rows with one sequence, species and strand."""
    minus = start_ends[:, 0] > start_ends[:, 1]
    n = len(start_ends)
    if n == 0:
        return []
    change = np.ones(n, dtype=bool)
    change[1:] = (seqids[1:] != seqids[:-1]) | (species[1:] != species[:-1]) | (minus[1:] != minus[:-1])
    firsts = np.flatnonzero(change)
    ends = np.append(firsts[1:], n)
    return [(int(a), int(b)) for a, b in zip(firsts, ends)]
