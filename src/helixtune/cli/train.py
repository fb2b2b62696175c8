"""`helixtune train`: train a network from scratch or fine-tune a pretrained one (upstream HybridModel.py flags)."""

from __future__ import annotations

import os
import shlex
import sys

from helixtune.cli.options import add_config_option, add_options, argparse_type, options_from_args
from helixtune.train.config import TrainConfig, parse_duration, parse_number_list

# argparse types of options that take text (self-train and the tests use them too)
_number_list = argparse_type(parse_number_list, "number list")
duration = argparse_type(parse_duration, "duration")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train or fine-tune the network on training_data*.h5 / validation_data*.h5",
        description="Train a HybridModel from scratch, or fine-tune a pretrained one (helixtune or upstream Keras "
                    "model file). Rerunning the same command continues an interrupted run.")
    # every option, with its default and help, is a field of TrainConfig (helixtune.train.config)
    groups = add_options(p, TrainConfig)
    groups["checks"].add_argument("-v", "--verbose", action="store_true",
                                  help="print the full metric tables at every check")
    add_config_option(p, "patience = 5", written_to="config.toml in its run folder")
    p.set_defaults(func=run)


def run(args) -> int:
    from helixtune.train import train_model

    config = options_from_args(TrainConfig, args, command=shlex.join(["helixtune"] + sys.argv[1:]))
    path = train_model(config, verbose=args.verbose)
    if os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0":
        print(path)  # once, not from every DDP process
    return 0
