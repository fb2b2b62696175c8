"""Which check's model is kept, and when the run stops early; the model files a run writes.

`Selection` follows upstream: the best score starts at 0 and a check must beat it strictly; after `patience`
checks in a row without improvement (counted in checks, not epochs) the run stops. Unlike upstream, the first
check's model is always kept, so a run leaves a model behind even when its score stays 0, and a gene-level
score that ties the best (a small validation set scores few genes, so ties are common) is broken by the
check's base-wise genic F1: of two checks whose decoded genes score the same, the one whose base-wise
predictions agree better with the validation labels is kept.
"""

from __future__ import annotations

from pathlib import Path

from helixtune.model import model_file


class Selection:
    def __init__(self, select_by: str, patience: int):
        self.select_by = select_by
        self.patience = patience
        self.best_score = 0.0
        self.best_tie_break = None  # the best check's tie-breaking score (gene-level selection), if any
        self.best_saved = False
        self.checks_without_improvement = 0

    def update(self, score: float, tie_break: float | None = None) -> bool:
        """Count one check with `score` (and the score that breaks a tie, if any); True when it is the new best
        (its model is to be saved)."""
        tied_but_better = (score == self.best_score and tie_break is not None and self.best_tie_break is not None
                           and tie_break > self.best_tie_break)
        improved = score > self.best_score or not self.best_saved or tied_but_better
        if improved:
            self.best_score = max(score, self.best_score)
            self.best_tie_break = tie_break
            self.checks_without_improvement = 0
            self.best_saved = True
        else:
            self.checks_without_improvement += 1
        return improved

    @property
    def out_of_patience(self) -> bool:
        return self.checks_without_improvement >= self.patience

    def state_dict(self) -> dict:
        return {"best_score": self.best_score, "select_by": self.select_by, "best_saved": self.best_saved,
                "checks_without_improvement": self.checks_without_improvement, "best_tie_break": self.best_tie_break}

    def load_state_dict(self, state: dict) -> None:
        self.best_score = float(state.get("best_score", state.get("best_genic_f1", 0.0)))  # older checkpoints
        self.best_saved = bool(state["best_saved"])
        self.best_tie_break = state.get("best_tie_break")
        if state.get("select_by", "genic-f1") != self.select_by:
            # another selection metric: its scores are not comparable; the next check starts the new best
            self.best_score, self.best_saved, self.best_tie_break = 0.0, False, None
        self.checks_without_improvement = int(state["checks_without_improvement"])


class ModelWriter:
    """Writes a check's model as a helixtune model file, its provenance naming the check that produced it."""

    def __init__(self, metadata: dict):
        self.metadata = metadata  # architecture-independent part: provenance, base model, frozen base

    def write(self, path: Path, model, training: dict) -> None:
        metadata = dict(self.metadata)
        provenance = dict(metadata.get("provenance", {}))
        provenance["training"] = training
        metadata["provenance"] = provenance
        model_file.save_model(path, model, metadata)
