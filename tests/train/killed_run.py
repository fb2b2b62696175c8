"""Fault injection for the resume tests: `python killed_run.py STEP train ARGS...` runs `helixtune train ARGS`
and kills itself with SIGKILL right after optimizer step STEP (and the checkpoint that step writes)."""

from __future__ import annotations

import os
import signal
import sys

import lightning.pytorch as pl


class KillAfterStep(pl.Callback):
    """SIGKILL after optimizer step `step`: runs after the run's own callback, so that step's checkpoint is written."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    from helixtune.cli import build_parser
    from helixtune.cli.options import options_from_args
    from helixtune.train import TrainConfig, train_model

    step, argv = int(argv[0]), argv[1:]
    args = build_parser().parse_args(argv)
    config = options_from_args(TrainConfig, args, command="helixtune " + " ".join(argv))
    train_model(config, verbose=False, extra_callbacks=[KillAfterStep(step)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
