"""Which check's model is kept, and when the run stops early; the model files a run writes.

`Selection` follows upstream: the best score starts at 0 and a check must beat it strictly; after `patience`
checks in a row without improvement (counted in checks, not epochs) the run stops. Unlike upstream, the first
check's model is always kept, so a run leaves a model behind even when its score stays 0.
"""

from __future__ import annotations

from pathlib import Path

from helixtune.model import model_file


class Selection:
    def __init__(self, select_by: str, patience: int):
        self.select_by = select_by
        self.patience = patience
        self.best_score = 0.0
        self.best_saved = False
        self.checks_without_improvement = 0

    def update(self, score: float) -> bool:
        """Count one check with `score`; True when it is the new best (its model is to be saved)."""
        improved = score > self.best_score or not self.best_saved
        if improved:
            self.best_score = max(score, self.best_score)
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
                "checks_without_improvement": self.checks_without_improvement}

    def load_state_dict(self, state: dict) -> None:
        self.best_score = float(state.get("best_score", state.get("best_genic_f1", 0.0)))  # older checkpoints
        self.best_saved = bool(state["best_saved"])
        if state.get("select_by", "genic-f1") != self.select_by:
            # another selection metric: its scores are not comparable; the next check starts the new best
            self.best_score, self.best_saved = 0.0, False
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
