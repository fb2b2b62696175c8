"""The Lightning module: one training step = upstream's loss on one batch, optimised with upstream's AdamW."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch

from helixtune.evaluate.basewise import BasewiseMetrics
from helixtune.train.loss import helixer_loss, merge_unannotated_utr
from helixtune.train.optimizer import KerasAdamW


class HelixerTrainingModule(pl.LightningModule):
    def __init__(self, model: torch.nn.Module, learning_rate: float = 3e-4, weight_decay: float = 3.5e-5,
                 clip_norm: float | None = 3.0, optimizer: str = "adamw", utr_reach: int | None = None):
        super().__init__()
        self.utr_reach = utr_reach
        self.model = model
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay if optimizer.lower() == "adamw" else 0.0
        self.clip_norm = clip_norm

    def forward(self, x):
        return self.model(x)

    def compute_loss(self, batch: dict) -> dict:
        genic_logits, phase_logits = self.model.logits(batch["X"])
        genic_lp = merge_unannotated_utr(torch.log_softmax(genic_logits.float(), dim=-1), batch.get("utr_known"),
                                         batch["y"], self.utr_reach)
        phase_lp = None
        if phase_logits is not None and "phases" in batch:
            phase_lp = torch.log_softmax(phase_logits.float(), dim=-1)
        return helixer_loss(genic_lp, batch["y"], batch["sample_weights"], phase_lp,
                            batch.get("phases") if phase_lp is not None else None)

    def training_step(self, batch, batch_idx):
        losses = self.compute_loss(batch)
        loss = losses["loss"]
        self.log("loss", loss.detach(), prog_bar=True, on_step=True, on_epoch=False, batch_size=len(batch["X"]))
        return loss

    def configure_optimizers(self):
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("the model has no trainable parameter")
        return KerasAdamW(params, lr=self.learning_rate, weight_decay=self.weight_decay, clipnorm=self.clip_norm)

    def on_train_epoch_start(self) -> None:
        # frozen parts stay in inference mode whatever Lightning does with .train()
        self.model.train()

    def _precision_context(self):
        """The trainer's autocast (e.g. bf16-mixed) for validation outside Lightning's own loop."""
        from contextlib import nullcontext

        trainer = self._trainer
        return trainer.precision_plugin.forward_context() if trainer is not None else nullcontext()

    @torch.no_grad()
    def evaluate(self, loader) -> BasewiseMetrics:
        """Upstream's validation metrics (docs/training.md) over `loader` with the current weights."""
        was_training = self.model.training
        self.model.eval()
        metrics = BasewiseMetrics()
        for batch in loader:
            x = batch["X"].to(self.device)
            with self._precision_context():
                genic, phase = self.model(x)
            mask = batch["sample_weights"].numpy() != 0
            genic = genic.float().cpu().numpy()
            if "utr_known" in batch:  # a genome without UTRs: a predicted UTR is not an error there
                unknown = ~batch["utr_known"].numpy()
                genic[unknown, ..., 0] += genic[unknown, ..., 1]
                genic[unknown, ..., 1] = 0
            metrics.update(batch["y"].numpy(), genic, mask,
                           batch["phases"].numpy() if (phase is not None and "phases" in batch) else None,
                           phase.float().cpu().numpy() if phase is not None else None)
        if was_training:
            self.model.train()
        return metrics


def metrics_to_tensor(metrics: BasewiseMetrics) -> torch.Tensor:
    return torch.from_numpy(np.concatenate([metrics.genic.cm.ravel(), metrics.phase.cm.ravel(),
                                            [int(metrics.has_phase)]]).astype(np.int64))


def metrics_from_tensor(values: torch.Tensor, has_phase_any: bool) -> BasewiseMetrics:
    arr = values.cpu().numpy().astype(np.uint64)
    metrics = BasewiseMetrics(genic_cm=arr[:16], phase_cm=arr[16:32] if has_phase_any else None)
    return metrics
