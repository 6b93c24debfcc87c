"""IndRNN layer: equations against a NumPy reference, hand-computed values,
argument validation, the `max_timesteps` clip and a small learning check.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the helpers shared with the other variants' tests live in `reference.py`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import IndRNN, IndRNNCell, RecurrentMaxAbs
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def indrnn_reference(x, p, activation="relu", h0=None):
    """Plain float64 loop over time for the IndRNN equation.

    h_t = act(x_t W + u * h_{t-1} + b)   (`u` a vector: element-wise recurrence)
    Returns (outputs of every step, final state).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    W, u, b = p["W"], p["u"], p.get("b", 0.0)
    h = ref.first_state(h0, x.shape[0], u.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W + u * h + b)
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def random_params(rng, kwargs):
    """W, the recurrent vector u; b unless `use_bias=False`."""
    p = {
        "W": ref.draw(rng, FEATURES, UNITS),
        # Both signs, |u| < 1 (inside the max_timesteps=7 bound 2**(1/7) too).
        "u": rng.uniform(-1.0, 1.0, UNITS).astype("float32"),
    }
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, h0=None):
    """`indrnn_reference` for a layer built with the arguments `kwargs`."""
    return indrnn_reference(x, p, kwargs.get("activation", "relu"), h0)


CASES = {
    "relu": {},
    "relu_no_bias": {"use_bias": False},
    "tanh": {"activation": "tanh"},
    "relu_max_timesteps": {"max_timesteps": TIME},
}

# The shared tests imported above run with the first case, or the one named.
VARIANT = ref.variant(IndRNN, random_params, reference, CASES["relu"], initial_state=CASES["tanh"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, _, (expected_outputs, _) = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert tuple(layer.cell.recurrent_kernel.shape) == (UNITS,)
    # The relu cases must exercise both sides of the kink.
    if kwargs.get("activation", "relu") == "relu":
        assert np.any(expected_outputs == 0.0) and np.any(expected_outputs > 0.0)


def test_constant_weights_hand_computed():
    # One input feature, one unit, relu, W = u = b = 0.5, input x = [1, -4, 2]:
    #   h_1 = relu(0.5*1    + 0.5*0   + 0.5) = relu( 1.0) = 1.0
    #   h_2 = relu(0.5*(-4) + 0.5*1.0 + 0.5) = relu(-1.0) = 0.0
    #   h_3 = relu(0.5*2    + 0.5*0   + 0.5) = relu( 1.5) = 1.5
    layer = IndRNN(1, **ref.constant_initializers(0.5), **ref.SEQUENCES_AND_STATE)
    x = np.array([[[1.0], [-4.0], [2.0]]], "float32")
    outputs, state = layer(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [0.0], [1.5]]])
    np.testing.assert_array_equal(state, [[1.5]])


def test_units_are_independent_hand_computed():
    # Two units, linear activation, no bias, identity input weights,
    # u = [0.5, 2], input x = [[1, 1], [0, 0], [0, 0]]:
    #   unit 0: 1, 0.5*1 = 0.5, 0.5*0.5 = 0.25
    #   unit 1: 1, 2*1   = 2,   2*2     = 4
    # (a full recurrent matrix would mix the two columns).
    layer = IndRNN(2, activation="linear", use_bias=False, return_sequences=True)
    x = np.array([[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]], "float32")
    layer(x)
    ref.assign(layer, {"W": np.eye(2, dtype="float32"), "u": [0.5, 2.0]})
    np.testing.assert_array_equal(layer(x), [[[1.0, 1.0], [0.5, 2.0], [0.25, 4.0]]])


@ref.invalid_units
@ref.layer_and_cell(IndRNN, IndRNNCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize("max_timesteps", [0, -3, 2.5, True])
@ref.layer_and_cell(IndRNN, IndRNNCell)
def test_invalid_max_timesteps(cls, max_timesteps):
    ref.assert_rejects("max_timesteps", cls, 4, max_timesteps=max_timesteps)


@pytest.mark.parametrize("max_value", [0, -1.0, "1"])
def test_invalid_max_value(max_value):
    ref.assert_rejects("max_value", RecurrentMaxAbs, max_value)


# --- max_timesteps: initialisation range and the clip -----------------------

T = 5
BOUND = 2.0 ** (1.0 / T)


def test_recurrent_init_within_bound():
    layer = IndRNN(256, max_timesteps=T, seed=3)
    layer(np.zeros((1, 2, FEATURES), "float32"))
    u = np.asarray(layer.cell.recurrent_kernel)
    assert u.min() >= 0.0 and u.max() <= np.float32(BOUND)
    # The range is [0, 2**(1/T)], not the default [0, 1].
    assert u.max() > 1.0
    default = IndRNN(256, seed=3)
    default(np.zeros((1, 2, FEATURES), "float32"))
    u = np.asarray(default.cell.recurrent_kernel)
    assert u.min() >= 0.0 and u.max() <= 1.0


def push_recurrent_weights(layer, x, units):
    """One SGD step with a huge learning rate that drives half of the recurrent
    weights up and the other half down; returns the signs it pushed toward."""
    direction = np.where(np.arange(units) % 2 == 0, 1.0, -1.0).astype("float32")
    optimizer = keras.optimizers.SGD(learning_rate=1e6)
    with tf.GradientTape() as tape:
        final = layer(x)
        if isinstance(final, (list, tuple)):
            final = final[0]
        # Linear units with positive inputs and weights: d final / d u > 0, so
        # the loss rewards large u where direction = +1 and small u elsewhere.
        loss = -tf.reduce_sum(tf.reduce_mean(final, axis=0) * direction)
    variables = layer.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return direction


def clip_test_layer(units=6, **kwargs):
    return IndRNN(
        units,
        max_timesteps=T,
        activation="linear",
        use_bias=False,
        kernel_initializer="ones",
        seed=5,
        **kwargs,
    )


def positive_inputs():
    return np.random.default_rng(7).uniform(0.1, 1.0, (4, T, FEATURES)).astype("float32")


def test_optimizer_step_is_clipped():
    units = 6
    layer = clip_test_layer(units)
    x = positive_inputs()
    layer(x)
    assert isinstance(layer.cell.recurrent_kernel.constraint, RecurrentMaxAbs)
    before = np.asarray(layer.cell.recurrent_kernel).copy()
    direction = push_recurrent_weights(layer, x, units)
    u = np.asarray(layer.cell.recurrent_kernel)
    assert not np.allclose(u, before)
    assert np.all(np.abs(u) <= np.float32(BOUND))
    # Pushed far beyond the bound in both directions, then clipped onto it.
    np.testing.assert_allclose(u, direction * BOUND, rtol=1e-6)


def test_explicit_recurrent_constraint_replaces_clip():
    layer = IndRNN(4, max_timesteps=T, recurrent_constraint="non_neg")
    assert isinstance(layer.cell.constraints["recurrent"], keras.constraints.NonNeg)


def test_constraint_round_trips_through_config():
    constraint = RecurrentMaxAbs(BOUND)
    again = keras.constraints.deserialize(keras.constraints.serialize(constraint))
    assert isinstance(again, RecurrentMaxAbs) and again.max_value == constraint.max_value
    assert RecurrentMaxAbs.from_config(constraint.get_config()).max_value == constraint.max_value

    layer = IndRNN(4, max_timesteps=T)
    config = layer.get_config()
    assert config["max_timesteps"] == T
    clone = IndRNN.from_config(config)
    restored = clone.cell.constraints["recurrent"]
    assert isinstance(restored, RecurrentMaxAbs)
    assert restored.max_value == pytest.approx(BOUND)
    assert clone.get_config() == config


def test_constraint_survives_keras_save_load(tmp_path):
    units = 6
    x = positive_inputs()
    model = keras.Sequential([keras.Input((T, FEATURES)), clip_test_layer(units)])
    path = tmp_path / "indrnn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    layer = loaded.layers[0]
    assert isinstance(layer, IndRNN) and layer.cell.max_timesteps == T
    constraint = layer.cell.recurrent_kernel.constraint
    assert isinstance(constraint, RecurrentMaxAbs)
    assert constraint.max_value == pytest.approx(BOUND)
    np.testing.assert_array_equal(loaded(x), model(x))
    # And the loaded constraint still clips an optimizer step.
    direction = push_recurrent_weights(layer, x, units)
    np.testing.assert_allclose(layer.cell.recurrent_kernel, direction * BOUND, rtol=1e-6)


# --- learning ----------------------------------------------------------------


def adding_problem(rng, batch, time):
    """Channel 0: values in [0, 1); channel 1: 1 on two random steps, else 0.
    Target: the sum of the two marked values."""
    values = rng.uniform(0.0, 1.0, (batch, time)).astype("float32")
    markers = np.zeros((batch, time), "float32")
    for row in markers:
        row[rng.choice(time, 2, replace=False)] = 1.0
    x = np.stack([values, markers], axis=-1)
    y = np.sum(values * markers, axis=1, keepdims=True)
    return x, y


def test_learns_adding_problem():
    time = 20
    rng = np.random.default_rng(0)
    x, y = adding_problem(rng, 256, time)
    # A single IndRNN layer cannot form value*marker before accumulating it:
    # the relu that would gate the value also acts on the carried memory.
    # A per-step Dense(relu) in front computes the gate (e.g. relu(v + m - 1));
    # the IndRNN(16) then accumulates it over the 20 steps.
    model = keras.Sequential(
        [
            keras.Input((time, 2)),
            keras.layers.Dense(16, activation="relu"),
            IndRNN(16, max_timesteps=time, seed=0),
            # Start the readout at the target mean (1.0).
            keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(1.0)),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(x, y, batch_size=32, epochs=25, verbose=0)
    x_test, y_test = adding_problem(rng, 256, time)
    train_mse = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    test_mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    # Predicting the mean scores Var(sum of two U(0,1)) = 1/6 ~ 0.167.
    assert train_mse < 0.05, train_mse
    assert test_mse < 0.05, test_mse
