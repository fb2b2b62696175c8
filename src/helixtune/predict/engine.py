"""Running the network on batches: device, threads, inference mode, optional mixed precision."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from helixtune.errors import HelixtuneError


def resolve_device(name: str | None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HelixtuneError("--device cuda was requested, but no CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise HelixtuneError(f"unsupported device '{name}' (use cpu, cuda, cuda:N or auto)")
    return device


class Engine:
    """Callable: float32 numpy (B, L, C) -> list of (B, L, 4) float32 probabilities (genic[, phase]).

    mixed_precision: float16 autocast on CUDA, bfloat16 autocast on CPU (faster on CPUs with AMX/AVX512-BF16,
    but bfloat16 keeps only 8 bits of mantissa: check the tolerance you need before using it on CPU).
    """

    def __init__(self, model: torch.nn.Module, device: str | None = "cpu", mixed_precision: bool = False,
                 threads: int | None = None):
        self.device = resolve_device(device)
        if threads:
            torch.set_num_threads(int(threads))
        self.model = model.to(self.device).eval()
        self.mixed_precision = mixed_precision
        self.n_outputs = 2 if model.predict_phase else 1

    def _autocast(self):
        if not self.mixed_precision:
            return contextlib.nullcontext()
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return torch.autocast("cpu", dtype=torch.bfloat16)

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        batch, length = x.shape[0], x.shape[1]
        with torch.inference_mode(), self._autocast():
            tensor = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, non_blocking=True)
            outputs = self.model(tensor)
        result = []
        for out in outputs[:self.n_outputs]:
            result.append(out.float().reshape(batch, length, 4).cpu().numpy())
        return result
