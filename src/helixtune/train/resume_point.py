"""The resume point `<run_dir>/last.ckpt`: written atomically, with what an exact resume needs.

Lightning's checkpoint holds the weights, the optimizer state and the loop progress; the run's callback adds
its own state (see callbacks.TrainingChecks), including the random state and the position in the epoch's
shuffled batch order, which this module restores into the batch sampler. A killed run then continues with
exactly the batches and random numbers an uninterrupted one would have used.

Beside it, `<run_dir>/config.toml` records the options (`helixtune train --config` reads it), written once per
invocation after its first checkpoint: a run that could not save anything leaves no file behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

# the key of the run's state among the checkpoint's callback states: the name of the callback that first wrote
# it; kept so that every checkpoint written since (committed long runs included) still resumes
STATE_KEY = "CheckCallback"


CONFIG_HEADER = "The options of this training run: helixtune train --config FILE reads them (flags override them)."


class ResumePoint:
    def __init__(self, run_dir: Path, batch_sampler, config=None):
        self.path = Path(run_dir) / "last.ckpt"
        self.config_path = Path(run_dir) / "config.toml"
        self.batch_sampler = batch_sampler
        self.config = config  # the options dataclass to record, if any
        self.config_written = False

    def save(self, trainer) -> None:
        """Write last.ckpt atomically (temporary name, then rename), from every process as Lightning needs."""
        tmp = self.path.with_name(".last.ckpt.partial")
        trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimizer, loops, callbacks
        if trainer.is_global_zero:
            os.replace(tmp, self.path)
            if self.config is not None and not self.config_written:
                from helixtune.configfile import write_config_file

                write_config_file(self.config_path, self.config, header=CONFIG_HEADER)
                self.config_written = True
        trainer.strategy.barrier("helixtune_checkpoint")

    def start_epoch(self, epoch: int) -> None:
        # the epoch's shuffled order (Lightning only sets epochs on samplers it knows; the iterator reads this
        # lazily, after the epoch-start hook). Not called when a run resumes mid-epoch: restore() set it then.
        self.batch_sampler.set_epoch(epoch)

    def restore(self, epoch: int, batches_done: int, batches_per_epoch: int) -> None:
        """Put the sampler where the interrupted epoch stood in its shuffled batch order."""
        if batches_done >= batches_per_epoch:
            self.batch_sampler.set_epoch(epoch + 1)
            self.batch_sampler.skip_batches = 0
        else:
            self.batch_sampler.set_epoch(epoch)
            self.batch_sampler.skip_batches = batches_done


def rng_state() -> dict:
    import random

    import numpy as np

    # plain containers only, so the checkpoint loads with torch.load(weights_only=True)
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_py = random.getstate()
    return {"torch": torch.get_rng_state(), "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(internal), gauss_py]}


def set_rng_state(state: dict) -> None:
    import random

    import numpy as np

    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    version, internal, gauss_py = state["python"]
    random.setstate((version, tuple(internal), gauss_py))


def read_checkpoint_state(path) -> dict | None:
    """The run's callback state stored in a checkpoint (None when there is none)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    for key, value in (ckpt.get("callbacks") or {}).items():
        if str(key).startswith(STATE_KEY):
            return value
    return None
