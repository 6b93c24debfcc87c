"""Classic Hopfield layer: storage rules and recall against NumPy references.

Save/load, export, symbolic shapes and bad inputs are covered by
`test_structured_conformance.py`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import Hopfield

pytestmark = pytest.mark.usefixtures("keras_seed")


def bipolar(seed, shape):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def sgn(net, previous):
    return np.where(net > 0, 1.0, np.where(net < 0, -1.0, previous))


def reference_recall(W, probes, update, order, max_iterations):
    """Float64 loop: synchronous steps or single-unit asynchronous sweeps.

    Returns the final states and, per probe, the energy after every single
    update (asynchronous) or step (synchronous).
    """
    s = np.where(probes >= 0, 1.0, -1.0)
    energies = [[-0.5 * v @ W @ v] for v in s]
    for _ in range(max_iterations):
        previous = s.copy()
        if update == "synchronous":
            s = sgn(s @ W, s)
        else:
            for j in order:
                s[:, j] = sgn(s @ W[:, j], s[:, j])
                for b, v in enumerate(s):
                    energies[b].append(-0.5 * v @ W @ v)
        if np.array_equal(s, previous):
            break
    return s, energies


def recall(layer, probes):
    return np.asarray(tf.function(layer.__call__)(tf.constant(probes, tf.float32)))


def test_storage_rules_match_their_equations():
    X = bipolar(0, (3, 8))
    layer = Hopfield()
    layer.store(X, rule="hebbian")
    hebbian = X.T @ X / 8
    np.fill_diagonal(hebbian, 0)
    np.testing.assert_allclose(layer.kernel.numpy(), hebbian, atol=1e-6)

    layer.store(X, rule="pseudo_inverse")
    projector = X.T @ np.linalg.inv(X @ X.T) @ X
    np.fill_diagonal(projector, 0)
    np.testing.assert_allclose(layer.kernel.numpy(), projector, atol=1e-5)

    # Storkey (1997), written element by element.
    n = 8
    W = np.zeros((n, n))
    for xi in X:
        h = np.array([[sum(W[i, k] * xi[k] for k in range(n) if k not in (i, j))
                       for j in range(n)] for i in range(n)])
        new = W.copy()
        for i in range(n):
            for j in range(n):
                if i != j:
                    new[i, j] += (xi[i] * xi[j] - xi[i] * h[j, i] - h[i, j] * xi[j]) / n
        W = new
    layer.store(X, rule="storkey")
    np.testing.assert_allclose(layer.kernel.numpy(), W, atol=1e-5)
    np.testing.assert_allclose(W, W.T, atol=1e-12)


@pytest.mark.parametrize("rule,count", [("hebbian", 4), ("pseudo_inverse", 40),
                                        ("storkey", 10)])
def test_stored_patterns_are_fixed_points_below_capacity(rule, count):
    # N = 64: 4 patterns are far below 0.138 N for Hebbian; pseudo-inverse
    # keeps fixed points up to P < N; Storkey's ~N/sqrt(2 ln N) is about 22.
    X = bipolar(1, (count, 64))
    layer = Hopfield(rule=rule, update="synchronous", max_iterations=3)
    layer.store(X)
    np.testing.assert_array_equal(recall(layer, X), X)


def test_hebbian_collapses_above_capacity():
    # 30 patterns in 64 units (load 0.47 >> 0.138): most are not fixed points.
    X = bipolar(2, (30, 64))
    layer = Hopfield(update="synchronous", max_iterations=1)
    layer.store(X)
    assert np.mean(np.all(recall(layer, X) == X, axis=1)) < 0.2


@pytest.mark.parametrize("update,order", [("synchronous", "sequential"),
                                          ("asynchronous", "sequential"),
                                          ("asynchronous", "random")])
def test_recall_matches_numpy_reference(update, order):
    X = bipolar(3, (3, 16))
    probes = bipolar(4, (5, 16)) * np.random.default_rng(5).uniform(0.5, 2, (5, 16))
    probes[0, 0] = 0.0  # counts as +1
    layer = Hopfield(update=update, order=order, max_iterations=6, seed=11)
    layer.store(X)
    got = recall(layer, probes)
    visit = layer.update_order.numpy() if update == "asynchronous" else None
    expected, _ = reference_recall(layer.kernel.numpy().astype(np.float64), probes, update,
                                   visit, 6)
    np.testing.assert_array_equal(got, expected)


def test_energy_never_increases_under_asynchronous_updates():
    X = bipolar(6, (5, 20))
    layer = Hopfield(update="asynchronous", order="random", max_iterations=8, seed=2)
    layer.store(X)
    probes = bipolar(7, (6, 20))
    W = layer.kernel.numpy().astype(np.float64)
    final, energies = reference_recall(W, probes, "asynchronous", layer.update_order.numpy(), 8)
    for trace in energies:  # after every single-unit update
        assert np.all(np.diff(trace) <= 1e-12)
    # The layer reaches a fixed point of the same dynamics, with the same energy.
    got = recall(layer, probes)
    np.testing.assert_array_equal(got, final)
    np.testing.assert_array_equal(sgn(got @ W, got), got)
    np.testing.assert_allclose(layer.energy(got.astype("float32")).numpy(),
                               [-0.5 * v @ W @ v for v in got], rtol=1e-5)


def test_noisy_probes_are_corrected():
    X = bipolar(8, (4, 100))
    noisy = X.copy()
    noisy[:, :10] *= -1
    for update in ("synchronous", "asynchronous"):
        layer = Hopfield(update=update)
        layer.store(X)
        np.testing.assert_array_equal(recall(layer, noisy), X)


def test_trajectory_ends_where_early_stopping_ends():
    X = bipolar(9, (6, 24))
    probes = bipolar(10, (4, 24))
    stopped = Hopfield(update="asynchronous", max_iterations=7)
    traced = Hopfield(update="asynchronous", max_iterations=7, return_trajectory=True)
    stopped.store(X)
    traced.store(X)
    trajectory = recall(traced, probes)
    assert trajectory.shape == (4, 8, 24)
    np.testing.assert_array_equal(trajectory[:, 0], probes)
    np.testing.assert_array_equal(trajectory[:, -1], recall(stopped, probes))
    energies = [[-0.5 * v @ traced.kernel.numpy() @ v for v in row] for row in trajectory]
    assert np.all(np.diff(energies, axis=1) <= 1e-5)


def test_random_order_is_a_seeded_permutation():
    def order(seed):
        layer = Hopfield(update="asynchronous", order="random", seed=seed)
        layer.build((None, 30))
        return layer.update_order.numpy()

    np.testing.assert_array_equal(np.sort(order(1)), np.arange(30))
    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    sequential = Hopfield(update="asynchronous")
    sequential.build((None, 30))
    np.testing.assert_array_equal(sequential.update_order.numpy(), np.arange(30))


def test_argument_and_pattern_errors():
    with pytest.raises(ValueError, match="rule"):
        Hopfield(rule="oja")
    with pytest.raises(ValueError, match="update"):
        Hopfield(update="parallel")
    with pytest.raises(ValueError, match="max_iterations"):
        Hopfield(max_iterations=0)
    layer = Hopfield()
    with pytest.raises(ValueError, match="bipolar"):
        layer.store(np.array([[1.0, 0.0, -1.0]]))
    layer.store(bipolar(0, (2, 6)))
    with pytest.raises(ValueError, match="6 columns"):
        layer.store(bipolar(0, (2, 7)))
    with pytest.raises(ValueError, match="Hopfield"):
        layer(np.ones((2, 7), "float32"))
    assert Hopfield.from_config(layer.get_config()).get_config() == layer.get_config()
    assert keras.saving.get_registered_name(Hopfield) == "rnnzoo>Hopfield"
