"""Jordan layer: equations against a NumPy reference, hand-computed values and
argument validation.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the helpers shared with the other variants' tests live in `reference.py`.
"""

import numpy as np
import pytest

from rnnzoo.layers import Jordan, JordanCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def jordan_reference(
    x, p, context_decay, activation="tanh", output_activation="linear", s0=None
):
    """Plain float64 loop over time for the Jordan equations.

    h_t = act(x_t W + s_{t-1} U + b);  y_t = out_act(h_t V + b_y);
    s_t = context_decay * s_{t-1} + y_t.
    Returns (outputs of every step, final state units).
    """
    x, p = ref.float64(x, p)
    act, out_act = ACTIVATIONS[activation], ACTIVATIONS[output_activation]
    W, U, V = p["W"], p["U"], p["V"]
    b, by = p.get("b", 0.0), p.get("by", 0.0)
    s = ref.first_state(s0, x.shape[0], V.shape[1])
    outputs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ W + s @ U + b)
        y = out_act(h @ V + by)
        s = context_decay * s + y
        outputs.append(y)
    return np.stack(outputs, axis=1), s


def random_params(rng, kwargs):
    """W, U (state units -> hidden), V; b and b_y unless `use_bias=False`."""
    output_units = kwargs["output_units"]
    shapes = {"W": (FEATURES, UNITS), "U": (output_units, UNITS), "V": (UNITS, output_units)}
    if kwargs.get("use_bias", True):
        shapes.update(b=(UNITS,), by=(output_units,))
    return {key: ref.draw(rng, *shape) for key, shape in shapes.items()}


def reference(x, p, kwargs, s0=None):
    """`jordan_reference` for a layer built with the arguments `kwargs`."""
    return jordan_reference(
        x,
        p,
        kwargs.get("context_decay", 0.0),
        kwargs.get("activation", "tanh"),
        kwargs.get("output_activation", "linear"),
        s0,
    )


CASES = {
    "decay_0": {"output_units": 3, "context_decay": 0.0},
    "decay_0.6": {"output_units": 3, "context_decay": 0.6},
    "decay_0.6_tanh_output": {
        "output_units": 2,
        "context_decay": 0.6,
        "output_activation": "tanh",
    },
    "decay_0.6_relu_no_bias": {
        "output_units": 2,
        "context_decay": 0.6,
        "activation": "relu",
        "use_bias": False,
    },
}

# The shared tests imported above run with the first case, or the one named.
VARIANT = ref.variant(Jordan, random_params, reference, CASES["decay_0.6"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    _, (outputs, _), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, kwargs["output_units"])


def test_decay_changes_the_state():
    # With decay 0 the state is the last output; with decay > 0 it is not.
    rng = np.random.default_rng(5)
    x = ref.inputs(rng)
    layer, _ = ref.make_layer(VARIANT, x, rng, output_units=3, context_decay=0.0)
    outputs, state = layer(x)
    np.testing.assert_allclose(state, outputs[:, -1], atol=1e-6)
    layer, _ = ref.make_layer(VARIANT, x, rng, output_units=3, context_decay=0.6)
    outputs, state = layer(x)
    assert not np.allclose(state, outputs[:, -1], atol=1e-3)


def test_constant_weights_hand_computed():
    # One input feature, one hidden unit, one output/state unit, linear
    # activations, every weight and bias 0.5, input x = [1, 2].
    # context_decay = 0.5:
    #   h_1 = 0.5*1 + 0.5*0   + 0.5 = 1.0   y_1 = 0.5*1.0 + 0.5 = 1.0   s_1 = 0.5*0   + 1.0 = 1.0
    #   h_2 = 0.5*2 + 0.5*1.0 + 0.5 = 2.0   y_2 = 0.5*2.0 + 0.5 = 1.5   s_2 = 0.5*1.0 + 1.5 = 2.0
    # context_decay = 0 (plain copy of the output), same first step, then:
    #   h_2 = 0.5*2 + 0.5*1.0 + 0.5 = 2.0   y_2 = 1.5                   s_2 = y_2 = 1.5
    common = dict(
        output_units=1,
        activation="linear",
        **ref.constant_initializers(0.5),
        **ref.SEQUENCES_AND_STATE,
    )
    x = np.array([[[1.0], [2.0]]], "float32")
    outputs, state = Jordan(1, context_decay=0.5, **common)(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [1.5]]])
    np.testing.assert_array_equal(state, [[2.0]])
    outputs, state = Jordan(1, context_decay=0.0, **common)(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [1.5]]])
    np.testing.assert_array_equal(state, [[1.5]])


@ref.invalid_units
@ref.layer_and_cell(Jordan, JordanCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units, output_units=2)


@ref.layer_and_cell(Jordan, JordanCell)
def test_missing_output_units(cls):
    ref.assert_rejects("output_units", cls, 4)


@pytest.mark.parametrize("output_units", [0, -1, 2.5, True])
def test_invalid_output_units(output_units):
    ref.assert_rejects("output_units", Jordan, 4, output_units=output_units)


@pytest.mark.parametrize("context_decay", [1.0, -0.1, 1.5, True, "0.5"])
def test_invalid_context_decay(context_decay):
    ref.assert_rejects("context_decay", Jordan, 4, output_units=2, context_decay=context_decay)


@pytest.mark.parametrize("context_decay", [0, 0.0, 0.999])
def test_valid_context_decay_boundaries(context_decay):
    layer = Jordan(4, output_units=2, context_decay=context_decay)
    assert layer.cell.context_decay == pytest.approx(context_decay)
