"""Files shipped inside the package: example genomes and the bundled base model."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

EXAMPLE_FILES = ("micromonas_mini.fa.gz", "micromonas_mini.gff3.gz")


def example_path(name: str) -> Path:
    """Path of a bundled example file (see `EXAMPLE_FILES`)."""
    return Path(str(resources.files(__package__).joinpath("examples", name)))


def copy_examples(destination) -> list[Path]:
    """Copy the bundled example files into `destination` (created if needed); return the new paths."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in EXAMPLE_FILES:
        target = destination / name
        shutil.copyfile(example_path(name), target)
        copied.append(target)
    return copied
