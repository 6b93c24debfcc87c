"""FIR (time-delay) layer: equations against a NumPy reference, the finite
impulse response (contrasted with Elman's infinite one), the equivalence with
a causal Conv1D, the delay line as state, argument validation, and learning
inside its window and failing beyond it.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import FIR, Elman, FIRCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_initial_state_matches_reference  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")


def fir_reference(x, p, delays, activation="tanh", line0=None):
    """Plain float64 loop over time for the FIR layer.

    y_t = act(sum_{k=0..D} x_{t-k} W_k + b) with W_k = kernel[D - k] (the
    kernel is stored oldest tap first) and x_s for s < 0 taken from the
    initial delay line `line0` (oldest first), else 0.
    Returns (outputs of every step, final delay line, flat).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    batch, time, features = x.shape
    if line0 is None:
        past = np.zeros((batch, delays, features))
    else:
        past = np.asarray(line0, np.float64).reshape(batch, delays, features)

    def x_at(s):  # s may be negative: the initial line holds x_{-D} .. x_{-1}
        return x[:, s] if s >= 0 else past[:, delays + s]

    outputs = []
    for t in range(time):
        total = p.get("b", 0.0) + sum(x_at(t - k) @ p["W"][delays - k] for k in range(delays + 1))
        outputs.append(act(total))
    line = np.concatenate([x_at(s) for s in range(time - delays, time)], axis=-1)
    return np.stack(outputs, axis=1), line


def random_params(rng, kwargs):
    delays = kwargs.get("delays", 2)
    p = {"W": ref.draw(rng, delays + 1, FEATURES, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, line0=None):
    """`fir_reference` for a layer built with the arguments `kwargs`."""
    return fir_reference(x, p, kwargs.get("delays", 2), kwargs.get("activation", "tanh"), line0)


CASES = {
    "default_two_delays": {},
    "four_delays_linear": {"delays": 4, "activation": "linear"},
    "one_delay_relu_no_bias": {"delays": 1, "activation": "relu", "use_bias": False},
}

VARIANT = ref.variant(FIR, random_params, reference, CASES["four_delays_linear"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, (outputs, line), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, UNITS)
    assert line.shape == (BATCH, kwargs.get("delays", 2) * FEATURES)


def test_state_is_the_delay_line_of_past_inputs(rng):
    # The final state holds the last `delays` inputs, oldest first; passing
    # it on as the initial state of the next chunk continues the stream.
    x = ref.inputs(rng)
    layer = FIR(UNITS, delays=3, **ref.SEQUENCES_AND_STATE)
    whole, line = layer(x)
    np.testing.assert_array_equal(line, x[:, -3:].reshape(BATCH, -1))
    first, first_line = layer(x[:, :4])
    rest, _ = layer(x[:, 4:], initial_state=[first_line])
    np.testing.assert_allclose(np.concatenate([first, rest], axis=1), whole, atol=ref.ATOL)


def test_impulse_response_is_finite_unlike_elman(rng):
    # Change one input at step s. The FIR output changes at steps s .. s + D
    # and is bit-identical afterwards; an Elman network (infinite impulse
    # response) still carries the change at the last step.
    delays, s, time = 3, 2, 12
    x = rng.standard_normal((2, time, FEATURES)).astype("float32")
    bumped = x.copy()
    bumped[:, s] += 1.0
    fir = FIR(UNITS, delays=delays, return_sequences=True)
    elman = Elman(UNITS, return_sequences=True)
    fir_change = np.abs(np.asarray(fir(bumped)) - np.asarray(fir(x))).max(axis=(0, 2))
    elman_change = np.abs(np.asarray(elman(bumped)) - np.asarray(elman(x))).max(axis=(0, 2))
    assert np.all(fir_change[:s] == 0)
    assert np.all(fir_change[s : s + delays + 1] > 1e-3)
    assert np.all(fir_change[s + delays + 1 :] == 0)
    assert np.all(elman_change[s:] > 1e-6), elman_change


def test_unrolls_into_a_causal_conv1d(rng):
    # Unrolled, the FIR layer is a feed-forward causal convolution with the
    # same kernel: checked against a Conv1D built here and `to_conv1d()`.
    x = rng.standard_normal((2, 9, FEATURES)).astype("float32")
    fir = FIR(UNITS, delays=3, activation="sigmoid", return_sequences=True)
    expected = np.asarray(fir(x))
    conv = keras.layers.Conv1D(UNITS, 4, padding="causal", activation="sigmoid")
    conv.build((None, None, FEATURES))
    conv.set_weights(fir.get_weights())
    np.testing.assert_allclose(conv(x), expected, atol=ref.ATOL)
    unrolled = fir.to_conv1d()
    assert unrolled.kernel_size == (4,) and unrolled.padding == "causal"
    np.testing.assert_allclose(unrolled(x), expected, atol=ref.ATOL)
    # The last step of a return_sequences=False layer is the conv's last step.
    last = FIR(UNITS, delays=3, activation="sigmoid")
    last(x)
    last.set_weights(fir.get_weights())
    np.testing.assert_allclose(last(x), expected[:, -1], atol=ref.ATOL)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("time", [TIME, 2])  # 2: shorter than the delay line
def test_loop_free_run_equals_the_step_wise_loop(return_sequences, go_backwards, time, rng):
    # Without a mask `FIR` skips the time loop (one convolution); the cell
    # run step by step by a plain keras.layers.RNN must give the same outputs,
    # final delay line and gradients.
    import tensorflow as tf

    x = tf.constant(rng.standard_normal((BATCH, time, FEATURES)).astype("float32"))
    line0 = tf.constant(rng.standard_normal((BATCH, 3 * FEATURES)).astype("float32"))
    options = dict(return_sequences=return_sequences, return_state=True,
                   go_backwards=go_backwards)
    fir = FIR(UNITS, delays=3, **options)
    fir(x)
    loop = keras.layers.RNN(fir.cell, **options)

    def run(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, line = layer(x, initial_state=[line0])
            loss = tf.reduce_sum(output**2)
        return [output, line, *tape.gradient(loss, [x, *fir.trainable_weights])]

    for fast, stepped in zip(run(fir), run(loop)):
        np.testing.assert_allclose(fast, stepped, rtol=1e-5, atol=1e-6)


def test_to_conv1d_needs_a_built_layer():
    with pytest.raises(ValueError, match="must be built"):
        FIR(3, delays=2).to_conv1d()


def test_has_no_recurrent_weights_or_arguments():
    layer = FIR(3, delays=2)
    layer(np.zeros((1, 4, 2), "float32"))
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel", "bias"]
    assert not [key for key in layer.get_config() if key.startswith("recurrent_")]
    with pytest.raises(ValueError, match="recurrent_initializer"):
        FIR(3, delays=2, recurrent_initializer="zeros")


@ref.invalid_units
@ref.layer_and_cell(FIR, FIRCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


@pytest.mark.parametrize("delays", [0, -1, 1.5, True, None])
@ref.layer_and_cell(FIR, FIRCell)
def test_invalid_delays(cls, delays):
    ref.assert_rejects("delays", cls, 4, delays=delays)


def delayed_recall(rng, batch, time, delay):
    x = rng.uniform(-1.0, 1.0, (batch, time, 1)).astype("float32")
    y = np.zeros_like(x)
    y[:, delay:] = x[:, :-delay]
    return x, y


@pytest.mark.parametrize("delay", [3, 5], ids=["inside_window", "beyond_window"])
def test_recall_inside_its_window_only(delay):
    # Target y_t = x_{t-delay} with a window of delays = 3 past inputs.
    # Inside the window the FIR layer learns it; beyond it the output is
    # independent of the target (independent uniform inputs), so no training
    # can bring the error below the target's variance, 1/3.
    rng = np.random.default_rng(0)
    time = 12
    x, y = delayed_recall(rng, 256, time, delay)
    model = keras.Sequential(
        [
            keras.Input((time, 1)),
            FIR(16, delays=3, return_sequences=True, seed=1),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=64, epochs=15, verbose=0)
    x_test, y_test = delayed_recall(rng, 512, time, delay)
    prediction = model.predict(x_test, verbose=0)
    mse = float(np.mean((prediction[:, delay:] - y_test[:, delay:]) ** 2))
    if delay <= 3:
        # Measured about 4e-4; require better than 0.01.
        assert mse < 0.01, mse
    else:
        # Measured 0.33 (= 1/3); allow sampling noise down to 0.28.
        assert mse > 0.28, mse
