"""Second-order RNN: equations against a NumPy reference, hand-computed values,
the start state, argument validation and learning Tomita grammar 4.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the helpers shared with the other variants' tests live in `reference.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import SecondOrder, SecondOrderCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, FEATURES, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def second_order_reference(x, p, activation="sigmoid", s0=None):
    """Float64 loop over time for S_i(t+1) = g(sum_jk W_ijk S_j(t) I_k(t) + b_i).

    `p["W"]` is indexed [j, k, i]; the state starts at (1, 0, ..., 0).
    Returns (outputs of every step, final state).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    W, b = p["W"], p.get("b", 0.0)
    batch, units = x.shape[0], W.shape[0]
    if s0 is None:
        s = np.zeros((batch, units))
        s[:, 0] = 1.0
    else:
        s = np.asarray(s0, np.float64)
    outputs = []
    for t in range(x.shape[1]):
        s = act(np.einsum("bj,bk,jki->bi", s, x[:, t], W) + b)
        outputs.append(s)
    return np.stack(outputs, axis=1), s


def random_params(rng, kwargs):
    """The 3-D W (units, features, units); b unless `use_bias=False`."""
    p = {"W": ref.draw(rng, UNITS, FEATURES, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, s0=None):
    return second_order_reference(x, p, kwargs.get("activation", "sigmoid"), s0)


CASES = {
    "sigmoid": {},
    "sigmoid_no_bias": {"use_bias": False},
    "tanh": {"activation": "tanh"},
}

VARIANT = ref.variant(SecondOrder, random_params, reference, CASES["sigmoid"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, _, _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert tuple(layer.cell.kernel.shape) == (UNITS, FEATURES, UNITS)


def test_one_hot_symbols_multiply_hand_computed():
    # One unit, linear g, no bias, two symbols with weights W[0, 0, 0] = 2 and
    # W[0, 1, 0] = -1. From S(0) = 1 each one-hot symbol multiplies the state
    # by its own weight: "0" -> 2, "01" -> 2 * -1 = -2, "010" -> -2 * 2 = -4.
    layer = SecondOrder(1, activation="linear", use_bias=False, **ref.SEQUENCES_AND_STATE)
    x = np.eye(2, dtype="float32")[[[0, 1, 0]]]
    layer(x)
    layer.cell.kernel.assign(np.array([[[2.0], [-1.0]]], "float32"))
    outputs, state = layer(x)
    np.testing.assert_array_equal(outputs, [[[2.0], [-2.0], [-4.0]]])
    np.testing.assert_array_equal(state, [[-4.0]])


def test_starts_from_one_hot_state_and_first_symbol_matters():
    layer = SecondOrder(3, seed=2, return_sequences=True)
    strings = np.eye(2, dtype="float32")[[[0, 1, 1], [1, 1, 1]]]
    outputs = np.asarray(layer(strings))
    # The strings differ only in the first symbol; from an all-zero state
    # that symbol would be lost (every product term vanishes).
    assert not np.allclose(outputs[0, 0], outputs[1, 0])
    start = np.asarray(layer.cell.get_initial_state(2)[0])
    np.testing.assert_array_equal(start, [[1.0, 0.0, 0.0]] * 2)


def test_reset_state_returns_to_start_state():
    layer = SecondOrder(3, seed=2, stateful=True)
    layer(np.ones((2, 4, 2), "float32"))
    assert not np.allclose(layer.states[0], [[1.0, 0.0, 0.0]] * 2)
    layer.reset_state()
    np.testing.assert_array_equal(layer.states[0], [[1.0, 0.0, 0.0]] * 2)


@ref.invalid_units
@ref.layer_and_cell(SecondOrder, SecondOrderCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


# --- learning: Tomita grammar 4 ----------------------------------------------


def tomita4_prefix_labels(bits):
    """Tomita 4 (no "000") for every prefix, by its DFA: the state counts the
    trailing zeros (0, 1, 2); three zeros reach the dead state 3."""
    labels, state = [], 0
    for bit in bits:
        if state < 3:
            state = 0 if bit == 1 else state + 1
        labels.append(state < 3)
    return labels


def tomita4(rng, count, length):
    bits = rng.integers(0, 2, (count, length))
    x = np.eye(2, dtype="float32")[bits]
    y = np.array([tomita4_prefix_labels(row) for row in bits], "float32")[..., None]
    return x, y


def test_learns_tomita_4_and_generalises_to_longer_strings():
    # Trained on strings of length 10 with a label for every prefix; tested on
    # fresh strings five times longer (prefixes of length 1 to 50).
    rng = np.random.default_rng(0)
    x, y = tomita4(rng, 256, 10)
    model = keras.Sequential(
        [
            keras.Input((None, 2)),
            SecondOrder(4, return_sequences=True, seed=0),
            keras.layers.Dense(1),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=32, epochs=20, verbose=0)
    x_test, y_test = tomita4(rng, 200, 50)
    predicted = model.predict(x_test, verbose=0) > 0.0
    accepted = y_test > 0.5
    # Balanced over accepted and rejected prefixes (most long prefixes are
    # rejected). Chance is 0.5; trained networks score 0.99-1.0 (seeds 0-4).
    balanced = 0.5 * (np.mean(predicted[accepted]) + np.mean(~predicted[~accepted]))
    assert balanced >= 0.97, balanced
