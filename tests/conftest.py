"""Shared fixtures: the small real data shipped in tests/data, and the larger shared data when present.

Path helpers (`shared_file`, `peer_python`, `require_program`, `SHARED_DATA`, `TEST_DATA`) live in
`support/sharedpaths.py`; import them from there (`from sharedpaths import shared_file`), never from `conftest`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import modelhelpers
from sharedpaths import SHARED_DATA, TEST_DATA


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


@pytest.fixture
def has_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    return True




@pytest.fixture(scope="session")
def model_dir(test_data):
    """The upstream models and their sampled predictions (tests/data/model)."""
    return modelhelpers.model_dir_of(test_data)


@pytest.fixture(scope="session")
def mini_h5(test_data):
    """Upstream's annotated export of the Micromonas mini genome (28 subsequences)."""
    return modelhelpers.mini_h5_of(test_data)
