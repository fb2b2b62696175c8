"""Base-wise metrics exactly as upstream Helixer computes them (helixer/prediction/Metrics.py).

Two accumulating confusion matrices, `cm[reference, prediction]` (uint64):

* genic: classes ig, utr, exon (= the CDS class), intron, with the composite scores
  `legacy_cds` (CDS and intron merged), `sub_genic` (exon + intron) and `genic` (utr + exon + intron).
  The genic F1 is upstream's model-selection criterion.
* phase: classes no_phase, phase_0, phase_1, phase_2, per-class scores only (upstream's
  `ConfusionMatrixPhase` composites are not used by its Metrics, so they are not reported here either).

Per class c: TP = cm[c, c], FP = column sum without the diagonal, FN = row sum without the diagonal.
Composites sum the members' TP, FP and FN (so a CDS base predicted as intron is a FP and a FN of the
genic composite, as upstream counts it). precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R),
each 0 when its denominator is 0. Accuracy = trace / total (NaN for an empty matrix).

Masks: upstream drops a whole pool-size timestep when any of its bases has sample weight 0 (error
masked or padding); `pooled_mask` builds that mask from per-base sample weights. `update` accepts
class-index arrays or arrays with a trailing class axis (one-hot labels, probabilities), which are
argmax'd (ties go to the lower class index, as numpy's argmax does upstream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

GENIC_CLASSES = ("ig", "utr", "exon", "intron")
PHASE_CLASSES = ("no_phase", "phase_0", "phase_1", "phase_2")

# composites of the genic matrix: member classes whose TP/FP/FN are summed (upstream ConfusionMatrixGenic)
GENIC_COMPOSITES = {
    "sub_genic": ("exon", "intron"),
    "genic": ("utr", "exon", "intron"),
}


def precision_recall_f1(tp, fp, fn) -> tuple[float, float, float]:
    """Upstream's `_precision_recall_f1`: every ratio is 0 when its denominator is 0."""
    tp, fp, fn = float(tp), float(fp), float(fn)
    precision = tp / (tp + fp) if (tp + fp) > 0 else 0.0
    recall = tp / (tp + fn) if (tp + fn) > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if (precision + recall) > 0 else 0.0
    return precision, recall, f1


def _score(tp, fp, fn) -> dict:
    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    return {"TP": int(tp), "FP": int(fp), "FN": int(fn), "precision": precision, "recall": recall, "f1": f1}


def pooled_mask(sample_weights, pool_size: int = 9) -> np.ndarray:
    """Per-base boolean mask from per-base sample weights (..., L), with upstream's timestep pooling.

    A base is kept only if every base of its pool-size timestep has a non-zero weight; the last
    L % pool_size bases (which upstream clips off before the network) are never kept.
    """
    sw = np.asarray(sample_weights)
    length = sw.shape[-1]
    n_steps = length // pool_size
    keep = np.zeros(sw.shape, dtype=bool)
    usable = n_steps * pool_size
    steps = sw[..., :usable].reshape(sw.shape[:-1] + (n_steps, pool_size)) != 0
    keep[..., :usable] = np.repeat(steps.all(axis=-1), pool_size, axis=-1)
    return keep


def class_indices(array, n_classes: int, has_class_axis: bool | None = None) -> np.ndarray:
    """Class indices from an index array or from an array with a trailing class axis (argmax).

    `has_class_axis=None` guesses: floating arrays, and integer/bool arrays whose last axis has
    length `n_classes` and at least two dimensions, are treated as having a class axis. Pass the
    flag (or a mask, in `ConfusionMatrix.update`) when an index array could be mistaken for one-hot.
    """
    array = np.asarray(array)
    if has_class_axis is None:
        has_class_axis = _guess_class_axis(array, n_classes)
    if has_class_axis:
        if array.shape[-1] != n_classes:
            raise ValueError(f"expected a trailing axis of {n_classes} classes, got shape {array.shape}")
        return np.argmax(array, axis=-1)
    if array.dtype.kind not in "iub":
        raise ValueError(f"class indices must be integers, got dtype {array.dtype}")
    return array


def _guess_class_axis(array: np.ndarray, n_classes: int) -> bool:
    return array.dtype.kind == "f" or (array.ndim >= 2 and array.shape[-1] == n_classes)


@dataclass
class ConfusionMatrix:
    """An accumulating confusion matrix `cm[reference, prediction]` with upstream's scores."""

    class_names: tuple
    composites: dict = field(default_factory=dict)
    legacy_cds: bool = False  # add upstream's legacy_cds composite (genic matrix only)
    cm: np.ndarray = None

    def __post_init__(self):
        self.class_names = tuple(self.class_names)
        n = len(self.class_names)
        if self.cm is None:
            self.cm = np.zeros((n, n), dtype=np.uint64)
        else:
            self.cm = np.asarray(self.cm, dtype=np.uint64).reshape(n, n).copy()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def update(self, reference, prediction, mask=None, class_axis: bool | None = None) -> None:
        """Add one batch. `reference`/`prediction`: class indices or arrays with a class axis
        (one-hot, probabilities), in any combination. `mask`: boolean, True = count; its shape is the
        index shape or a prefix of it (e.g. a (B, T) timestep mask for (B, T, P) bases).
        `class_axis` says whether `prediction` has a class axis (guessed when None: floating arrays,
        and integer arrays whose last axis has n_classes entries); the reference's form follows from
        the number of dimensions."""
        if mask is not None:
            mask = np.asarray(mask).astype(bool, copy=False)
        n = self.n_classes
        pred_axis = class_axis
        if pred_axis is None:
            pred_axis = _guess_class_axis(np.asarray(prediction), n)
        ref_ndim, pred_ndim = np.ndim(reference), np.ndim(prediction)
        # the reference has a class axis when it has one more dimension than the prediction's indices
        ref_axis = ref_ndim == pred_ndim - (1 if pred_axis else 0) + 1
        ref = class_indices(reference, n, ref_axis)
        pred = class_indices(prediction, n, pred_axis)
        if ref.shape != pred.shape:
            raise ValueError(f"reference {ref.shape} and prediction {pred.shape} do not align")
        if mask is not None:
            if mask.shape != ref.shape:
                if mask.shape != ref.shape[:mask.ndim]:
                    raise ValueError(f"mask {mask.shape} does not fit class indices {ref.shape}")
                mask = np.broadcast_to(mask.reshape(mask.shape + (1,) * (ref.ndim - mask.ndim)), ref.shape)
            ref = ref[mask]
            pred = pred[mask]
        ref = ref.ravel().astype(np.int64, copy=False)
        pred = pred.ravel().astype(np.int64, copy=False)
        if ref.size == 0:
            return
        if ref.min() < 0 or ref.max() >= n or pred.min() < 0 or pred.max() >= n:
            raise ValueError(f"class indices outside 0..{n - 1}")
        self.cm += np.bincount(ref * n + pred, minlength=n * n).reshape(n, n).astype(np.uint64)

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add another matrix's counts (e.g. from another process or data file)."""
        if other.class_names != self.class_names:
            raise ValueError("cannot merge confusion matrices of different classes")
        self.cm += other.cm
        return self

    def reset(self) -> None:
        self.cm[:] = 0

    @property
    def total(self) -> int:
        return int(self.cm.sum())

    def accuracy(self) -> float:
        total = self.cm.sum()
        return float(np.trace(self.cm) / total) if total > 0 else math.nan

    def normalized(self) -> np.ndarray:
        """Row-normalised matrix (fraction of each reference class); NaN rows for absent classes."""
        sums = self.cm.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.cm / sums[:, None]

    def scores(self) -> dict:
        """Per-class then composite scores: name -> {TP, FP, FN, precision, recall, f1}."""
        cm = self.cm.astype(np.int64)  # counts stay far below 2**63
        scores = {}
        for c, name in enumerate(self.class_names):
            tp = cm[c, c]
            scores[name] = _score(tp, cm[:, c].sum() - tp, cm[c, :].sum() - tp)
        if self.legacy_cds:
            # CDS and intron merged; errors between them do not count (upstream's legacy 3-column CDS F1)
            scores["legacy_cds"] = _score(cm[2, 2] + cm[3, 3] + cm[2, 3] + cm[3, 2],
                                          cm[0, 2] + cm[0, 3] + cm[1, 2] + cm[1, 3],
                                          cm[2, 0] + cm[3, 0] + cm[2, 1] + cm[3, 1])
        for name, members in self.composites.items():
            scores[name] = _score(*(sum(scores[m][k] for m in members) for k in ("TP", "FP", "FN")))
        return scores

    def to_dict(self) -> dict:
        """JSON-ready summary (NaN accuracy of an empty matrix becomes None)."""
        accuracy = self.accuracy()
        return {
            "classes": list(self.class_names),
            "confusion_matrix": self.cm.astype(int).tolist(),
            "scores": self.scores(),
            "total_accuracy": None if math.isnan(accuracy) else accuracy,
        }

    def format_tables(self) -> str:
        """Upstream's printed tables, character for character: confusion_matrix,
        normalized_confusion_matrix, F1_summary (with its empty `norm. H` column), total accuracy."""
        names = list(self.class_names)
        header = [""] + [f"{x}_pred" for x in names]
        cm_rows = [[f"{names[i]}_ref"] + row for i, row in enumerate(self.cm.astype(int).tolist())]
        norm_rows = [[f"{names[i]}_ref"] + [round(v, 4) for v in row]
                     for i, row in enumerate(self.normalized().tolist())]
        score_rows = []
        for i, (name, s) in enumerate(self.scores().items()):
            score_rows.append([name, ""] + [f"{s[k]:.4f}" for k in ("precision", "recall", "f1")])
            if i == len(names) - 1 and len(self.scores()) > len(names):
                score_rows.append([""] * 4)  # upstream's blank line before the composites
        parts = [
            format_table([header] + cm_rows, "confusion_matrix"),
            format_table([header] + norm_rows, "normalized_confusion_matrix"),
            format_table([["", "norm. H", "Precision", "Recall", "F1-Score"]] + score_rows, "F1_summary"),
        ]
        return "\n\n".join(parts) + f"\nTotal acc: {self.accuracy():.4f}"


def genic_confusion_matrix(cm=None) -> ConfusionMatrix:
    """The 4-class genic matrix (ig, utr, exon, intron) with legacy_cds, sub_genic and genic composites."""
    return ConfusionMatrix(GENIC_CLASSES, composites=dict(GENIC_COMPOSITES), legacy_cds=True, cm=cm)


def phase_confusion_matrix(cm=None) -> ConfusionMatrix:
    """The 4-class phase matrix (no_phase, phase_0, phase_1, phase_2), per-class scores as upstream."""
    return ConfusionMatrix(PHASE_CLASSES, cm=cm)


class BasewiseMetrics:
    """Genic and (optional) phase matrices accumulated together, as upstream's Metrics does.

    Typical use in a validation loop (arrays per batch, numpy or anything `np.asarray` accepts)::

        metrics = BasewiseMetrics()
        for batch in batches:
            mask = pooled_mask(batch.sample_weights, pool_size)            # (B, L) bool
            metrics.update(batch.y, genic_probs, mask, batch.phases, phase_probs)
        metrics.genic_f1   # model-selection score
    """

    def __init__(self, genic_cm=None, phase_cm=None):
        self.genic = genic_confusion_matrix(genic_cm)
        self.phase = phase_confusion_matrix(phase_cm)
        self.has_phase = phase_cm is not None

    def update(self, reference, prediction, mask=None, reference_phase=None, prediction_phase=None) -> None:
        self.genic.update(reference, prediction, mask)
        if reference_phase is not None and prediction_phase is not None:
            self.phase.update(reference_phase, prediction_phase, mask)
            self.has_phase = True

    def merge(self, other: "BasewiseMetrics") -> "BasewiseMetrics":
        self.genic.merge(other.genic)
        self.phase.merge(other.phase)
        self.has_phase = self.has_phase or other.has_phase
        return self

    def reset(self) -> None:
        self.genic.reset()
        self.phase.reset()
        self.has_phase = False

    @property
    def genic_f1(self) -> float:
        """Upstream's model-selection score (NaN is impossible by the zero rules, but mapped to 0)."""
        f1 = self.genic.scores()["genic"]["f1"]
        return 0.0 if math.isnan(f1) else f1

    @property
    def phase_f1(self) -> float:
        """F1 of the coding phases pooled (TP, FP, FN summed over phase_0..2), i.e. upstream's
        `ConfusionMatrixPhase` "phase" composite: like a CDS F1 that also penalises frame shifts.
        Upstream's Metrics prints only the per-class values; this single number is for summaries."""
        if not self.has_phase:
            return math.nan
        scores = self.phase.scores()
        totals = [sum(scores[c][k] for c in PHASE_CLASSES[1:]) for k in ("TP", "FP", "FN")]
        return precision_recall_f1(*totals)[2]

    def to_dict(self) -> dict:
        out = {"genic_base_wise": self.genic.to_dict()}
        if self.has_phase:
            out["phase_base_wise"] = self.phase.to_dict()
        return out

    def format_tables(self) -> str:
        parts = ["genic (base-wise)", self.genic.format_tables()]
        if self.has_phase:
            parts += ["phase (base-wise)", self.phase.format_tables()]
        return "\n\n".join(parts)


def format_table(rows: list[list], title: str = "") -> str:
    """An ASCII table laid out like terminaltables' AsciiTable (upstream's console output): the title
    is written over the start of the top border, the heading row is ruled off, short rows are padded."""
    n_columns = max(len(row) for row in rows)
    rows = [[str(cell) for cell in row] + [""] * (n_columns - len(row)) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(n_columns)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    top = rule
    if title and len(title) <= len(rule) - 2:
        top = "+" + title + rule[1 + len(title):]

    def line(row):
        return "|" + "|".join(f" {cell.ljust(w)} " for cell, w in zip(row, widths)) + "|"

    return "\n".join([top, line(rows[0]), rule] + [line(r) for r in rows[1:]] + [rule])
