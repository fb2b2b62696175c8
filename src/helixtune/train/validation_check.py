"""One validation check: upstream's base-wise metrics over the whole validation set, and the selection score.

A check runs the current weights over every validation chunk (each process its share, the confusion matrices
summed over processes) and scores them by `--select-by`: a base-wise composite F1, or, for the gene-level
metrics, the F1 of gene models decoded from a fixed validation subset (`gene_check.GeneLevelCheck`).
"""

from __future__ import annotations

from dataclasses import dataclass

from helixtune.evaluate.basewise import BasewiseMetrics
from helixtune.train.gene_check import basewise_score
from helixtune.train.module import metrics_from_tensor, metrics_to_tensor


@dataclass
class CheckResult:
    metrics: BasewiseMetrics  # of the whole validation set
    score: float  # of the --select-by metric
    genes: dict | None = None  # the gene-level check's figures (cds_exon_f1, gene_f1, genes, seconds), if any
    tie_break: float | None = None  # gene-level selection: base-wise genic F1, which breaks a tie of `score`


class ValidationCheck:
    def __init__(self, val_loader, select_by: str, gene_check=None):
        self.val_loader = val_loader
        self.select_by = select_by
        self.gene_check = gene_check  # GeneLevelCheck for --select-by cds-exon-f1 / gene-f1

    def __call__(self, trainer, pl_module) -> CheckResult:
        metrics = pl_module.evaluate(self.val_loader)
        if trainer.world_size > 1:
            summed = trainer.strategy.reduce(metrics_to_tensor(metrics).to(pl_module.device), reduce_op="sum")
            metrics = metrics_from_tensor(summed, bool(summed[-1].item()))
        if self.gene_check is not None:
            genes = self.gene_check(pl_module.model)
            return CheckResult(metrics, self.gene_check.score(genes, self.select_by), genes,
                               tie_break=basewise_score(metrics, "genic-f1"))
        return CheckResult(metrics, basewise_score(metrics, self.select_by))
