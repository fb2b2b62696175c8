"""Upstream's training loss, in PyTorch (docs/training.md).

Per output: categorical cross-entropy per base, weighted by the timestep's sample weight (broadcast over
the P bases of the timestep), summed and divided by the number of elements B·T·P — Keras'
SUM_OVER_BATCH_SIZE, *not* the sum of the weights. Total = 0.8 · genic + 0.2 · phase (1.0 without a phase
head). Padded bases have all-zero targets and so contribute nothing whatever their weight.
"""

from __future__ import annotations

import torch

GENIC_WEIGHT = 0.8
PHASE_WEIGHT = 0.2


def weighted_cross_entropy(log_probs: torch.Tensor, target: torch.Tensor, sample_weights: torch.Tensor) -> torch.Tensor:
    """Σ sw[b,t] · CE[b,t,p] / (B·T·P) for log-probabilities and one-hot targets of shape (B, T, P, C)."""
    ce = -(target.to(log_probs.dtype) * log_probs).sum(dim=-1)  # (B, T, P)
    weighted = ce * sample_weights.to(log_probs.dtype).unsqueeze(-1)
    return weighted.sum() / ce.numel()


def merge_unannotated_utr(log_probs: torch.Tensor, utr_known: torch.Tensor | None, y: torch.Tensor | None = None,
                          utr_reach: int | None = None) -> torch.Tensor:
    """For samples of a genome that annotates no UTRs, the intergenic column becomes log(p_ig + p_utr).

    Such a genome's "intergenic" labels mean "intergenic or UTR"; scoring them as plain intergenic would teach
    that UTRs do not exist. With `utr_reach` (bases) they mean that only within that distance of a gene (a
    genic label of the targets `y`) or of the chunk's ends, where an unseen gene may lie; farther away a UTR
    cannot be, and the label stays plain intergenic. Otherwise the network is free to call every intergenic
    base UTR, and it does: its 1 - p(intergenic) then marks whole genomes genic. log_probs: (B, T, P, 4) genic
    log-probabilities; utr_known: (B,) bool or None; y: (B, T, P, 4) one-hot targets.
    """
    if utr_known is None or bool(utr_known.all()):
        return log_probs
    unknown = ~utr_known.to(device=log_probs.device, dtype=torch.bool)
    merged = torch.logaddexp(log_probs[..., 0], log_probs[..., 1])
    where = unknown.view(-1, *([1] * (merged.dim() - 1)))
    if utr_reach is not None:
        where = where & near_genes(y, utr_reach).to(log_probs.device)
    column = torch.where(where, merged, log_probs[..., 0])
    return torch.cat([column.unsqueeze(-1), log_probs[..., 1:]], dim=-1)


def near_genes(y: torch.Tensor, reach: int) -> torch.Tensor:
    """(B, T, P) bool: bases within `reach` bases of a genic label (UTR, CDS or intron) of the same chunk, or of
    the chunk's ends. A window count over a cumulative sum, linear in the chunk's length."""
    batch, steps, pool = y.shape[:3]
    genic = (y[..., 1:].sum(dim=-1) > 0).reshape(batch, steps * pool).to(torch.int32)
    length = genic.shape[1]
    counts = torch.nn.functional.pad(genic.cumsum(dim=1), (1, 0))
    index = torch.arange(length, device=y.device)
    high = (index + reach + 1).clamp(max=length)
    low = (index - reach).clamp(min=0)
    near = (counts[:, high] - counts[:, low]) > 0
    near |= ((index < reach) | (index >= length - reach)).unsqueeze(0)
    return near.reshape(batch, steps, pool)


def helixer_loss(genic_log_probs: torch.Tensor, y: torch.Tensor, sample_weights: torch.Tensor,
                 phase_log_probs: torch.Tensor | None = None, phases: torch.Tensor | None = None) -> dict:
    """{'loss', 'genic_loss'[, 'phase_loss']}: the total upstream optimises and its parts."""
    genic = weighted_cross_entropy(genic_log_probs, y, sample_weights)
    if phase_log_probs is None:
        return {"loss": genic, "genic_loss": genic}
    phase = weighted_cross_entropy(phase_log_probs, phases, sample_weights)
    return {"loss": GENIC_WEIGHT * genic + PHASE_WEIGHT * phase, "genic_loss": genic, "phase_loss": phase}
