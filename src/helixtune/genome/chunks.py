"""Cutting per-base arrays into fixed-length subsequences ("chunks") in upstream Helixer's row order.

Per sequence of length S and subsequence length L: plus-strand chunks [0, L), [L, 2L), ... [kL, S) in
ascending order, then minus-strand chunks of the same intervals in descending order, stored 5'->3' of the
minus strand (reversed) with `start > end` in `start_ends`. Every chunk shorter than L is padded at the
end of the array, on both strands.
"""

from __future__ import annotations

import numpy as np


def n_chunks_per_strand(sequence_length: int, subsequence_length: int) -> int:
    return -(-int(sequence_length) // int(subsequence_length))


def plus_intervals(sequence_length: int, subsequence_length: int) -> np.ndarray:
    """(n, 2) int64 [start, end) of the plus-strand chunks, ascending."""
    starts = np.arange(0, sequence_length, subsequence_length, dtype=np.int64)
    ends = np.minimum(starts + subsequence_length, sequence_length)
    return np.stack([starts, ends], axis=1)


def chunk_start_ends(sequence_length: int, subsequence_length: int) -> np.ndarray:
    """`data/start_ends` rows of one sequence: plus chunks ascending, then minus chunks descending."""
    plus = plus_intervals(sequence_length, subsequence_length)
    minus = plus[::-1, ::-1]
    return np.concatenate([plus, minus], axis=0).astype(np.int64)


def cut_strand(per_base: np.ndarray, subsequence_length: int, minus: bool, flip_columns: bool = False,
               pad_value=0) -> np.ndarray:
    """Cut one strand's per-base array (plus-ordered, shape (S, ...)) into (n_chunks, L, ...) chunks.

    Minus: chunks come in descending genomic order and each is reversed along the bases (and along the
    last axis when `flip_columns`, which turns C,A,T,G into its complement). Padding goes at the end.
    """
    per_base = np.asarray(per_base)
    length = per_base.shape[0]
    n = n_chunks_per_strand(length, subsequence_length)
    shape = (n, subsequence_length) + per_base.shape[1:]
    # np.zeros is lazily zeroed memory: much cheaper than np.full for the usual zero padding
    out = np.zeros(shape, dtype=per_base.dtype) if pad_value == 0 else np.full(shape, pad_value, dtype=per_base.dtype)
    for row, (start, end) in enumerate(plus_intervals(length, subsequence_length)):
        piece = per_base[start:end]
        if minus:
            piece = piece[::-1]
            if flip_columns:
                piece = piece[..., ::-1]
            row = n - 1 - row
        out[row, : end - start] = piece
    return out
