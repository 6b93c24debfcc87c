"""RMLP: equations against a NumPy reference, the topology (no cross-layer
feedback), hand-computed values, config and save/load of a multi-layer RMLP,
argument validation and a delayed-recall learning check.

The conformance sweep builds `RMLP(5)` (one layer); the multi-layer case is
checked here.
"""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers import RMLP, RMLPCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")

# Hidden layers in front of the last layer, which has UNITS units (the shared
# helpers build every layer as `RMLP(UNITS, ...)`, so the sizes before the last
# one come from `hidden`, see `make`).
HIDDEN = (3, 4)


def rmlp_reference(x, p, sizes, activation="tanh", state0=None):
    """Float64 loop: a^l_t = act(a^{l-1}_t W_l + a^l_{t-1} U_l + b_l), a^0 = x.

    Returns (last layer at every step, final flat state [a^1, ..., a^L]).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    if state0 is None:
        layers = [np.zeros((x.shape[0], size)) for size in sizes]
    else:
        layers = np.split(np.asarray(state0, np.float64), np.cumsum(sizes)[:-1], axis=1)
    outputs = []
    for t in range(x.shape[1]):
        below = x[:, t]
        for l in range(len(sizes)):
            layers[l] = act(below @ p[f"W{l}"] + layers[l] @ p[f"U{l}"] + p.get(f"b{l}", 0.0))
            below = layers[l]
        outputs.append(below)
    return np.stack(outputs, axis=1), np.concatenate(layers, axis=1)


def sizes_of(kwargs):
    return list(kwargs.get("hidden", ())) + [UNITS]


def random_params(rng, kwargs):
    p, fan_in = {}, FEATURES
    for l, size in enumerate(sizes_of(kwargs)):
        p[f"W{l}"] = ref.draw(rng, fan_in, size)
        p[f"U{l}"] = ref.draw(rng, size, size)
        if kwargs.get("use_bias", True):
            p[f"b{l}"] = ref.draw(rng, size)
        fan_in = size
    return p


def reference(x, p, kwargs, state0=None):
    return rmlp_reference(x, p, sizes_of(kwargs), kwargs.get("activation", "tanh"), state0)


def with_hidden(units, hidden=(), **kwargs):
    """`RMLP` whose int `units` is the last layer, after the `hidden` layers."""
    return RMLP(list(hidden) + [units] if hidden else units, **kwargs)


CASES = {
    "one_layer": {},
    "three_layers": {"hidden": HIDDEN},
    "two_layers_relu_no_bias": {"hidden": (6,), "activation": "relu", "use_bias": False},
}

VARIANT = ref.variant(with_hidden, random_params, reference, CASES["three_layers"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, (_, state), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    sizes = sizes_of(kwargs)
    assert layer.layer_units == tuple(sizes)
    assert layer.cell.state_size == sum(sizes) == state.shape[-1]
    assert layer.cell.output_size == UNITS


def test_layers_do_not_feed_back_into_lower_layers():
    # Perturbing the upper layer's part of the initial state must leave the
    # first layer's trajectory unchanged (recurrence stays within a layer),
    # while the lower part of the state does reach the upper layer.
    layer = RMLP([3, 2], seed=1, return_sequences=False, return_state=True)
    x = np.random.default_rng(0).standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    base = np.zeros((BATCH, 5), "float32")
    _, state = layer(x, initial_state=[base])
    upper = base.copy()
    upper[:, 3:] = 1.0
    _, state_upper = layer(x, initial_state=[upper])
    np.testing.assert_allclose(state_upper[:, :3], state[:, :3], atol=1e-6)
    assert not np.allclose(state_upper[:, 3:], state[:, 3:])
    lower = base.copy()
    lower[:, :3] = 1.0
    _, state_lower = layer(x, initial_state=[lower])
    assert not np.allclose(state_lower[:, 3:], state[:, 3:])


def test_constant_weights_hand_computed():
    # Two layers of one unit, linear, every weight and bias 0.5, x = [1, 2]:
    #   t=1: a1 = 0.5*1 + 0.5*0 + 0.5 = 1.0    a2 = 0.5*1.0 + 0.5*0 + 0.5 = 1.0
    #   t=2: a1 = 0.5*2 + 0.5*1.0 + 0.5 = 2.0  a2 = 0.5*2.0 + 0.5*1.0 + 0.5 = 2.0
    # Outputs are a2 = [1, 2]; the flat state is [a1, a2] = [2, 2].
    layer = RMLP(
        [1, 1], activation="linear", **ref.constant_initializers(0.5), **ref.SEQUENCES_AND_STATE
    )
    outputs, state = layer(np.array([[[1.0], [2.0]]], "float32"))
    np.testing.assert_array_equal(outputs, [[[1.0], [2.0]]])
    np.testing.assert_array_equal(state, [[2.0, 2.0]])


def test_multilayer_config_and_save_load(tmp_path):
    x = np.random.default_rng(3).standard_normal((2, TIME, FEATURES)).astype("float32")
    layer = RMLP([4, 3, 2], seed=5, return_sequences=True)
    config = layer.get_config()
    assert config["units"] == [4, 3, 2]
    clone = RMLP.from_config(config)
    assert clone.get_config() == config and clone.layer_units == (4, 3, 2)
    assert RMLP(4).get_config()["units"] == 4
    model = keras.Sequential([keras.Input((None, FEATURES)), layer, keras.layers.Dense(1)])
    path = tmp_path / "rmlp.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.layers[0].layer_units == (4, 3, 2)
    np.testing.assert_array_equal(loaded(x), model(x))


@pytest.mark.slow
def test_multilayer_tflite_parity(tmp_path):
    inputs = keras.Input((None, FEATURES))
    model = keras.Model(inputs, keras.layers.Dense(2)(RMLP([4, 3], seed=1)(inputs)))
    report = rnnzoo.export(model, tmp_path / "rmlp.tflite", batch_size=2)
    assert report.max_abs_diff <= 1e-5


@pytest.mark.parametrize(
    "units", [0, -1, 2.5, True, [], [3, 0], [4, 2.0], (3, True), "8"],
)
@ref.layer_and_cell(RMLP, RMLPCell)
def test_invalid_units(cls, units):
    info = ref.assert_rejects("units", cls, units)
    assert "list of positive integers" in str(info.value)


# --- learning ----------------------------------------------------------------


def delayed_recall(rng, batch, time, delay):
    x = rng.uniform(-1.0, 1.0, (batch, time, 1)).astype("float32")
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


def test_learns_delayed_recall():
    # Target y_t = x_{t-3}: three past inputs must be held in the layers' state.
    rng = np.random.default_rng(0)
    delay, time = 3, 12
    x, y = delayed_recall(rng, 256, time, delay)
    model = keras.Sequential(
        [keras.Input((time, 1)), RMLP([8, 8], return_sequences=True, seed=0), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=64, epochs=30, verbose=0)
    x_test, y_test = delayed_recall(rng, 256, time, delay)
    prediction = model.predict(x_test, verbose=0)
    mse = float(np.mean((prediction[:, delay:] - y_test[:, delay:]) ** 2))
    # Predicting zero scores the input variance, 1/3; a trained RMLP([8, 8])
    # reaches about 2e-3 on fresh sequences (seeds 0-3). Require below 0.01.
    assert mse < 0.01, mse
