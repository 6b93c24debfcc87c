"""ESN layer: equations against a NumPy reference, the reservoir's drawn
properties (spectral radius, density, scales), fixed weights, argument checks.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
The conformance gradient check only sees the readout's weights here (a
reservoir has no trainable weights), so this file checks that gradients pass
*through* the reservoir to whatever is below it. The readout's closed-form fit
is tested in `tests/training/test_ridge.py`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.initializers import SparseRandom
from rnnzoo.layers import ESN, ESNCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, FEATURES, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def esn_reference(x, p, leak_rate=1.0, activation="tanh", x0=None):
    """Plain float64 loop: x_t = (1 - a) x_{t-1} + a f(u_t W_in + x_{t-1} W + b)."""
    u = np.asarray(x, np.float64)
    act = ACTIVATIONS[activation]
    W_in, W = p["W"].astype(np.float64), p["U"].astype(np.float64)
    b = p["b"].astype(np.float64) if "b" in p else 0.0
    state = np.zeros((u.shape[0], W.shape[0])) if x0 is None else np.asarray(x0, np.float64)
    outputs = []
    for t in range(u.shape[1]):
        state = (1 - leak_rate) * state + leak_rate * act(u[:, t] @ W_in + state @ W + b)
        outputs.append(state)
    return np.stack(outputs, axis=1), state


def random_params(rng, kwargs):
    p = {"W": ref.draw(rng, FEATURES, UNITS), "U": ref.draw(rng, UNITS, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, x0=None):
    return esn_reference(x, p, kwargs.get("leak_rate", 1.0), kwargs.get("activation", "tanh"),
                         x0)


CASES = {
    "plain": {},
    "leaky": {"leak_rate": 0.3},
    "leaky_relu_no_bias": {"leak_rate": 0.7, "activation": "relu", "use_bias": False},
}
# The shared tests imported above run with the leaky case.
VARIANT = ref.variant(ESN, random_params, reference, CASES["leaky"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    ref.check_matches_reference(VARIANT, rng, kwargs)


def test_hand_computed_leaky_step():
    # One unit, W_in = 1, W = 0.5, b = 0, linear, leak 0.5, inputs [2, 0]:
    #   x_1 = 0.5*0 + 0.5*(2 + 0)        = 1.0
    #   x_2 = 0.5*1 + 0.5*(0 + 0.5*1.0)  = 0.75
    layer = ESN(1, leak_rate=0.5, activation="linear", use_bias=False,
                kernel_initializer=keras.initializers.Constant(1.0),
                recurrent_initializer=keras.initializers.Constant(0.5),
                return_sequences=True)
    np.testing.assert_allclose(layer(np.array([[[2.0], [0.0]]], "float32")), [[[1.0], [0.75]]])


def test_drawn_reservoir_has_the_requested_properties():
    layer = ESN(200, spectral_radius=0.8, connectivity=0.05, input_scaling=0.3,
                input_connectivity=0.5, bias_scaling=0.2, seed=0)
    layer(np.zeros((1, 2, 3), "float32"))
    W_in, W, b = (keras.ops.convert_to_numpy(w) for w in
                  (layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias))
    radius = np.max(np.abs(np.linalg.eigvals(W.astype(np.float64))))
    assert abs(radius - 0.8) < 1e-6
    assert np.count_nonzero(W) == round(0.05 * 200 * 200)
    assert np.count_nonzero(W_in) == round(0.5 * 3 * 200)
    assert 0.29 < np.abs(W_in).max() <= 0.3
    assert 0.19 < np.abs(b).max() <= 0.2
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    # Properties read through to the cell.
    assert (layer.spectral_radius, layer.connectivity, layer.input_scaling) == (0.8, 0.05, 0.3)
    assert (layer.input_connectivity, layer.bias_scaling, layer.leak_rate) == (0.5, 0.2, 1.0)


def test_reservoir_is_fixed_under_training_and_gradients_pass_through():
    x = np.random.default_rng(0).standard_normal((8, 12, 2)).astype("float32")
    y = np.random.default_rng(1).standard_normal((8, 12, 1)).astype("float32")
    model = keras.Sequential([keras.Input((12, 2)), keras.layers.Dense(3, name="below"),
                              ESN(20, seed=0, return_sequences=True),
                              keras.layers.Dense(1, name="readout")])
    reservoir = [w.numpy().copy() for w in model.layers[1].weights]
    below = model.layers[0].kernel.numpy().copy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x) - y))
    grads = tape.gradient(loss, model.trainable_weights)
    names = [w.path for w in model.trainable_weights]
    assert len(names) == 4 and not any("esn" in name for name in names), names
    # The layer below the reservoir gets a gradient through the reservoir.
    assert np.any(np.asarray(grads[0]) != 0)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(reservoir, model.layers[1].weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert not np.array_equal(below, model.layers[0].kernel.numpy())


def test_echo_state_property_forgets_the_initial_state():
    # With spectral radius 0.5 and tanh, states from different starts converge
    # under the same input (the defining property of an echo state network).
    layer = ESN(30, spectral_radius=0.5, seed=2, return_sequences=True)
    u = np.random.default_rng(0).uniform(-1, 1, (1, 100, 1)).astype("float32")
    a = layer(u, initial_state=[np.full((1, 30), 0.9, "float32")])
    b = layer(u, initial_state=[np.full((1, 30), -0.9, "float32")])
    assert np.abs(a[0, 0] - b[0, 0]).max() > 0.1
    assert np.abs(a[0, -1] - b[0, -1]).max() < 1e-5


def test_config_keeps_explicit_initializers_only():
    default = ESN(4, spectral_radius=0.7, seed=1)
    config = default.get_config()
    assert config["recurrent_initializer"] is None and config["spectral_radius"] == 0.7
    explicit = ESN(20, bias_initializer=SparseRandom(0.5, "bernoulli", 0.1), seed=1)
    clone = ESN.from_config(explicit.get_config())
    clone(np.zeros((1, 2, 3), "float32"))
    explicit(np.zeros((1, 2, 3), "float32"))
    np.testing.assert_array_equal(clone.cell.bias.numpy(), explicit.cell.bias.numpy())
    np.testing.assert_allclose(np.unique(clone.cell.bias.numpy()), [-0.1, 0.0, 0.1], rtol=1e-6)


@ref.invalid_units
@ref.layer_and_cell(ESN, ESNCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize(
    "argument, value",
    [
        ("leak_rate", 0.0),
        ("leak_rate", 1.5),
        ("spectral_radius", 0.0),
        ("spectral_radius", -0.9),
        ("input_scaling", 0),
        ("connectivity", 0.0),
        ("connectivity", 1.2),
        ("input_connectivity", 0.0),
        ("bias_scaling", -1.0),
        ("leak_rate", True),
    ],
)
def test_invalid_reservoir_arguments(argument, value):
    info = ref.assert_rejects(argument, ESN, 4, **{argument: value})
    assert "ESNCell" in str(info.value) and repr(value) in str(info.value)


def test_explicit_initializer_conflicts_and_regularizers_are_refused():
    ref.assert_rejects("spectral_radius", ESN, 4, spectral_radius=0.5,
                       recurrent_initializer="orthogonal")
    ref.assert_rejects("input_scaling", ESN, 4, input_scaling=0.5,
                       kernel_initializer="glorot_uniform")
    ref.assert_rejects("kernel_regularizer", ESN, 4, kernel_regularizer="l2")
    ref.assert_rejects("recurrent_constraint", ESN, 4, recurrent_constraint="non_neg")
