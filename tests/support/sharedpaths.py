"""Paths of test data and peers, importable from any test module as `sharedpaths`.

The larger data lives beside a development checkout (`../shared/data` from the repository root, or the
folder named by HELIXTUNE_SHARED_DATA). Tests that need it call `shared_file(...)` or use the
`shared_data` fixture and skip cleanly on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
TEST_DATA = REPOSITORY / "tests" / "data"


def _shared_data_dir() -> Path | None:
    candidates = [os.environ.get("HELIXTUNE_SHARED_DATA"), REPOSITORY.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


SHARED_DATA = _shared_data_dir()



def shared_file(relative: str) -> Path:
    """A file under the shared data folder, or skip the calling test."""
    if SHARED_DATA is None or not (SHARED_DATA / relative).exists():
        pytest.skip(f"shared data file {relative} not available")
    return SHARED_DATA / relative


def peer_python(name: str) -> Path | None:
    """The Python of a peer tool's environment (PEERS folder, default /tmp/peers), or None."""
    root = Path(os.environ.get("PEERS", "/tmp/peers"))
    python = root / name / "bin" / "python"
    return python if python.exists() else None


def require_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path
