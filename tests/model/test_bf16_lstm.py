"""The bfloat16 BiLSTM inference kernel: exact against an emulation of its arithmetic, close to float32 torch,
and used (or not) by prediction exactly where it applies."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helixtune.model import bf16_lstm
from helixtune.model.loading import open_model
from helixtune.model.network import HybridModel
from helixtune.predict.engine import Engine, cpu_has_bfloat16

needs_kernel = pytest.mark.skipif(not bf16_lstm.kernel_available(),
                                  reason="compiled bfloat16 LSTM kernel or AVX512-BF16 CPU not available")


def emulated_bilstm(lstm: torch.nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """The kernel's arithmetic in plain torch: inputs, W_ih, W_hh and h rounded to bfloat16, the input
    projection rounded to bfloat16 (oneDNN's output), float32 sums, gates and cell state."""
    units, steps = lstm.hidden_size, x.shape[1]
    outputs = []
    for suffix, reverse in (("_l0", False), ("_l0_reverse", True)):
        weight_ih = getattr(lstm, "weight_ih" + suffix).bfloat16()
        recurrent = getattr(lstm, "weight_hh" + suffix).bfloat16().float().t()
        bias = getattr(lstm, "bias_ih" + suffix) + getattr(lstm, "bias_hh" + suffix)
        projections = F.linear(x.bfloat16(), weight_ih).float() + bias
        h = torch.zeros(x.shape[0], units)
        c = torch.zeros(x.shape[0], units)
        out = torch.empty(x.shape[0], steps, units)
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            i, f, g, o = (projections[:, t] + h.bfloat16().float() @ recurrent).chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out[:, t] = h
        outputs.append(out)
    return torch.cat(outputs, dim=-1)


@needs_kernel
@pytest.mark.parametrize("batch, steps, inputs, units", [(3, 50, 40, 16), (9, 7, 24, 32), (17, 30, 64, 128)])
def test_kernel_matches_emulation_of_its_arithmetic(batch, steps, inputs, units):
    # batch sizes off the kernel's 8-row blocks, both directions, several unit counts
    torch.manual_seed(batch)
    lstm = torch.nn.LSTM(inputs, units, bidirectional=True).eval()
    x = torch.randn(batch, steps, inputs) * 0.3
    with torch.inference_mode():
        got = bf16_lstm.BFloat16BiLSTM(lstm)(x)
        expected = emulated_bilstm(lstm, x)
        float32 = lstm(x.transpose(0, 1))[0].transpose(0, 1)
    assert got.shape == (batch, steps, 2 * units) and got.dtype == torch.float32
    # the only difference left: an h value on a bfloat16 rounding boundary may round the other way
    assert (got - expected).abs().max() < 1e-4
    assert (got - float32).abs().max() < 3e-3
    assert (got - float32).abs().max() > 0  # it did run in reduced precision


def test_supports_only_single_layer_bidirectional_multiples_of_16():
    assert bf16_lstm.BFloat16BiLSTM.supports(torch.nn.LSTM(8, 32, bidirectional=True))
    assert not bf16_lstm.BFloat16BiLSTM.supports(torch.nn.LSTM(8, 24, bidirectional=True))
    assert not bf16_lstm.BFloat16BiLSTM.supports(torch.nn.LSTM(8, 32))
    assert not bf16_lstm.BFloat16BiLSTM.supports(torch.nn.LSTM(8, 32, num_layers=2, bidirectional=True))
    with pytest.raises(ValueError):
        bf16_lstm.BFloat16BiLSTM(torch.nn.LSTM(8, 24, bidirectional=True))
    model = HybridModel(units=24)
    assert model.use_bfloat16_lstms() is False and model.inference_lstms is None


@needs_kernel
def test_real_model_within_float16_resolution_and_training_untouched(model_dir, mini_h5):
    model = open_model(model_dir / "small_default.h5").model
    with h5py.File(mini_h5, "r") as h5:
        x = torch.from_numpy(h5["data/X"][:6].astype(np.float32))
    with torch.inference_mode():
        float32 = model(x)
        assert model.use_bfloat16_lstms()
        fast = model(x)
    state_keys = set(model.state_dict())
    for a, b in zip(float32, fast):
        assert 0 < (a - b).abs().max() < 1e-3
    # with autograd (training) the nn.LSTMs run, in float32
    with torch.enable_grad():
        with_kernel_copies = model.logits(x[:1])[0]
        kernels, model.inference_lstms = model.inference_lstms, None
        without = model.logits(x[:1])[0]
        model.inference_lstms = kernels
    assert torch.equal(with_kernel_copies, without)
    assert set(model.state_dict()) == state_keys  # the kernel copies are not parameters


@needs_kernel
def test_engine_auto_uses_kernel_and_reports_it(model_dir):
    model = open_model(model_dir / "small_default.h5").model
    if not cpu_has_bfloat16():
        pytest.skip("no native bfloat16")
    engine = Engine(model, "cpu", threads=1, precision="auto")
    try:
        assert engine.precision == "bfloat16"
        assert model.inference_lstms is None  # the caller's model is not changed
    finally:
        engine.close()


def test_engine_bfloat16_refused_where_kernel_missing(model_dir, monkeypatch):
    from helixtune.errors import HelixtuneError

    monkeypatch.setattr(bf16_lstm, "kernel_available", lambda: False)
    model = open_model(model_dir / "small_default.h5").model
    with pytest.raises(HelixtuneError, match="AVX512-BF16"):
        Engine(model, "cpu", threads=1, precision="bfloat16")
    engine = Engine(model, "cpu", threads=1, precision="auto")
    try:
        assert engine.precision in ("bfloat16-conv", "float32")
    finally:
        engine.close()
