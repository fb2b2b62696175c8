"""Files shipped inside the package: example genomes and the bundled base model."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

EXAMPLE_FILES = ("micromonas_mini.fa.gz", "micromonas_mini.gff3.gz", "spombe_pieces.fa.gz", "spombe_pieces.gff3.gz")

# the real S. pombe genome piece that `helixtune self-train --example` tunes on (the annotation is used
# only to score the base and the tuned model at the end, never for training)
SPOMBE_EXAMPLE_FASTA = "spombe_pieces.fa.gz"
SPOMBE_EXAMPLE_GFF3 = "spombe_pieces.gff3.gz"

# models shipped in data/models/, addressable by name wherever a model path is accepted
# fungi_base: the fungal base model (the default); fungi_base_v1: the one it replaced; base_small: the earlier
# stand-in, trained on four non-fungal genomes; the older ones kept loadable by name
BUNDLED_MODELS = {"fungi_base": "fungi_base.safetensors", "fungi_base_v1": "fungi_base_v1.safetensors",
                  "base_small": "base_small.safetensors"}
DEFAULT_BUNDLED_MODEL = "fungi_base"
BUNDLED_PREFIX = "bundled:"


def example_path(name: str) -> Path:
    """Path of a bundled example file (see `EXAMPLE_FILES`)."""
    return Path(str(resources.files(__package__).joinpath("examples", name)))


def copy_examples(destination) -> list[Path]:
    """Copy the bundled example files into `destination` (created if needed); return the new paths."""
    from helixtune.atomic import atomic_output, output_folder

    created = not Path(destination).exists()
    destination = output_folder(destination)
    copied = []
    try:
        for name in EXAMPLE_FILES:
            target = destination / name
            with atomic_output(target) as tmp:
                shutil.copyfile(example_path(name), tmp)
            copied.append(target)
    except BaseException:
        if created and not any(destination.iterdir()):
            destination.rmdir()
        raise
    return copied


def bundled_model_path(name: str = DEFAULT_BUNDLED_MODEL) -> Path:
    """Path of a model shipped with the package (see `BUNDLED_MODELS`)."""
    from helixtune.errors import HelixtuneError

    if name not in BUNDLED_MODELS:
        raise HelixtuneError(f"no bundled model '{name}'; bundled models: {', '.join(sorted(BUNDLED_MODELS))}")
    return Path(str(resources.files(__package__).joinpath("models", BUNDLED_MODELS[name])))


def resolve_model_path(value):
    """`bundled` or `bundled:NAME` -> the bundled model's file; anything else is returned unchanged.

    An existing file of that name wins, so a user's own file called `bundled` still loads.
    """
    if value is None:
        return value
    text = str(value)
    if text != "bundled" and not text.startswith(BUNDLED_PREFIX):
        if text.lower().rstrip(":") in ("bundle", "bundeled", "bundles", "builtin", "built-in", "default") \
                and not Path(text).exists():
            from helixtune.errors import InputFileError

            raise InputFileError(text, "no such model file; did you mean 'bundled' (the model shipped with "
                                       "helixtune)?")
        return value
    if Path(text).exists():
        return value
    name = text[len(BUNDLED_PREFIX):] if text.startswith(BUNDLED_PREFIX) else DEFAULT_BUNDLED_MODEL
    return str(bundled_model_path(name or DEFAULT_BUNDLED_MODEL))
