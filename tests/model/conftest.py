"""Fixtures of the model tests (paths of the upstream models in tests/data/model)."""

import pytest

from model_test_helpers import mini_h5_of, model_dir_of


@pytest.fixture(scope="session")
def model_dir(test_data):
    return model_dir_of(test_data)


@pytest.fixture(scope="session")
def mini_h5(test_data):
    return mini_h5_of(test_data)
