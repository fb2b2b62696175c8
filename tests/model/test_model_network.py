"""The PyTorch HybridModel and fine-tune structures: sizes, shapes and behaviour upstream's code defines."""

from __future__ import annotations

import pytest
import torch

from helixtune.model.network import (FineTunedModel, HybridModel, HybridModelConfig, build_model,
                                     count_parameters, keras_parameter_count, normalize_coverage,
                                     upstream_coverage_excerpt)


def test_parameter_counts_match_upstream_models():
    # numbers printed by Keras for upstream's builds (reference model README)
    assert keras_parameter_count(HybridModel(HybridModelConfig.released_size())) == 2_105_672
    assert keras_parameter_count(HybridModel()) == 90_216
    assert keras_parameter_count(HybridModel(predict_phase=False)) == 87_876
    cov = FineTunedModel(HybridModel(), excerpt_lstm_layers=upstream_coverage_excerpt(HybridModelConfig()),
                         coverage_tracks=1, coverage_norm="log").freeze_base()
    assert keras_parameter_count(cov) == 25_464 and count_parameters(cov, trainable_only=True) == 22_104
    hidden = FineTunedModel(HybridModel(), excerpt_lstm_layers=0, coverage_tracks=1, coverage_norm="log",
                            hidden_units=16).freeze_base()
    assert keras_parameter_count(hidden) == 9_496 and count_parameters(hidden, trainable_only=True) == 6_136
    plain = FineTunedModel(HybridModel(HybridModelConfig.released_size())).freeze_base()
    assert count_parameters(plain, trainable_only=True) == 18_504  # as Keras counts upstream's head-only fine-tune


def test_upstream_coverage_excerpt_drops_last_lstm_without_dropout2():
    assert upstream_coverage_excerpt(HybridModelConfig(lstm_layers=3)) == 2
    assert upstream_coverage_excerpt(HybridModelConfig(lstm_layers=3, dropout2=0.1)) == 3
    assert upstream_coverage_excerpt(HybridModelConfig(lstm_layers=1)) == 0


def test_output_shapes_softmax_and_logits():
    torch.manual_seed(0)
    model = HybridModel(cnn_layers=2, lstm_layers=2, units=8, filter_depth=8, kernel_size=5, pool_size=3).eval()
    x = torch.rand(2, 30, 4)
    genic, phase = model(x)
    assert genic.shape == phase.shape == (2, 10, 3, 4)
    torch.testing.assert_close(genic.sum(-1), torch.ones(2, 10, 3))
    logits = model.logits(x)
    torch.testing.assert_close(logits[0].softmax(-1), genic)
    torch.testing.assert_close(logits[1].softmax(-1), phase)
    single = HybridModel(predict_phase=False, pool_size=3).eval()
    g, p = single(x)
    assert p is None and g.shape == (2, 10, 3, 4)


def test_length_must_be_divisible_by_pool_size():
    with pytest.raises(ValueError, match="not divisible"):
        HybridModel()(torch.rand(1, 100, 4))


def test_bases_of_one_timestep_depend_on_their_own_positions():
    # Keras reshape order: timestep t holds bases tP..tP+P-1 (base offset major); changing base 0 changes
    # conv features of base 0 only in timestep 0's first filters block
    torch.manual_seed(1)
    model = HybridModel(kernel_size=1, lstm_layers=0, pool_size=3, filter_depth=2).eval()
    x = torch.zeros(1, 6, 4)
    base = model.features(x)
    x[0, 4, 1] = 1.0  # base 4 = timestep 1, offset 1
    changed = (model.features(x) - base).abs()[0] > 0
    assert changed[0].sum() == 0 and changed[1, :2].sum() == 0 and changed[1, 2:4].any() and changed[1, 4:].sum() == 0


def test_frozen_base_stays_in_eval_mode_and_gets_no_gradient():
    model = FineTunedModel(HybridModel(cnn_layers=2, dropout1=0.5), coverage_tracks=0).freeze_base()
    model.train()
    assert not model.base.training and model.head.training
    assert all(not p.requires_grad for p in model.base.parameters())
    genic, phase = model.logits(torch.rand(2, 18, 4))
    (genic.sum() + phase.sum()).backward()
    assert model.head.weight.grad is not None


def test_coverage_normalisation_matches_upstream_float16_pipeline():
    raw = torch.tensor([-1.0, 0.0, 3.0, 1000.0])
    expected = torch.log(raw + 1.1).half().float()
    torch.testing.assert_close(normalize_coverage(raw, "log"), expected, rtol=0, atol=0)
    torch.testing.assert_close(normalize_coverage(raw, "linear"), (raw / 100).half().float(), rtol=0, atol=0)
    with pytest.raises(ValueError):
        normalize_coverage(raw, "sqrt")


def test_coverage_tracks_enter_per_timestep_base_offset_major():
    torch.manual_seed(2)
    model = FineTunedModel(HybridModel(pool_size=3, lstm_layers=1, units=4, filter_depth=4, kernel_size=3),
                           excerpt_lstm_layers=0, coverage_tracks=1, coverage_norm=None).eval()
    x = torch.zeros(1, 6, 6)
    x[0, 4, 4] = 7.0  # coverage of base 4 (timestep 1, offset 1)
    x[0, 4, 5] = 9.0  # spliced coverage of base 4
    features = model.head_input(x)[0, :, -6:]
    assert features[1].tolist() == [0, 0, 7, 9, 0, 0] and features[0].abs().sum() == 0


def test_build_model_roundtrip_of_architecture():
    model = FineTunedModel(HybridModel(HybridModelConfig(cnn_layers=2, lstm_layers=2, dropout2=0.1)),
                           excerpt_lstm_layers=2, coverage_tracks=2, coverage_norm="linear", hidden_units=16,
                           predict_phase=False)
    again = build_model(model.architecture())
    assert again.architecture() == model.architecture()
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_keras_style_initialisation_sets_forget_bias():
    lstm = HybridModel(units=8).lstms[0]
    assert torch.all(lstm.bias_ih_l0[8:16] == 1) and torch.all(lstm.bias_hh_l0 == 0)
    assert torch.all(lstm.bias_ih_l0[:8] == 0)
