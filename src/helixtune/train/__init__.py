"""Training and fine-tuning (`helixtune train`): data, loss, optimizer, Lightning module, checks and resume.

Library entry point: `train_model(TrainConfig(data_dir=..., save_model_path=...)) -> Path` (best model file).
"""

from helixtune.train.config import FINE_TUNE_MODES, TrainConfig


def train_model(config, verbose: bool = True, extra_callbacks=()):
    """See `helixtune.train.run.train_model` (imported lazily: it pulls in torch and Lightning)."""
    from helixtune.train.run import train_model as _train_model

    return _train_model(config, verbose=verbose, extra_callbacks=extra_callbacks)


__all__ = ["TrainConfig", "train_model", "FINE_TUNE_MODES"]
