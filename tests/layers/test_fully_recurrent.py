"""FullyRecurrent layer: equations against a NumPy reference, hand-computed
values and argument validation.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the helpers shared with the other variants' tests live in `reference.py`.
"""

import numpy as np
import pytest

from rnnzoo.layers import FullyRecurrent, FullyRecurrentCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def fully_recurrent_reference(x, p, output_units=None, activation="tanh", a0=None):
    """Plain float64 loop over time for the fully recurrent equations.

    a_t = act(x_t W + a_{t-1} U + b) (all units);  y_t = a_t[:, :output_units].
    Returns (outputs of every step, final values of all units).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    W, U, b = p["W"], p["U"], p.get("b", 0.0)
    units = U.shape[0]
    visible = units if output_units is None else output_units
    a = ref.first_state(a0, x.shape[0], units)
    outputs = []
    for t in range(x.shape[1]):
        a = act(x[:, t] @ W + a @ U + b)
        outputs.append(a[:, :visible])
    return np.stack(outputs, axis=1), a


def random_params(rng, kwargs):
    """W, U (all units -> all units); b unless `use_bias=False`."""
    p = {"W": ref.draw(rng, FEATURES, UNITS), "U": ref.draw(rng, UNITS, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, a0=None):
    """`fully_recurrent_reference` for a layer built with the arguments `kwargs`."""
    visible, activation = kwargs.get("output_units"), kwargs.get("activation", "tanh")
    return fully_recurrent_reference(x, p, visible, activation, a0)


CASES = {
    "all_visible": {},
    "two_visible": {"output_units": 2},
    "two_visible_sigmoid": {"output_units": 2, "activation": "sigmoid"},
    "one_visible_no_bias": {"output_units": 1, "use_bias": False},
    "all_visible_explicit": {"output_units": UNITS, "activation": "sigmoid"},
}

# The shared tests imported above run with the first case, or the one named.
VARIANT = ref.variant(
    FullyRecurrent,
    random_params,
    reference,
    CASES["two_visible"],
    go_backwards=CASES["two_visible_sigmoid"],
)


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    _, (outputs, state), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, kwargs.get("output_units") or UNITS)
    assert state.shape == (BATCH, UNITS)


def test_outputs_are_the_first_units(rng):
    # The visible outputs are the first `output_units` of all units: the
    # last output equals the leading slice of the final state.
    x = ref.inputs(rng)
    layer, _ = ref.make_layer(VARIANT, x, rng, output_units=2)
    outputs, state = layer(x)
    np.testing.assert_array_equal(outputs[:, -1], np.asarray(state)[:, :2])


def test_constant_weights_hand_computed():
    # One input feature, two units (the first visible), linear activation,
    # every weight and bias 0.5, input x = [1, 2]:
    #   a_1 = 0.5*1 + (0.5*0   + 0.5*0  ) + 0.5 = 1.0   for both units
    #   a_2 = 0.5*2 + (0.5*1.0 + 0.5*1.0) + 0.5 = 2.5   for both units
    # outputs (first unit) = [1.0, 2.5]; final state = [2.5, 2.5].
    layer = FullyRecurrent(
        2,
        output_units=1,
        activation="linear",
        **ref.constant_initializers(0.5),
        **ref.SEQUENCES_AND_STATE,
    )
    x = np.array([[[1.0], [2.0]]], "float32")
    outputs, state = layer(x)
    np.testing.assert_array_equal(outputs, [[[1.0], [2.5]]])
    np.testing.assert_array_equal(state, [[2.5, 2.5]])


def test_hidden_units_feed_the_outputs():
    # Only the hidden unit (index 1) sees the input; the visible unit (index 0)
    # reads it through the recurrence alone. Linear units, no bias, x = [1, 0, 0]:
    #   W = [[0, 1]], U = [[0, 0], [2, 0]]  (hidden -> visible weight 2)
    #   a_1 = [0, 1];  a_2 = [2*1, 0] = [2, 0];  a_3 = [2*0, 0] = [0, 0]
    # visible outputs: [0, 2, 0].
    layer = FullyRecurrent(
        2, output_units=1, activation="linear", use_bias=False, **ref.SEQUENCES_AND_STATE
    )
    x = np.array([[[1.0], [0.0], [0.0]]], "float32")
    layer(x)
    ref.assign(layer, {"W": [[0.0, 1.0]], "U": [[0.0, 0.0], [2.0, 0.0]]})
    outputs, state = layer(x)
    np.testing.assert_array_equal(outputs, [[[0.0], [2.0], [0.0]]])
    np.testing.assert_array_equal(state, [[0.0, 0.0]])


@ref.invalid_units
@ref.layer_and_cell(FullyRecurrent, FullyRecurrentCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize("output_units", [5, 0, -1, 1.5])
def test_invalid_output_units(output_units):
    ref.assert_rejects("output_units", FullyRecurrent, 4, output_units=output_units)


def test_output_units_greater_than_units_message():
    info = ref.assert_rejects("output_units", FullyRecurrentCell, 3, output_units=4)
    assert "units=3" in str(info.value)
