"""Upstream's optimizer: TensorFlow-Addons AdamW on the legacy Keras Adam, step for step.

It differs from `torch.optim.AdamW` in three ways that change the weights, so we do not use that:

- weight decay is decoupled and *not* multiplied by the learning rate: w <- w - wd · w, applied before the
  Adam update to every trainable tensor (biases and BatchNorm scale/shift included);
- the gradient is clipped per tensor to L2 norm <= clipnorm (`tf.clip_by_norm`), not by a global norm;
- epsilon (1e-7) is added to sqrt(v) *without* bias correction, with the bias corrections folded into the
  step size: w <- w - lr · sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps).
"""

from __future__ import annotations

import math

import torch

DEFAULT_LEARNING_RATE = 3e-4
DEFAULT_WEIGHT_DECAY = 3.5e-5
DEFAULT_CLIP_NORM = 3.0
DEFAULT_EPSILON = 1e-7


class KerasAdamW(torch.optim.Optimizer):
    """AdamW as upstream trains with it. `weight_decay=0` gives upstream's `--optimizer adam`."""

    def __init__(self, params, lr: float = DEFAULT_LEARNING_RATE, betas=(0.9, 0.999), eps: float = DEFAULT_EPSILON,
                 weight_decay: float = DEFAULT_WEIGHT_DECAY, clipnorm: float | None = DEFAULT_CLIP_NORM):
        if lr <= 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, clipnorm=clipnorm)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps, wd, clipnorm = group["lr"], group["eps"], group["weight_decay"], group["clipnorm"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if clipnorm is not None and clipnorm > 0:
                    norm = torch.linalg.vector_norm(grad)
                    # tf.clip_by_norm: g * clipnorm / max(norm, clipnorm)
                    grad = grad * (clipnorm / torch.clamp(norm, min=clipnorm))
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                if wd:
                    p.mul_(1 - wd)  # w <- w - wd * w, on the weights before this step's update
                m.mul_(beta1).add_(grad, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step_size = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-step_size)
        return loss
