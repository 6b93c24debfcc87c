"""Elman layer: equations against a NumPy reference, hand-computed values,
argument validation and a small learning check.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the helpers shared with the other variants' tests live in `reference.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import Elman, ElmanCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def elman_reference(x, p, activation="tanh", output_activation="linear", c0=None):
    """Plain float64 loop over time for the Elman equations.

    h_t = act(x_t W + c_t U + b);  c_{t+1} = h_t;  y_t = out_act(h_t V + b_y) or h_t.
    Returns (outputs of every step, final context).
    """
    x, p = ref.float64(x, p)
    act, out_act = ACTIVATIONS[activation], ACTIVATIONS[output_activation]
    W, U, b = p["W"], p["U"], p.get("b", 0.0)
    c = ref.first_state(c0, x.shape[0], U.shape[0])
    outputs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W + c @ U + b)
        c = h
        if "V" in p:
            y = out_act(h @ p["V"] + p.get("by", 0.0))
        else:
            y = h
        outputs.append(y)
    return np.stack(outputs, axis=1), c


def random_params(rng, kwargs):
    """W, U, b; V and b_y with an output layer; no biases without `use_bias`."""
    output_units, use_bias = kwargs.get("output_units"), kwargs.get("use_bias", True)
    p = {"W": ref.draw(rng, FEATURES, UNITS), "U": ref.draw(rng, UNITS, UNITS)}
    if use_bias:
        p["b"] = ref.draw(rng, UNITS)
    if output_units:
        p["V"] = ref.draw(rng, UNITS, output_units)
        if use_bias:
            p["by"] = ref.draw(rng, output_units)
    return p


def reference(x, p, kwargs, c0=None):
    """`elman_reference` for a layer built with the arguments `kwargs`."""
    activation = kwargs.get("activation", "tanh")
    return elman_reference(x, p, activation, kwargs.get("output_activation", "linear"), c0)


CASES = {
    "hidden_only": {},
    "output_layer_sigmoid": {"output_units": 3, "output_activation": "sigmoid"},
    "output_layer_relu_no_bias": {"output_units": 2, "activation": "relu", "use_bias": False},
}

# The shared tests imported above run with the first case, or the one named.
VARIANT = ref.variant(Elman, random_params, reference, CASES["output_layer_sigmoid"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    _, (outputs, _), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, kwargs.get("output_units", UNITS))


def test_constant_weights_hand_computed():
    # One input feature, one hidden unit, one output unit, linear activations,
    # every weight and bias 0.5, input x = [1, 2]:
    #   h_1 = 0.5*1 + 0.5*0   + 0.5 = 1.0   y_1 = 0.5*1.0 + 0.5 = 1.0
    #   h_2 = 0.5*2 + 0.5*1.0 + 0.5 = 2.0   y_2 = 0.5*2.0 + 0.5 = 1.5
    # final context = h_2 = 2.0; without the output layer y_t = h_t = [1.0, 2.0].
    common = dict(activation="linear", **ref.constant_initializers(0.5), **ref.SEQUENCES_AND_STATE)
    x = np.array([[[1.0], [2.0]]], "float32")
    outputs, context = Elman(1, output_units=1, **common)(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [1.5]]])
    np.testing.assert_array_equal(context, [[2.0]])
    outputs, context = Elman(1, **common)(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [2.0]]])
    np.testing.assert_array_equal(context, [[2.0]])


@ref.invalid_units
@ref.layer_and_cell(Elman, ElmanCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize("output_units", [0, -2, 1.5])
def test_invalid_output_units(output_units):
    ref.assert_rejects("output_units", Elman, 4, output_units=output_units)


def delayed_recall(rng, batch, time, delay):
    x = rng.uniform(-1.0, 1.0, (batch, time, 1)).astype("float32")
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


def test_learns_delayed_recall():
    # Target y_t = x_{t-2}: the network must hold two past inputs in its context.
    rng = np.random.default_rng(0)
    delay, time = 2, 12
    x, y = delayed_recall(rng, 256, time, delay)
    model = keras.Sequential(
        [
            keras.Input((time, 1)),
            Elman(16, return_sequences=True, seed=1),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=64, epochs=30, verbose=0)
    x_test, y_test = delayed_recall(rng, 256, time, delay)
    prediction = model.predict(x_test, verbose=0)
    mse = float(np.mean((prediction[:, delay:] - y_test[:, delay:]) ** 2))
    # Predicting zero scores the input variance, 1/3; a trained Elman(16)
    # reaches about 1e-3 on fresh sequences. Require better than 0.01.
    assert mse < 0.01, mse
