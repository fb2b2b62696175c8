"""The fine-tune mode registry is the one list of mode names: the options and both commands offer its keys."""

from __future__ import annotations

import argparse

from helixtune.train.config import FINE_TUNE_MODES as CONFIG_MODES
from helixtune.train.finetune import FINE_TUNE_MODES


def _choices(command: str) -> list:
    from helixtune.cli import self_train, train

    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    {"train": train, "self-train": self_train}[command].register(subparsers)
    sub = subparsers.choices[command]
    return next(action.choices for action in sub._actions if "--fine-tune-mode" in action.option_strings)


def test_every_list_of_mode_names_is_the_registry():
    assert list(FINE_TUNE_MODES) == ["whole", "head", "head+hidden", "coverage"]
    assert set(CONFIG_MODES) == set(FINE_TUNE_MODES)
    for command in ("train", "self-train"):
        assert list(_choices(command)) == list(FINE_TUNE_MODES)


def test_a_registered_mode_is_what_builds_the_model(monkeypatch):
    """A mode is one function in the registry: `build_training_model` calls it with the pretrained model."""
    from helixtune.train import finetune

    seen = {}

    def build(loaded, config, coverage_tracks, path, info):
        seen.update(loaded=loaded, tracks=coverage_tracks, path=path)
        return finetune.freeze_(loaded)

    monkeypatch.setitem(finetune.FINE_TUNE_MODES, "head", build)
    monkeypatch.setattr(finetune, "load_pretrained", lambda path, coverage_norm=...: (_tiny_model(), {}))
    monkeypatch.setattr("helixtune.model.model_file.file_md5", lambda path: "md5")
    monkeypatch.setattr("helixtune.model.model_file.file_sha256", lambda path: "sha256")

    class Config:
        load_model_path = "base.safetensors"
        input_coverage = False
        fine_tune_resume = False

        def resolved_mode(self):
            return "head"

    model, info = finetune.build_training_model(Config(), coverage_tracks=0)
    assert model is seen["loaded"] and seen["tracks"] == 0 and info["mode"] == "head"
    assert info["trainable"] == []  # what the mode's function froze


def _tiny_model():
    import torch

    return torch.nn.Linear(2, 2)
