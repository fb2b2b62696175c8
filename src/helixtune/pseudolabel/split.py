"""Whole sequences to training or validation by the N90 rule (`helixtune split`), as upstream n90_train_val_split.py.

1. Count the rows (both strands) of every sequence id; sort by count, descending (ties: byte order of the id).
2. Group A: the largest sequences that together hold >= 90 % of the rows (N90); group B: the rest.
3. In each group with at least two sequences, ceil(val_fraction * m) sequences go to validation, the rest
   to training, drawn as upstream's scikit-learn `train_test_split` draws them (a permutation of the legacy
   numpy RandomState); a group of one sequence goes to training. Group A is drawn first, then group B,
   from the same generator.
4. Every row of a sequence goes to that sequence's side, keeping the file's row order; metadata datasets
   and attributes are copied to both files.

Deviations: the draw is seeded (`--seed`, default 0), so runs repeat (upstream uses the unseeded global
generator; with the same seed both give the same split). When whole sequences leave validation empty
(a genome of one sequence, e.g. a single chromosome), the split falls back to contiguous regions of
`region_bp` (both strands of a region together) and says so; `region_bp=None` keeps upstream's
behaviour (an empty validation file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.pseudolabel.h5rows import check_output_path, copy_row_subset

TRAINING_NAME = "training_data.h5"
VALIDATION_NAME = "validation_data.h5"
DEFAULT_REGION_BP = 1_000_000


@dataclass
class SplitSummary:
    input_path: str
    training_path: str
    validation_path: str
    unit: str  # "sequence" or "region" (of region_bp bases, the fallback for one-sequence genomes)
    n_rows: int
    training_ids: list[str] = field(default_factory=list)
    validation_ids: list[str] = field(default_factory=list)
    training_rows: int = 0
    validation_rows: int = 0
    seed: int | None = 0
    region_bp: int | None = None


def output_paths(output_pfx) -> tuple[Path, Path]:
    """Upstream prepends the prefix literally; a prefix naming a directory (ending in '/') is that directory."""
    output_pfx = str(output_pfx)
    if output_pfx.endswith(("/", "\\")) or Path(output_pfx).is_dir():
        base = Path(output_pfx)
        return base / TRAINING_NAME, base / VALIDATION_NAME
    return Path(output_pfx + TRAINING_NAME), Path(output_pfx + VALIDATION_NAME)


def n90_groups(ids: np.ndarray, counts: np.ndarray) -> tuple[list, list]:
    """(group A, group B): ids sorted by count descending, A the first ones reaching 90 % of all rows."""
    order = sorted(zip(ids.tolist(), counts.tolist()), key=lambda pair: -pair[1])  # stable: ties keep byte order
    target = int(0.9 * sum(counts.tolist()))
    running = 0
    for i, (_, count) in enumerate(order):
        running += count
        if running >= target:
            n90 = i + 1
            break
    else:
        n90 = len(order)
    return [pair[0] for pair in order[:n90]], [pair[0] for pair in order[n90:]]


def draw(group: list, val_fraction: float, rng: np.random.RandomState) -> tuple[list, list]:
    """(training ids, validation ids) as sklearn's train_test_split(shuffle=True) draws them."""
    if len(group) < 2:
        return list(group), []
    n_val = math.ceil(val_fraction * len(group))
    perm = rng.permutation(len(group))
    return [group[i] for i in perm[n_val:]], [group[i] for i in perm[:n_val]]


def assign(unit_ids: np.ndarray, val_fraction: float, seed: int | None) -> tuple[list, list]:
    ids, counts = np.unique(unit_ids, return_counts=True)
    group_a, group_b = n90_groups(ids, counts)
    rng = np.random.RandomState(seed)
    train_a, val_a = draw(group_a, val_fraction, rng)
    train_b, val_b = draw(group_b, val_fraction, rng)
    return train_a + train_b, val_a + val_b


def split(h5_to_split, output_pfx, val_fraction: float = 0.2, seed: int | None = 0,
          region_bp: int | None = DEFAULT_REGION_BP, block_rows: int = 64) -> SplitSummary:
    if not 0 < val_fraction < 1:
        raise HelixtuneError(f"--val-fraction must be between 0 and 1, got {val_fraction}")
    training_path, validation_path = output_paths(output_pfx)
    check_output_path(training_path, h5_to_split)
    check_output_path(validation_path, h5_to_split)
    with h5layout.open_h5(h5_to_split) as source:
        h5layout.require_datasets(source, [h5layout.SEQIDS], h5_to_split)
        if h5layout.Y.path not in source:
            raise InputFileError(h5_to_split, "has no labels (data/y): it looks like a genome file; split divides "
                                              "annotated data (from gff2h5, export or select-confident) for training")
        seqids = source[h5layout.SEQIDS.path][:]
        if len(seqids) == 0:
            raise InputFileError(h5_to_split, "has no subsequences to split")
        units, unit = seqids, "sequence"
        training_ids, validation_ids = assign(units, val_fraction, seed)
        if not validation_ids and region_bp:
            h5layout.require_datasets(source, [h5layout.START_ENDS], h5_to_split)
            low = source[h5layout.START_ENDS.path][:].min(axis=1)
            units = np.array([s + b":%d" % (lo // region_bp) for s, lo in zip(seqids, low)])
            unit = "region"
            training_ids, validation_ids = assign(units, val_fraction, seed)
        in_validation = np.isin(units, np.array(validation_ids, dtype=units.dtype)) if validation_ids else \
            np.zeros(len(units), dtype=bool)
        summary = SplitSummary(str(h5_to_split), str(training_path), str(validation_path), unit, len(units),
                               h5layout.decode_strings(training_ids), h5layout.decode_strings(validation_ids),
                               int((~in_validation).sum()), int(in_validation.sum()), seed,
                               region_bp if unit == "region" else None)
        with atomic_output(training_path) as training_tmp, atomic_output(validation_path) as validation_tmp:
            for tmp, rows, side in ((training_tmp, np.flatnonzero(~in_validation), "training"),
                                    (validation_tmp, np.flatnonzero(in_validation), "validation")):
                with h5py.File(tmp, "w") as out:
                    copy_row_subset(source, out, rows, block_rows, desc=side)
                    out.attrs["split_unit"] = unit if unit == "sequence" else f"region of {region_bp} bp"
                    out.attrs["split_seed"] = "None" if seed is None else str(seed)
                    out.attrs["split_val_fraction"] = str(val_fraction)
                    out.attrs["split_source"] = str(h5_to_split)
    return summary


def format_summary(summary: SplitSummary) -> str:
    def show(ids):
        return ", ".join(ids[:8]) + (f", ... ({len(ids)} in all)" if len(ids) > 8 else "")

    units = "sequences" if summary.unit == "sequence" else \
        f"regions of {summary.region_bp:,} bp (whole sequences would leave validation empty)"
    return (f"assigning {len(summary.training_ids)} and {len(summary.validation_ids)} {units} to train and "
            f"val respectively (seed {summary.seed})\n"
            f"training:   {summary.training_rows} subsequences from {show(summary.training_ids)}\n"
            f"validation: {summary.validation_rows} subsequences from {show(summary.validation_ids) or 'none'}")
