"""Loss and validation metrics against the values upstream Helixer (Keras) computed on the same batches."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helixtune.train.data import ChunkDataset, DataOptions, collate, stack_batch
from helixtune.train.loss import helixer_loss, weighted_cross_entropy


CW = [0.7, 1.6, 1.2, 1.2]
TW = [1, 12, 3, 1, 12, 3]


def _reference(test_data):
    return json.loads((test_data / "train" / "loss_reference.json").read_text())


def _keras_model(name):
    from sharedpaths import shared_file

    from helixtune.train.finetune import load_pretrained

    model, _ = load_pretrained(shared_file(f"reference_models/{name}"))
    return model.eval()


def test_loss_formula_on_a_hand_made_batch():
    # two timesteps of P = 2 bases; the second timestep is masked; one base is padding (all-zero target)
    log_probs = torch.log(torch.tensor([[[[0.5, 0.5], [0.25, 0.75]], [[0.1, 0.9], [0.9, 0.1]]]]))
    target = torch.tensor([[[[1, 0], [0, 0]], [[0, 1], [1, 0]]]])
    sw = torch.tensor([[2.0, 0.0]])
    expected = 2.0 * (-np.log(0.5)) / 4  # Σ sw·CE / (B·T·P): not divided by Σ sw
    assert float(weighted_cross_entropy(log_probs, target, sw)) == pytest.approx(expected, rel=1e-6)
    both = helixer_loss(log_probs, target, sw, log_probs, target)
    assert float(both["loss"]) == pytest.approx(expected, rel=1e-6)  # 0.8·x + 0.2·x
    assert set(helixer_loss(log_probs, target, sw)) == {"loss", "genic_loss"}


@pytest.mark.shared
@pytest.mark.parametrize("batch,filename,first_row", [("train_first4", "training_data.h5", 0),
                                                      ("val_last4_padded", "validation_data.h5", 4)])
def test_loss_equals_upstream_keras(test_data, batch, filename, first_row):
    from helixtune.train.module import HelixerTrainingModule

    module = HelixerTrainingModule(_keras_model("small_default.h5"))
    reference = _reference(test_data)["small_default.h5"][batch]
    for key, options in (("weighted", DataOptions(class_weights=CW, transition_weights=TW)),
                         ("unweighted", DataOptions())):
        dataset = ChunkDataset([test_data / "train" / filename], "train", options)
        arrays = stack_batch(dataset, range(first_row, first_row + 4))
        with torch.no_grad():
            losses = module.compute_loss({k: torch.from_numpy(v) for k, v in arrays.items()})
        expected = reference[key]["keras"]["test_on_batch"]
        for name in ("loss", "genic_loss", "phase_loss"):
            assert float(losses[name]) == pytest.approx(expected[name], rel=1e-4), (key, name)


@pytest.mark.shared
@pytest.mark.parametrize("name", ["small_default.h5", "small_default_ft.h5", "small_default_ft_hidden.h5"])
def test_validation_metrics_equal_upstream(test_data, name):
    from torch.utils.data import DataLoader

    from helixtune.train.module import HelixerTrainingModule

    reference = _reference(test_data)["validation_metrics"][name]
    dataset = ChunkDataset([test_data / "train" / "validation_data.h5"], "val", DataOptions())
    loader = DataLoader(dataset, batch_size=8, collate_fn=collate)
    metrics = HelixerTrainingModule(_keras_model(name)).evaluate(loader)
    assert metrics.genic.cm.tolist() == reference["genic_base_wise"]["confusion_matrix_ref_rows_pred_cols"]
    assert metrics.phase.cm.tolist() == reference["phase_base_wise"]["confusion_matrix_ref_rows_pred_cols"]
    ours = metrics.genic.scores()
    for cls, expected in reference["genic_base_wise"]["scores"].items():
        for key in ("precision", "recall", "f1"):
            assert ours[cls][key] == pytest.approx(expected[key], rel=1e-4, abs=1e-12), (cls, key)
    assert metrics.genic_f1 == pytest.approx(reference["genic_base_wise"]["scores"]["genic"]["f1"], rel=1e-4)
