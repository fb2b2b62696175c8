"""Upstream's AdamW (tfa AdamW on legacy Keras Adam): decay not scaled by lr, per-tensor clipnorm, eps 1e-7."""

from __future__ import annotations

import subprocess
import textwrap

import numpy as np
import pytest
import torch

from helixtune.train.optimizer import KerasAdamW


def test_weight_decay_is_not_scaled_by_learning_rate():
    w = torch.nn.Parameter(torch.full((3,), 2.0))
    optimizer = KerasAdamW([w], lr=1e-3, weight_decay=0.1, clipnorm=None)
    w.grad = torch.zeros(3)
    optimizer.step()
    torch.testing.assert_close(w.detach(), torch.full((3,), 1.8))  # 2 - 0.1·2, whatever the learning rate


def test_gradient_clipped_per_tensor():
    big = torch.nn.Parameter(torch.zeros(2))
    small = torch.nn.Parameter(torch.zeros(2))
    optimizer = KerasAdamW([big, small], lr=0.1, weight_decay=0.0, clipnorm=3.0)
    big.grad = torch.tensor([30.0, 40.0])  # norm 50 -> clipped to 3 (direction kept)
    small.grad = torch.tensor([0.3, 0.4])  # norm 0.5 -> untouched, although the global norm exceeds 3
    optimizer.step()
    m_big = optimizer.state[big]["exp_avg"] / 0.1
    m_small = optimizer.state[small]["exp_avg"] / 0.1
    torch.testing.assert_close(m_big, torch.tensor([1.8, 2.4]))
    torch.testing.assert_close(m_small, torch.tensor([0.3, 0.4]))


ORACLE = textwrap.dedent("""
    import os, sys
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    import numpy as np, tensorflow as tf, tensorflow_addons as tfa
    data = np.load(sys.argv[1])
    w = tf.Variable(data['w0'])
    opt = tfa.optimizers.AdamW(learning_rate=3e-4, clipnorm=3.0, weight_decay=3.5e-5)
    for g in data['grads']:
        opt.apply_gradients([(tf.constant(g), w)])
    np.save(sys.argv[2], w.numpy())
""")


@pytest.mark.peer
def test_equals_tensorflow_addons_adamw(tmp_path):
    from sharedpaths import peer_python

    python = peer_python("helixer")
    if python is None:
        pytest.skip("upstream Helixer environment (TensorFlow) not installed")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5, 3)).astype(np.float32)
    grads = np.stack([(rng.normal(size=(5, 3)) * s).astype(np.float32) for s in (0.1, 5, 2, 0.01, 3)])
    np.savez(tmp_path / "in.npz", w0=w0, grads=grads)
    (tmp_path / "oracle.py").write_text(ORACLE)
    subprocess.run([str(python), str(tmp_path / "oracle.py"), str(tmp_path / "in.npz"), str(tmp_path / "out.npy")],
                   check=True, capture_output=True, timeout=300)
    expected = np.load(tmp_path / "out.npy")
    w = torch.nn.Parameter(torch.tensor(w0))
    optimizer = KerasAdamW([w])
    for g in grads:
        w.grad = torch.tensor(g)
        optimizer.step()
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=0, atol=1e-6)
    assert np.abs(expected - w0).max() > 1e-4  # the steps did move the weights
