"""Sparse and spectral-radius initializers: exact radius and density, seeds, configs."""

import keras
import numpy as np
import pytest

from rnnzoo.initializers import SparseRandom, SpectralRadius, spectral_radius


def radius(matrix):
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, np.float64)))))


@pytest.mark.parametrize("target", [0.5, 0.9, 1.25])
@pytest.mark.parametrize("distribution", ["uniform", "normal", "bernoulli"])
def test_spectral_radius_is_the_target(target, distribution):
    init = SpectralRadius(target, connectivity=0.2, distribution=distribution, seed=1)
    # In float64, before the cast to the weight's dtype: exact.
    assert radius(init.draw((40, 40))) == pytest.approx(target, abs=1e-12)
    # As a float32 weight: up to float32 rounding of the entries.
    weights = keras.ops.convert_to_numpy(init((40, 40), dtype="float32"))
    assert weights.dtype == np.float32
    assert abs(radius(weights) - target) < 1e-6
    assert spectral_radius(weights) == pytest.approx(radius(weights))


def test_spectral_radius_redraws_nilpotent_draws():
    # A 3x3 matrix with a single non-zero has radius 0 unless it sits on the
    # diagonal; the initializer redraws until it can be rescaled.
    weights = SpectralRadius(0.7, connectivity=0.1, seed=0).draw((3, 3))
    assert np.count_nonzero(weights) == 1
    assert radius(weights) == pytest.approx(0.7)


@pytest.mark.parametrize("connectivity", [0.05, 0.1, 0.5, 1.0])
def test_sparse_connectivity(connectivity):
    weights = SparseRandom(connectivity, seed=0).draw((60, 50))
    assert np.count_nonzero(weights) == round(connectivity * 3000)
    # Positions spread over the matrix, not a block: most rows are touched.
    if connectivity >= 0.1:
        assert np.count_nonzero(np.any(weights != 0, axis=1)) > 0.9 * 60
    matrix = SpectralRadius(0.9, connectivity=connectivity, seed=0).draw((50, 50))
    assert np.count_nonzero(matrix) == round(connectivity * 2500)


def test_sparse_distributions_and_scale():
    uniform = SparseRandom(1.0, "uniform", scale=0.3, seed=0).draw((100, 100))
    assert np.abs(uniform).max() <= 0.3 and np.abs(uniform).max() > 0.29
    assert abs(uniform.mean()) < 0.01
    normal = SparseRandom(1.0, "normal", scale=2.0, seed=0).draw((100, 100))
    assert normal.std() == pytest.approx(2.0, rel=0.05)
    signs = SparseRandom(0.5, "bernoulli", scale=0.14, seed=0).draw((1000,))
    assert set(np.unique(signs)) == {-0.14, 0.0, 0.14}
    assert np.count_nonzero(signs == 0.14) == pytest.approx(250, abs=50)


def test_seeds():
    for make in (lambda s: SparseRandom(0.3, seed=s), lambda s: SpectralRadius(0.9, seed=s)):
        first = keras.ops.convert_to_numpy(make(4)((20, 20)))
        init = make(4)
        np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(init((20, 20))))
        # A seeded initializer draws the same values on every call (as Keras').
        np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(init((20, 20))))
        assert not np.array_equal(first, keras.ops.convert_to_numpy(make(5)((20, 20))))
    # Unseeded: reproducible under keras.utils.set_random_seed, different per call.
    keras.utils.set_random_seed(11)
    a, b = SparseRandom(0.3).draw((10, 10)), SparseRandom(0.3).draw((10, 10))
    keras.utils.set_random_seed(11)
    np.testing.assert_array_equal(a, SparseRandom(0.3).draw((10, 10)))
    assert not np.array_equal(a, b)


@pytest.mark.parametrize(
    "init",
    [SparseRandom(0.2, "normal", scale=0.5, seed=3), SpectralRadius(1.1, 0.3, "bernoulli", seed=9)],
    ids=["sparse", "spectral"],
)
def test_config_round_trip(init):
    config = init.get_config()
    clone = type(init).from_config(config)
    assert clone.get_config() == config
    serialized = keras.initializers.serialize(init)
    restored = keras.initializers.deserialize(serialized)
    assert type(restored) is type(init)
    np.testing.assert_array_equal(restored.draw((8, 8)), init.draw((8, 8)))
    assert keras.saving.get_registered_name(type(init)).startswith("rnnzoo>")


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: SparseRandom(0.0), "connectivity"),
        (lambda: SparseRandom(1.5), "connectivity"),
        (lambda: SparseRandom(0.1, "cauchy"), "distribution"),
        (lambda: SparseRandom(0.1, scale=0), "scale"),
        (lambda: SparseRandom(0.1, seed=1.5), "seed"),
        (lambda: SpectralRadius(0.0), "spectral_radius"),
        (lambda: SpectralRadius(-1.0), "spectral_radius"),
        (lambda: SpectralRadius(0.9, connectivity=True), "connectivity"),
    ],
)
def test_bad_arguments(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


def test_spectral_radius_needs_a_square_matrix():
    with pytest.raises(ValueError, match="square"):
        SpectralRadius(0.9)((4, 5))
    with pytest.raises(ValueError, match="square"):
        spectral_radius(np.zeros((2, 3)))
