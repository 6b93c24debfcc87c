"""BAM and stochastic BAM: storage, recall and energy against NumPy; sampling statistics.

Save/load, export, symbolic shapes and bad inputs are covered by
`test_structured_conformance.py`.
"""

import numpy as np
import pytest

from rnnzoo.layers import BAM, StochasticBAM

pytestmark = pytest.mark.usefixtures("keras_seed")


def bipolar(seed, shape):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def sgn(net, previous):
    return np.where(net > 0, 1.0, np.where(net < 0, -1.0, previous))


def reference_recall(M, x, y=None, max_iterations=20):
    """Float64 Kosko recall; returns the final pair and the energy after each half step."""
    x = np.where(x >= 0, 1.0, -1.0)
    y = np.ones((x.shape[0], M.shape[1])) if y is None else np.where(y >= 0, 1.0, -1.0)
    energies = []
    for _ in range(max_iterations):
        new_y = sgn(x @ M, y)
        energies.append(-np.sum((x @ M) * new_y, axis=1))
        new_x = sgn(new_y @ M.T, x)
        energies.append(-np.sum((new_x @ M) * new_y, axis=1))
        if np.array_equal(new_x, x) and np.array_equal(new_y, y):
            break
        x, y = new_x, new_y
    return new_x, new_y, np.array(energies)


def test_store_writes_the_correlation_matrix():
    xs, ys = bipolar(0, (4, 9)), bipolar(1, (4, 5))
    layer = BAM(5)
    layer.store(xs, ys)
    expected = sum(np.outer(x, y) for x, y in zip(xs, ys))
    np.testing.assert_array_equal(layer.kernel.numpy(), expected)
    with pytest.raises(ValueError, match="same number"):
        layer.store(xs, ys[:3])
    with pytest.raises(ValueError, match="bipolar"):
        layer.store(xs * 0.5, ys)
    with pytest.raises(ValueError, match="5 columns"):
        layer.store(xs, bipolar(1, (4, 6)))


def test_recalls_stored_pairs_from_noisy_probes():
    xs, ys = bipolar(2, (4, 60)), bipolar(3, (4, 30))
    layer = BAM(30)
    layer.store(xs, ys)
    noisy = xs.copy()
    noisy[:, :6] *= -1  # 10% of the bits flipped
    x, y = layer(noisy.astype("float32"))
    np.testing.assert_array_equal(np.asarray(x), xs)
    np.testing.assert_array_equal(np.asarray(y), ys)
    # From a noisy y probe too (x starts from the y side's recall).
    noisy_y = ys.copy()
    noisy_y[:, :3] *= -1
    x, y = layer([noisy.astype("float32"), noisy_y.astype("float32")])
    np.testing.assert_array_equal(np.asarray(y), ys)


def test_recall_and_energy_match_numpy_reference():
    xs, ys = bipolar(4, (6, 16)), bipolar(5, (6, 10))
    layer = BAM(10, max_iterations=10)
    layer.store(xs, ys)
    probes = bipolar(6, (8, 16))
    y_probes = bipolar(7, (8, 10))
    M = layer.kernel.numpy().astype(np.float64)
    for inputs, y0 in ((probes, None), ([probes, y_probes], y_probes)):
        cast = [a.astype("float32") for a in inputs] if y0 is not None else \
            inputs.astype("float32")
        x, y = layer(cast)
        ex, ey, energies = reference_recall(M, probes, y0, 10)
        np.testing.assert_array_equal(np.asarray(x), ex)
        np.testing.assert_array_equal(np.asarray(y), ey)
        # Kosko's energy never increases along the recall, and ends at the layer's value.
        assert np.all(np.diff(energies, axis=0) <= 0)
        np.testing.assert_allclose(layer.energy(x, y).numpy(), energies[-1])


def test_stochastic_bam_is_deterministic_given_its_seed():
    xs, ys = bipolar(8, (3, 15)), bipolar(9, (3, 9))
    probes = bipolar(10, (5, 15)).astype("float32")

    def run(seed):
        layer = StochasticBAM(9, temperature=5.0, decay=1.0, max_iterations=3, seed=seed)
        layer.store(xs, ys)
        return [np.asarray(v) for v in layer(probes)] + [np.asarray(v) for v in layer(probes)]

    a, b, c = run(1), run(1), run(2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))
    assert not np.array_equal(a[0], a[2])  # the chain advances between calls


def test_stochastic_bam_at_low_temperature_is_the_deterministic_bam():
    # Odd n and an odd number of pairs: every net input is odd, never 0, so
    # the deterministic tie rule never applies.
    xs, ys = bipolar(11, (3, 21)), bipolar(12, (3, 11))
    probes = xs.copy()
    probes[:, :4] *= -1
    probes = np.concatenate([probes, bipolar(13, (5, 21))]).astype("float32")
    deterministic = BAM(11, max_iterations=8)
    stochastic = StochasticBAM(11, temperature=1e-3, min_temperature=1e-3, max_iterations=8,
                               seed=0)
    deterministic.store(xs, ys)
    stochastic.store(xs, ys)
    for u, v in zip(stochastic(probes), deterministic(probes)):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_stochastic_bam_samples_glauber_probabilities():
    xs, ys = bipolar(14, (1, 5)), bipolar(15, (1, 3))
    layer = StochasticBAM(3, temperature=8.0, decay=1.0, max_iterations=1, seed=3)
    layer.store(xs, ys)
    probes = np.repeat(xs, 4000, axis=0).astype("float32")
    _, y = layer(probes)
    net = xs[0] @ layer.kernel.numpy()
    expected = 1 / (1 + np.exp(-2 * net / 8.0))
    # 4000 samples: the standard error of a frequency is below 0.008.
    np.testing.assert_allclose(np.mean(np.asarray(y) > 0, axis=0), expected, atol=0.03)


def test_annealing_schedule_and_arguments():
    layer = StochasticBAM(4, temperature=2.0, decay=0.5, min_temperature=0.3, max_iterations=4)
    assert layer.temperatures() == [2.0, 1.0, 0.5, 0.3]
    config = layer.get_config()
    assert StochasticBAM.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="decay"):
        StochasticBAM(4, decay=1.5)
    with pytest.raises(ValueError, match="temperature"):
        StochasticBAM(4, temperature=0)
    with pytest.raises(ValueError, match="units"):
        BAM(0)
