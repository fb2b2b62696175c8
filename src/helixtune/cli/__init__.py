"""The `helixtune` command line: one module per command, each a thin wrapper over a library function.

A command module defines `register(subparsers)`, which adds its parser and sets `func` to a function
`run(args) -> int | None`. Heavy libraries (torch, numba, pysam) are imported inside `run`, so that
`helixtune --help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from helixtune import __version__
from helixtune.errors import HelixtuneError

# the order here is the order of `helixtune --help`: the data flow, from FASTA to report
COMMAND_MODULES = (
    "helixtune.cli.example_data",
    "helixtune.cli.encode",
    "helixtune.cli.import_gff",
    "helixtune.cli.export",
    "helixtune.cli.gff2h5",
    "helixtune.cli.convert_model",
    "helixtune.cli.predict",
    "helixtune.cli.decode",
    "helixtune.cli.add_coverage",
    "helixtune.cli.select_confident",
    "helixtune.cli.split",
    "helixtune.cli.train",
    "helixtune.cli.evaluate",
    "helixtune.cli.annotate",
    "helixtune.cli.self_train",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helixtune",
        description="Helixer-style gene annotation with a deep network, and fine-tuning it for your species.",
    )
    parser.add_argument("--version", action="version", version=f"helixtune {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


# every argument that takes a model file (dest names); `bundled` / `bundled:NAME` there means a shipped model
MODEL_PATH_DESTS = ("model", "load_model_path", "pretrained_model_path")


def resolve_bundled_model_names(args) -> None:
    from helixtune.data import resolve_model_path

    for dest in MODEL_PATH_DESTS:
        if isinstance(getattr(args, dest, None), str):
            setattr(args, dest, resolve_model_path(getattr(args, dest)))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        resolve_bundled_model_names(args)
        status = args.func(args)
    except HelixtuneError as error:
        print(f"helixtune {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"helixtune {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
