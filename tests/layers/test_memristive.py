"""Memristive layer: the cycle projector, and the dynamics against NumPy Euler and RK4.

The step-wise sweep (`test_conformance.py`) covers shapes, masking, state,
save/load and export.
"""

import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import Memristive
from rnnzoo.layers.memristive import cycle_projector, random_circuit, solve_spd

pytestmark = pytest.mark.usefixtures("keras_seed")

# A square with one diagonal (4 nodes, 5 edges, 2 independent loops) and a
# parallel edge (6 edges, 3 loops).
EDGES = [[0, 1], [1, 2], [2, 3], [3, 0], [0, 2], [1, 2]]


def ctdv_derivative(w, S, omega, alpha, beta, xi):
    """dw/dt = alpha w - (1/beta) (I + xi Omega W)^-1 Omega S, solved directly (float64)."""
    n = len(w)
    return alpha * w - np.linalg.solve(np.eye(n) + xi * omega @ np.diag(w), omega @ S) / beta


def reference(layer, x, integrator="euler", steps_per_input=1):
    cell = layer.cell
    omega = cycle_projector(EDGES)
    W_in, b = cell.kernel.numpy().astype(np.float64), cell.bias.numpy().astype(np.float64)
    h = cell.dt / steps_per_input * (1 if integrator == "euler" else cell.substeps)
    out = []
    for sample in x.astype(np.float64):
        w = np.full(cell.units, cell.initial_memory)
        trace = []
        for u in sample:
            S = u @ W_in + b
            f = lambda v: ctdv_derivative(v, S, omega, cell.alpha, cell.beta, cell.xi)  # noqa
            for _ in range(cell.substeps * steps_per_input if integrator == "euler"
                           else steps_per_input):
                if integrator == "euler":
                    w = np.clip(w + h * f(w), 0, 1)
                else:  # classic RK4 with step h = dt * substeps / steps_per_input
                    k1 = f(w)
                    k2 = f(w + h / 2 * k1)
                    k3 = f(w + h / 2 * k2)
                    k4 = f(w + h * k3)
                    w = w + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            trace.append(w)
        out.append(trace)
    return np.array(out)


def test_cycle_projector_is_the_loop_space_projector():
    omega = cycle_projector(EDGES)
    incidence = np.zeros((4, 6))
    for e, (u, v) in enumerate(EDGES):
        incidence[u, e], incidence[v, e] = 1, -1
    np.testing.assert_allclose(omega, omega.T, atol=1e-12)
    np.testing.assert_allclose(omega @ omega, omega, atol=1e-12)
    assert round(np.trace(omega)) == 6 - 4 + 1  # E - V + 1 independent loops
    np.testing.assert_allclose(incidence @ omega, 0, atol=1e-12)  # loop currents obey KCL
    loop = np.array([1, 1, 1, 1, 0, 0.0])  # the square 0-1-2-3-0
    np.testing.assert_allclose(omega @ loop, loop, atol=1e-12)
    edges = random_circuit(9, 5, np.random.default_rng(0))
    assert len(edges) == 9 and round(np.trace(cycle_projector(edges, 5))) == 5


def test_spd_solver_matches_numpy():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 5, 5))
    spd = A @ A.transpose(0, 2, 1) + 5 * np.eye(5)
    b = rng.standard_normal((3, 5))
    got = np.asarray(solve_spd(spd.astype("float32"), b.astype("float32")))
    np.testing.assert_allclose(got, np.linalg.solve(spd, b[..., None])[..., 0], rtol=1e-4,
                               atol=1e-5)


def make(**kwargs):
    args = dict(edges=EDGES, alpha=0.2, beta=2.0, xi=9.0, dt=0.1, seed=3,
                return_sequences=True)
    args.update(kwargs)
    return Memristive(6, **args)


def test_dynamics_match_numpy_euler():
    # Strong sources and growth drive some memories to the bounds: clipping is exercised.
    x = 4 * np.random.default_rng(2).standard_normal((2, 8, 2)).astype("float32")
    for substeps in (1, 3):
        layer = make(substeps=substeps, dt=0.3, alpha=1.0)
        got = np.asarray(layer(x))
        expected = reference(layer, x)
        assert np.any(expected == 0) or np.any(expected == 1) or substeps == 3
        np.testing.assert_allclose(got, expected, atol=2e-5)


def test_small_steps_follow_an_rk4_integration():
    # Small sources keep the memories inside (0, 1) (no clipping), where the
    # equation is smooth; Euler with 20 substeps tracks RK4 to O(dt).
    x = 0.1 * np.random.default_rng(3).standard_normal((2, 5, 2)).astype("float32")
    layer = make(substeps=20, dt=0.5 / 20)
    got = np.asarray(tf.function(layer.__call__)(x))  # traced: 20 substeps per step
    rk4 = reference(layer, x, integrator="rk4", steps_per_input=4)
    assert 0 < rk4.min() and rk4.max() < 1
    assert np.max(np.abs(rk4 - rk4[:, :1])) > 0.05  # the memories really move
    np.testing.assert_allclose(got, rk4, atol=2e-3)


def test_substeps_differentiate_under_xla():
    # The conformance sweep compiles the default (one substep); several run
    # in a loop, whose gradient XLA compiles only with a bound on its length.
    x = tf.constant(0.1 * np.random.default_rng(4).standard_normal((2, 5, 2)), "float32")
    layer = make(substeps=3, dt=0.1)
    layer(x)

    def gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(layer(x)))
        return tape.gradient(loss, layer.trainable_weights)

    plain = tf.function(gradients)(x)
    compiled = tf.function(gradients, jit_compile=True)(x)
    for a, b in zip(compiled, plain):
        assert np.any(np.asarray(b) != 0)
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_initial_memory_reset_and_config():
    layer = make(initial_memory=0.3, stateful=True, return_sequences=False)
    x = np.zeros((2, 3, 2), "float32")
    layer(x)
    layer.reset_state()
    np.testing.assert_allclose(layer.states[0].numpy(), 0.3)
    config = layer.get_config()
    assert config["edges"] == EDGES and "recurrent_initializer" not in config
    assert Memristive.from_config(config).get_config() == config
    a, b = Memristive(8, seed=5), Memristive(8, seed=5)
    a(x)
    b(x)
    np.testing.assert_array_equal(a.cell.cycle_projector.numpy(), b.cell.cycle_projector.numpy())
    assert not a.cell.cycle_projector.trainable


def test_argument_errors():
    with pytest.raises(ValueError, match="edges"):
        Memristive(3, edges=[[0, 1], [1, 1], [1, 2]])
    with pytest.raises(ValueError, match="edges"):
        Memristive(4, edges=EDGES)
    with pytest.raises(ValueError, match="num_nodes"):
        Memristive(3, num_nodes=6)
    with pytest.raises(ValueError, match="initial_memory"):
        Memristive(3, initial_memory=1.5)
    with pytest.raises(ValueError, match="dt"):
        Memristive(3, dt=0)
