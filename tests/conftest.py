"""Shared fixtures: the small real data shipped in tests/data, and the larger shared data when present.

The larger data lives beside a development checkout (`../shared/data` from the repository root, or the
folder named by HELIXTUNE_SHARED_DATA). Tests that need it use the `shared_data` fixture and skip
cleanly on a fresh clone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
TEST_DATA = REPOSITORY / "tests" / "data"


def _shared_data_dir() -> Path | None:
    candidates = [os.environ.get("HELIXTUNE_SHARED_DATA"), REPOSITORY.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


SHARED_DATA = _shared_data_dir()


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Small real data committed with the repository."""
    return TEST_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The larger shared data folder; the test is skipped when it is absent."""
    if SHARED_DATA is None:
        pytest.skip("larger shared data not available (set HELIXTUNE_SHARED_DATA)")
    return SHARED_DATA


def shared_file(relative: str) -> Path:
    """A file under the shared data folder, or skip the calling test."""
    if SHARED_DATA is None or not (SHARED_DATA / relative).exists():
        pytest.skip(f"shared data file {relative} not available")
    return SHARED_DATA / relative


@pytest.fixture
def has_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return True


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
