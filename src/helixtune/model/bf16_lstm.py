"""Bidirectional LSTM inference with bfloat16 matrix products and float32 gates and states (CPU).

The input projection of all timesteps is one bfloat16 matrix product (PyTorch/oneDNN); the sequential part runs
in the small C kernel `_lstm_kernel.c` (AVX512-BF16 dot products summed in float32, gates and cell state in
float32). On the upstream reference models this moves the probabilities by about 2e-4, within the float16
resolution of a predictions file, and makes the BiLSTMs about twice as fast as PyTorch's float32 oneDNN LSTM.

    kernel_available()            True where the compiled kernel loads and the CPU has AVX512-BF16
    BFloat16BiLSTM.supports(lstm) True for a single-layer bidirectional nn.LSTM with hidden size % 16 == 0
    BFloat16BiLSTM(lstm)(x)       x (B, T, F) float32 or bfloat16 -> (B, T, 2U) float32, batch first

Inference only (no autograd). The kernel is built when the package is installed (setup.py); where it is
missing, or the CPU lacks AVX512-BF16, callers keep PyTorch's LSTM.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.machinery
from pathlib import Path

import torch
from torch import nn

_KERNEL_NAME = "_lstm_kernel"


@functools.cache
def _library():
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"{_KERNEL_NAME}{suffix}"
        if path.exists():
            try:
                library = ctypes.CDLL(str(path))
            except OSError:
                return None
            if not library.helixtune_lstm_kernel_supported():
                return None
            pointer, integer = ctypes.c_void_p, ctypes.c_int
            library.helixtune_bilstm_recurrence.argtypes = [pointer, pointer, pointer, pointer,
                                                             integer, integer, integer]
            library.helixtune_bilstm_recurrence.restype = integer
            return library
    return None


def kernel_available() -> bool:
    return _library() is not None


class BFloat16BiLSTM:
    """Inference copy of one bidirectional nn.LSTM layer (weights converted once, at construction)."""

    @staticmethod
    def supports(lstm: nn.LSTM) -> bool:
        return (lstm.num_layers == 1 and lstm.bidirectional and lstm.bias and lstm.proj_size == 0
                and lstm.hidden_size % 16 == 0)

    def __init__(self, lstm: nn.LSTM):
        if not self.supports(lstm):
            raise ValueError("BFloat16BiLSTM needs a single-layer bidirectional LSTM with hidden size % 16 == 0")
        self.units = units = lstm.hidden_size
        with torch.no_grad():
            weights = {name: p.detach().float().cpu() for name, p in lstm.named_parameters()}
            directions = ("_l0", "_l0_reverse")
            # (8U, F): both directions' input projections in one product
            self.input_weight = torch.cat([weights["weight_ih" + d] for d in directions]).to(torch.bfloat16)
            self.bias = torch.cat([weights["bias_ih" + d] + weights["bias_hh" + d] for d in directions]).contiguous()
            # W_hh^T (U, 4U) as bfloat16 pairs (k, k+1) per output column: (U/2, 4U, 2), the dot-product layout
            self.recurrent_packed = torch.stack([
                weights["weight_hh" + d].t().reshape(units // 2, 2, 4 * units).permute(0, 2, 1).contiguous()
                for d in directions]).to(torch.bfloat16).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        library = _library()
        if library is None:
            raise RuntimeError("the bfloat16 LSTM kernel is not available on this machine")
        batch, steps = x.shape[0], x.shape[1]
        projections = nn.functional.linear(x.to(torch.bfloat16), self.input_weight).contiguous()
        out = torch.empty(batch, steps, 2 * self.units, dtype=torch.float32)
        status = library.helixtune_bilstm_recurrence(projections.data_ptr(), self.bias.data_ptr(),
                                                     self.recurrent_packed.data_ptr(), out.data_ptr(),
                                                     steps, batch, self.units)
        if status:
            raise MemoryError("the bfloat16 LSTM kernel could not allocate its work buffers")
        return out
