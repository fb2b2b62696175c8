"""Keep the subsequences whose decoded labels agree best with the raw predictions (`helixtune select-confident`).

The pseudolabel filter of upstream's `filter-to-most-certain.py` (helixer_scratch), with its defects fixed:

1. Per subsequence, the discrepancy is the mean absolute difference between the one-hot labels (`data/y`,
   from the HelixerPost GFF3 imported and exported) and the raw class predictions, summed over the four
   classes, over the labelled (non-padding) bases: sum_c sum_pos |y - p| / number of labelled bases.
   Upstream sums float16 values in float16 and saturates (adding 0.1 to 2048 rounds back to 2048); here
   the sums are float64.
2. Subsequences are stratified by their intergenic fraction with upstream's rule (quantiles at 1/6 ... 5/6,
   equal quantiles merging strata), so that the kept set is not all gene-free or all gene-dense.
3. `int(N * keep_fraction)` subsequences are kept, shared as evenly as the strata allow: a stratum smaller
   than its share gives its remainder to the others. Upstream gives each stratum `n // n_strata` slots
   and fills the slots a small stratum cannot use with arbitrary rows of other strata (possibly picking
   none at all); here every kept row is one of the lowest-discrepancy rows of its own stratum, ties broken
   by row order, so runs repeat.
4. The rows of the two files must be the same subsequences. Upstream never checks (a geenuff2h5 file is
   in length order, predictions in FASTA order); here rows are matched by (seqid, start, end), taken from
   the predictions file itself or from the genome file the predictions were made from.

The output has the label file's layout with only the kept rows (in their original order), all metadata
datasets (e.g. coverage BAM lists) copied whole, and `pseudolabel/*` per-row scores.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import h5py
import numpy as np

from helixtune import h5layout
from helixtune.atomic import atomic_output
from helixtune.errors import HelixtuneError, InputFileError
from helixtune.progress import progress_bar
from helixtune.pseudolabel.h5rows import align_rows, check_output_path, copy_row_subset, read_rows, row_keys

QUANTILES = (1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6)  # upstream's stratum edges
LAYOUTS = ("genome", "helixer-0.3.6")  # as helixtune predict names them


@dataclass
class Stratum:
    index: int
    intergenic_fraction_min: float
    intergenic_fraction_max: float
    n_rows: int
    n_kept: int
    discrepancy_median: float
    kept_max: float  # the highest discrepancy kept (nan when none kept)
    first_rejected: float  # the lowest discrepancy not kept (nan when all kept)


@dataclass
class SelectionSummary:
    labels_path: str
    predictions_path: str
    output_path: str | None
    n_rows: int
    n_scored: int  # rows with at least one labelled base
    n_target: int
    n_kept: int
    keep_fraction: float
    alignment: str  # how rows were matched
    strata: list[Stratum] = field(default_factory=list)
    labelled_bases: int = 0
    genic_fraction_all: float = 0.0  # fraction of labelled bases that are not intergenic, all rows
    genic_fraction_kept: float = 0.0
    kept_rows_with_genes: int = 0
    discrepancy_mean_all: float = math.nan
    discrepancy_mean_kept: float = math.nan
    plot_path: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=float)


def discrepancy_stats(labels: h5py.Dataset, predictions: h5py.Dataset, prediction_rows: np.ndarray,
                      block_rows: int = 64, padding_first_start_ends: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: summed |y - p| per class (float64, (N, 4)) and labelled-base counts per class (int64, (N, 4)).

    `padding_first_start_ends`: the label rows' start_ends when the predictions have padded minus-strand
    chunks padding-first (upstream 0.3.6+); they are rotated back to the labels' layout.
    """
    n = labels.shape[0]
    distance = np.zeros((n, 4), dtype=np.float64)
    counts = np.zeros((n, 4), dtype=np.int64)
    with progress_bar(total=n, desc="discrepancy", unit="rows") as bar:
        for begin in range(0, n, block_rows):
            end = min(begin + block_rows, n)
            y = labels[begin:end].astype(np.float32)
            p = read_rows(predictions, prediction_rows[begin:end])
            if padding_first_start_ends is not None:
                p = h5layout.rotate_minus_padding_last(p, padding_first_start_ends[begin:end])
            p = p.astype(np.float32)
            labelled = y.sum(axis=-1, keepdims=True) > 0  # padding rows of y are all 0
            distance[begin:end] = (np.abs(y - p) * labelled).sum(axis=1, dtype=np.float64)
            counts[begin:end] = y.sum(axis=1, dtype=np.int64)
            bar.update(end - begin)
    return distance, counts


def stratify(intergenic_fraction: np.ndarray) -> np.ndarray:
    """Upstream's strata: the number of quantile edges (at 1/6 ... 5/6) below each value (0..5)."""
    edges = np.quantile(intergenic_fraction, QUANTILES)
    return np.searchsorted(edges, intergenic_fraction, side="left")


def allocate(sizes: list[int], n_target: int) -> list[int]:
    """Share n_target slots as evenly as possible among strata of the given sizes (never above a size)."""
    alloc = [0] * len(sizes)
    remaining = min(n_target, sum(sizes))
    while remaining > 0:
        open_strata = [i for i, size in enumerate(sizes) if alloc[i] < size]
        share = max(1, remaining // len(open_strata))
        for i in open_strata:
            add = min(share, sizes[i] - alloc[i], remaining)
            alloc[i] += add
            remaining -= add
            if remaining == 0:
                break
    return alloc


def choose_rows(discrepancy: np.ndarray, strata: np.ndarray, n_target: int) -> tuple[np.ndarray, list]:
    """Boolean keep mask (rows with nan discrepancy never kept) and, per stratum, (members in order, n kept)."""
    scored = np.flatnonzero(~np.isnan(discrepancy))
    labels = np.unique(strata[scored])
    members = []
    for label in labels:
        rows = scored[strata[scored] == label]
        members.append(rows[np.argsort(discrepancy[rows], kind="stable")])  # ties: row order
    alloc = allocate([len(m) for m in members], n_target)
    keep = np.zeros(len(discrepancy), dtype=bool)
    for rows, n in zip(members, alloc):
        keep[rows[:n]] = True
    return keep, list(zip(labels.tolist(), members, alloc))


def _prediction_row_map(labels_h5, predictions_h5, labels_path, predictions_path, genome_h5_path,
                        assume_aligned: bool) -> tuple[np.ndarray, str]:
    n_labels = labels_h5[h5layout.Y.path].shape[0]
    n_predictions = predictions_h5[h5layout.PREDICTIONS.path].shape[0]
    label_keys = row_keys(labels_h5)
    if label_keys is None:
        raise InputFileError(labels_path, "has no data/seqids and data/start_ends to identify its rows")
    source_keys, source = row_keys(predictions_h5), f"the seqids/start_ends of {predictions_path}"
    if source_keys is None and genome_h5_path is None and not assume_aligned:
        candidate = predictions_h5.attrs.get("test_data_path")
        if isinstance(candidate, bytes):
            candidate = candidate.decode()
        if candidate:  # as written by the predictor: absolute, or relative to where it ran
            for path in (Path(str(candidate)), Path(predictions_path).parent / str(candidate)):
                if path.is_file():
                    genome_h5_path = str(path)
                    break
    if source_keys is None and genome_h5_path is not None:
        with h5layout.open_h5(genome_h5_path) as genome:
            source_keys = row_keys(genome)
            if source_keys is None:
                raise InputFileError(genome_h5_path, "has no data/seqids and data/start_ends")
            if len(source_keys) != n_predictions:
                raise InputFileError(predictions_path, f"has {n_predictions} rows but its genome file "
                                                       f"{genome_h5_path} has {len(source_keys)}")
        source = f"the genome file {genome_h5_path}"
    if source_keys is None:
        if not assume_aligned:
            raise InputFileError(predictions_path, "carries no seqids/start_ends, so its rows cannot be matched to "
                                                   f"{labels_path}; give the genome h5 it was predicted from "
                                                   "(--genome-h5), or --assume-aligned to trust the row order")
        if n_predictions != n_labels:
            raise InputFileError(predictions_path, f"has {n_predictions} rows but {labels_path} has {n_labels}; "
                                                   "the rows cannot line up")
        return np.arange(n_labels), "assumed (row order, not checked)"
    mapping = align_rows(label_keys, source_keys, labels_path, predictions_path)
    identity = n_predictions == n_labels and np.array_equal(mapping, np.arange(n_labels))
    return mapping, f"matched by seqid/start/end using {source}" + ("" if identity else " (reordered)")


def predictions_layout(predictions_h5, requested: str = "auto") -> str:
    """Where padded minus-strand chunks keep their real bases: "genome" (first) or "helixer-0.3.6" (last).

    helixtune's predict records it in the attribute `padded_minus_layout`; files without it are taken to be
    from upstream Helixer 0.3.6 or later, which writes such chunks padding-first (docs/models.md, padded
    minus-strand subsequences).
    """
    if requested != "auto":
        if requested not in LAYOUTS:
            raise HelixtuneError(f"unknown predictions layout '{requested}' (use auto, {', '.join(LAYOUTS)})")
        return requested
    recorded = predictions_h5.attrs.get("padded_minus_layout")
    if isinstance(recorded, bytes):
        recorded = recorded.decode()
    return str(recorded) if recorded in LAYOUTS else "helixer-0.3.6"


def select_confident(h5_to_filter, predictions, output_file=None, keep_fraction: float = 0.2,
                     genome_h5=None, assume_aligned: bool = False, dry_run: bool = False,
                     plot_path=None, block_rows: int = 64, padded_minus_layout: str = "auto") -> SelectionSummary:
    """Write to `output_file` the `keep_fraction` of rows of `h5_to_filter` most consistent with `predictions`."""
    if not (isinstance(keep_fraction, (int, float)) and 0 < keep_fraction <= 1):
        raise HelixtuneError(f"--keep-fraction must be in (0, 1], got {keep_fraction}")
    if output_file is None and not dry_run:
        raise HelixtuneError("give --output-file (or --dry-run)")
    if output_file is not None:
        check_output_path(output_file, h5_to_filter, predictions, genome_h5)
    with h5layout.open_h5(h5_to_filter) as labels_h5, h5layout.open_h5(predictions) as predictions_h5:
        h5layout.require_datasets(labels_h5, [h5layout.Y], h5_to_filter)
        h5layout.require_datasets(predictions_h5, [h5layout.PREDICTIONS], predictions)
        y, p = labels_h5[h5layout.Y.path], predictions_h5[h5layout.PREDICTIONS.path]
        if y.shape[1:] != p.shape[1:]:
            raise InputFileError(predictions, f"predictions have rows of shape {p.shape[1:]} but the labels "
                                              f"{y.shape[1:]}; were they made with another subsequence length?")
        mapping, alignment = _prediction_row_map(labels_h5, predictions_h5, h5_to_filter, predictions, genome_h5,
                                                 assume_aligned)
        layout = predictions_layout(predictions_h5, padded_minus_layout)
        rotate = labels_h5[h5layout.START_ENDS.path][:] if layout == "helixer-0.3.6" else None
        alignment += f"; padded minus-strand predictions in the {layout} layout"
        distance, counts = discrepancy_stats(y, p, mapping, block_rows, rotate)
        n_rows = len(counts)
        labelled = counts.sum(axis=1)
        not_a_number = (labelled > 0) & np.isnan(distance.sum(axis=1))
        if not_a_number.any():
            raise InputFileError(predictions, f"contains NaN (not-a-number) probabilities in "
                                              f"{int(not_a_number.sum())} of {n_rows} subsequences; the model "
                                              "that made them is damaged")
        with np.errstate(invalid="ignore", divide="ignore"):
            discrepancy = np.where(labelled > 0, distance.sum(axis=1) / labelled, np.nan)
            intergenic = np.where(labelled > 0, counts[:, 0] / labelled, np.nan)
        scored = ~np.isnan(discrepancy)
        if not scored.any():
            raise InputFileError(h5_to_filter, "no subsequence has a labelled base (data/y is all padding)")
        strata = np.full(n_rows, -1, dtype=np.int64)
        strata[scored] = stratify(intergenic[scored])
        n_target = max(1, int(math.floor(n_rows * keep_fraction + 1e-9)))
        keep, per_stratum = choose_rows(discrepancy, strata, n_target)

        summary = SelectionSummary(str(h5_to_filter), str(predictions), None if dry_run else str(output_file),
                                   n_rows, int(scored.sum()), n_target, int(keep.sum()), float(keep_fraction),
                                   alignment)
        for label, members, n_kept in per_stratum:
            values = discrepancy[members]
            fractions = intergenic[members]
            summary.strata.append(Stratum(
                int(label), float(fractions.min()), float(fractions.max()), len(members), int(n_kept),
                float(np.median(values)), float(values[n_kept - 1]) if n_kept else math.nan,
                float(values[n_kept]) if n_kept < len(members) else math.nan))
        summary.labelled_bases = int(labelled.sum())
        summary.genic_fraction_all = float(1 - counts[:, 0].sum() / labelled.sum())
        kept_labelled = labelled[keep].sum()
        summary.genic_fraction_kept = float(1 - counts[keep, 0].sum() / kept_labelled) if kept_labelled else 0.0
        summary.kept_rows_with_genes = int(((counts[:, 1:].sum(axis=1) > 0) & keep).sum())
        summary.discrepancy_mean_all = float(np.nanmean(discrepancy))
        summary.discrepancy_mean_kept = float(discrepancy[keep].mean())

        if plot_path is not None:
            plot_selection(discrepancy, intergenic, strata, keep, summary, plot_path)
            summary.plot_path = str(plot_path)
        if dry_run:
            return summary
        selected = np.flatnonzero(keep)
        with atomic_output(output_file) as tmp:
            with h5py.File(tmp, "w") as out:
                copy_row_subset(labels_h5, out, selected, block_rows, desc="write kept")
                for spec, values in ((h5layout.PSEUDOLABEL_DISCREPANCY, discrepancy[selected]),
                                     (h5layout.PSEUDOLABEL_INTERGENIC_FRACTION, intergenic[selected]),
                                     (h5layout.PSEUDOLABEL_STRATUM, strata[selected]),
                                     (h5layout.PSEUDOLABEL_SOURCE_ROW, selected)):
                    if spec.path in out:  # a file filtered twice: scores of this round replace the old ones
                        del out[spec.path]
                    h5layout.create_dataset(out, spec, len(selected), data=np.asarray(values, dtype=spec.dtype))
                # upstream records its arguments as string attributes; same names where upstream has them
                out.attrs["timestamp"] = str(datetime.datetime.now())
                out.attrs["predictions"] = str(predictions)
                out.attrs["h5_to_filter"] = str(h5_to_filter)
                out.attrs["output_file"] = str(output_file)
                out.attrs["keep_fraction"] = str(keep_fraction)
                out.attrs["dry_run"] = "False"
                out.attrs["pseudolabel_selection"] = summary.to_json()
    return summary


def format_summary(summary: SelectionSummary) -> str:
    lines = [f"rows: {summary.n_rows} ({summary.n_scored} with labelled bases); rows {summary.alignment}",
             f"keeping {summary.n_kept} of {summary.n_rows} (target {summary.n_target} = "
             f"floor({summary.n_rows} x {summary.keep_fraction:g}))",
             "stratum  intergenic fraction  rows  kept  median discrepancy  highest kept  lowest rejected"]
    for s in summary.strata:
        lines.append(f"{s.index:>7}  {s.intergenic_fraction_min:8.3f} - {s.intergenic_fraction_max:5.3f}  "
                     f"{s.n_rows:>5} {s.n_kept:>5}  {s.discrepancy_median:18.4f}  {s.kept_max:12.4f}  "
                     f"{s.first_rejected:15.4f}")
    lines.append(f"mean discrepancy: all {summary.discrepancy_mean_all:.4f}, kept {summary.discrepancy_mean_kept:.4f}; "
                 f"genic fraction of labelled bases: all {summary.genic_fraction_all:.3f}, "
                 f"kept {summary.genic_fraction_kept:.3f}; kept rows with genes: {summary.kept_rows_with_genes}")
    return "\n".join(lines)


def plot_selection(discrepancy, intergenic, strata, keep, summary: SelectionSummary, path) -> None:
    """One histogram per stratum: the discrepancy of all rows, and of the rows kept."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(summary.strata)
    fig, axes = plt.subplots(n + 1, 1, figsize=(7, 2.0 * (n + 1)), squeeze=False)
    finite = discrepancy[~np.isnan(discrepancy)]
    low, high = float(finite.min()), float(finite.max())
    bins = np.linspace(low, high if high > low else low + 1e-3, 41)
    for ax, stratum in zip(axes[:, 0], summary.strata):
        members = strata == stratum.index
        ax.hist(discrepancy[members], bins=bins, color="0.75", label=f"all ({stratum.n_rows})")
        ax.hist(discrepancy[members & keep], bins=bins, color="tab:blue", label=f"kept ({stratum.n_kept})")
        ax.set_title(f"stratum {stratum.index}: intergenic fraction {stratum.intergenic_fraction_min:.2f}-"
                     f"{stratum.intergenic_fraction_max:.2f}", fontsize=9)
        ax.legend(fontsize=8)
        ax.set_ylabel("subsequences", fontsize=8)
    ax = axes[-1, 0]
    scored = ~np.isnan(discrepancy)
    ax.scatter(intergenic[scored & ~keep], discrepancy[scored & ~keep], s=6, color="0.6", label="rejected")
    ax.scatter(intergenic[keep], discrepancy[keep], s=6, color="tab:blue", label="kept")
    ax.set_xlabel("intergenic fraction of labelled bases", fontsize=8)
    ax.set_ylabel("discrepancy", fontsize=8)
    ax.legend(fontsize=8)
    axes[-2 if n else -1, 0].set_xlabel("discrepancy (mean |labels - predictions| per base, summed over classes)",
                                        fontsize=8)
    fig.suptitle(f"select-confident: kept {summary.n_kept} of {summary.n_rows} subsequences", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
