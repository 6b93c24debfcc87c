"""Fixtures of the per-variant layer tests (shared helpers: `reference.py`)."""

import keras
import pytest


@pytest.fixture
def keras_seed():
    """Seeds Python, NumPy and the backend before a test.

    Not autouse: the per-variant test files opt in with
    `pytestmark = pytest.mark.usefixtures("keras_seed")`, so the conformance
    sweep runs exactly as before.
    """
    keras.utils.set_random_seed(1234)


@pytest.fixture
def variant(request):
    """The requesting test file's `VARIANT` (see `reference.py`), for the
    tests that `reference.py` shares between the variants' test files."""
    return request.module.VARIANT
