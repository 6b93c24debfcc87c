"""Shared test setup: quiet TensorFlow logs, seeded NumPy, CPU only."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def repo_root():
    import pathlib

    return pathlib.Path(__file__).resolve().parent.parent
