"""Running the network on batches: device, threads, inference mode, optional mixed precision."""

from __future__ import annotations

import contextlib
import ctypes
import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from helixtune.errors import HelixtuneError
from helixtune.parallel import available_cpus


def resolve_device(name: str | None) -> torch.device:
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HelixtuneError("--device cuda was requested, but no CUDA device is available")
    if device.type not in ("cpu", "cuda"):
        raise HelixtuneError(f"unsupported device '{name}' (use cpu, cuda, cuda:N or auto)")
    return device


@functools.cache  # process-wide: set once
def keep_freed_memory_in_process() -> bool:
    """Let glibc keep freed memory for reuse instead of returning it to the kernel (Linux; else a no-op).

    CPU prediction allocates and frees buffers of tens of MB per batch (activations, input projections).
    By default glibc serves such blocks with mmap and unmaps them on free, so every batch page-faults them in
    anew: a quarter of the CPU time went to the kernel. With no mmap for large blocks and no heap trimming,
    freed buffers are reused: about 10 % less wall time, and the process keeps its peak working set until it
    exits (about 1 GB for batches of 32 with the released-size network)."""
    try:
        libc = ctypes.CDLL(None)  # the running process's symbols, the C library's among them
        m_trim_threshold, m_mmap_max = -1, -4  # glibc's mallopt parameter numbers
        return bool(libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2**31 - 1))
    except (OSError, AttributeError):  # not glibc
        return False


PRECISIONS = ("auto", "float32", "bfloat16-conv", "bfloat16")


def cpu_has_bfloat16() -> bool:
    """True when oneDNN runs bfloat16 natively here (AVX512-BF16 / AMX); emulated bfloat16 would be slower."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _conv_owner(model):
    """The HybridModel whose convolutions run first (the model itself or a fine-tuned model's base)."""
    return getattr(model, "base", model)


def bfloat16_conv_is_accurate(model) -> bool:
    """bfloat16 convolutions stay within ~1e-4 of float32 when BiLSTMs follow them; when the convolution
    features reach the Dense head directly (upstream coverage tunes of 1-BiLSTM models keep no BiLSTM),
    the error reaches ~1e-3, so `auto` keeps such models in float32."""
    lstm_layers = getattr(model, "excerpt_lstm_layers", None)
    if lstm_layers is None:
        lstm_layers = len(_conv_owner(model).lstms)
    return lstm_layers > 0


class Engine:
    """Callable: float32 numpy (B, L, C) -> list of (B, L, 4) float32 probabilities (genic[, phase]).

    On CPU the batch is split across `threads` Python worker threads, each running torch with one intra-op
    thread: the BiLSTM's many small per-timestep products scale badly with OpenMP threads (and collapse when
    cores are shared), while independent sub-batches scale almost linearly. Rows are independent, so the
    split does not change results.

    precision (CPU): "float32"; "bfloat16-conv" runs the convolutions in bfloat16 and everything after them in
    float32 (1.2-1.7x faster on CPUs with bfloat16 units; probabilities change by ~1e-4, below the float16
    resolution of the predictions file); "bfloat16" also runs the BiLSTMs' matrix products in bfloat16 with
    float32 sums, gates and states (`bf16_lstm`; ~2e-4 in all; needs AVX512-BF16 and the compiled kernel);
    "auto" picks the fastest of these that is available where BiLSTMs follow the convolutions.
    mixed_precision (CUDA): float16 autocast of the whole network.
    Call `close()` when done: it restores torch's thread count (set to 1 for the CPU workers).
    """

    def __init__(self, model: torch.nn.Module, device: str | None = "cpu", mixed_precision: bool = False,
                 threads: int | None = None, precision: str = "auto"):
        if precision not in PRECISIONS:
            raise HelixtuneError(f"unknown precision '{precision}' (use one of {', '.join(PRECISIONS)})")
        self.device = resolve_device(device)
        self._previous_threads = torch.get_num_threads()
        self.workers = 1
        if self.device.type == "cpu":
            self.workers = int(threads) if threads else available_cpus()
            torch.set_num_threads(1)
            keep_freed_memory_in_process()
        else:
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
            if threads:
                torch.set_num_threads(int(threads))
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        self.precision = "float32"
        auto_bf16 = precision == "auto" and cpu_has_bfloat16() and bfloat16_conv_is_accurate(model)
        if self.device.type == "cpu" and (precision in ("bfloat16-conv", "bfloat16") or auto_bf16):
            import copy

            model = copy.deepcopy(model)  # never change the caller's model
            _conv_owner(model).use_bfloat16_convolutions()
            self.precision = "bfloat16-conv"
            if precision in ("auto", "bfloat16") and _conv_owner(model).use_bfloat16_lstms():
                self.precision = "bfloat16"
            elif precision == "bfloat16":
                raise HelixtuneError("--precision bfloat16 needs a CPU with AVX512-BF16, helixtune's compiled "
                                     "LSTM kernel and BiLSTMs of a multiple of 16 units; use bfloat16-conv")
        self.model = model.to(self.device).eval()
        self.mixed_precision = mixed_precision
        self.n_outputs = 2 if model.predict_phase else 1

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None
        torch.set_num_threads(self._previous_threads)

    def _autocast(self):
        if not self.mixed_precision:
            return contextlib.nullcontext()
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()  # CPU: see `precision`

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        if self.pool is None or len(x) < 2:
            return self._run(x)
        parts = [p for p in np.array_split(x, min(self.workers, len(x))) if len(p)]
        results = list(self.pool.map(self._run, parts))
        return [np.concatenate([r[i] for r in results]) for i in range(self.n_outputs)]

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        batch, length = x.shape[0], x.shape[1]
        with torch.inference_mode(), self._autocast():
            tensor = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, non_blocking=True)
            outputs = self.model(tensor)
        result = []
        for out in outputs[:self.n_outputs]:
            result.append(out.float().reshape(batch, length, 4).cpu().numpy())
        return result
