"""Clockwork RNN ("hierarchical"): equations against a NumPy reference, the
update schedule, the direction of the module connections, the step counter
under initial states and masks, argument validation and a long-memory
learning check.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers import ClockworkRNN, ClockworkRNNCell
from tests.layers import reference as ref
from tests.layers.reference import ACTIVATIONS, BATCH, FEATURES, TIME, UNITS

# Tests shared by every variant, collected here and run on this file's VARIANT.
# (The shared initial-state test assumes one state; the clockwork carries two
# and has its own below.)
from tests.layers.reference import test_go_backwards_matches_reference_on_reversed_input  # noqa
from tests.layers.reference import test_unroll_matches_reference  # noqa

pytestmark = pytest.mark.usefixtures("keras_seed")

# The documented split of UNITS = 5 into modules (faster modules take the
# remainder), by periods.
SPLITS_OF_5 = {(1, 2, 4, 8): (2, 1, 1, 1), (1, 2, 3): (2, 2, 1), (1, 3): (3, 2)}


def clockwork_reference(x, p, periods, activation="tanh", state0=None):
    """Plain float64 loop over time for the Clockwork RNN.

    a_t = act(x_t W + h_{t-1} U' + b), where U' keeps U[j, i] only when the
    module of unit j is as slow as or slower than that of unit i; unit i
    takes a_t[i] at steps t with t % period(i) == 0 and keeps its value
    otherwise. `state0` = (h0, t0) with t0 the step index of each row.
    Returns (outputs of every step, (final h, final step index)).
    """
    x, p = ref.float64(x, p)
    act = ACTIVATIONS[activation]
    sizes = SPLITS_OF_5[tuple(periods)]
    period = np.array([T for T, size in zip(periods, sizes) for _ in range(size)])
    U = p["U"].copy()
    for j in range(len(period)):
        for i in range(len(period)):
            if period[j] < period[i]:  # a faster unit never feeds a slower one
                U[j, i] = 0.0
    batch = x.shape[0]
    if state0 is None:
        h, step = np.zeros((batch, len(period))), np.zeros(batch, int)
    else:
        h, step = np.array(state0[0], np.float64), np.array(state0[1], int).reshape(batch)
    outputs = []
    for t in range(x.shape[1]):
        a = act(x[:, t] @ p["W"] + h @ U + p.get("b", 0.0))
        for row in range(batch):
            active = (step[row] + t) % period == 0
            h[row, active] = a[row, active]
        outputs.append(h.copy())
    return np.stack(outputs, axis=1), (h, step + x.shape[1])


def random_params(rng, kwargs):
    """W, U (every entry, masked ones included) and b unless `use_bias=False`."""
    p = {"W": ref.draw(rng, FEATURES, UNITS), "U": ref.draw(rng, UNITS, UNITS)}
    if kwargs.get("use_bias", True):
        p["b"] = ref.draw(rng, UNITS)
    return p


def reference(x, p, kwargs, state0=None):
    """`clockwork_reference` for a layer built with `kwargs`, as (outputs, h)."""
    periods = kwargs.get("periods", (1, 2, 4, 8))
    outputs, (h, _) = clockwork_reference(x, p, periods, kwargs.get("activation", "tanh"), state0)
    return outputs, h


CASES = {
    "default_periods": {},
    # lcm(1, 2, 3) = 6 < TIME, so the counter wraps within the sequence.
    "periods_1_2_3_relu": {"periods": (1, 2, 3), "activation": "relu"},
    "two_modules_sigmoid_no_bias": {"periods": (1, 3), "activation": "sigmoid", "use_bias": False},
}

VARIANT = ref.variant(ClockworkRNN, random_params, reference, CASES["periods_1_2_3_relu"])


@pytest.mark.parametrize("kwargs", CASES.values(), ids=CASES.keys())
def test_matches_numpy_reference(kwargs, rng):
    layer, (outputs, h, step), _ = ref.check_matches_reference(VARIANT, rng, kwargs)
    assert outputs.shape == (BATCH, TIME, UNITS)
    cycle = np.lcm.reduce(kwargs.get("periods", (1, 2, 4, 8)))
    np.testing.assert_array_equal(step, np.full((BATCH, 1), TIME % cycle))


def test_initial_state_and_step_index(rng):
    # A start index per row shifts that row's schedule; the reference counts
    # steps without wrapping, so this also checks the wrap at lcm = 6.
    kwargs = CASES["periods_1_2_3_relu"]
    x = ref.inputs(rng)
    layer, p = ref.make_layer(VARIANT, x, rng, **kwargs)
    h0 = rng.standard_normal((BATCH, UNITS)).astype("float32")
    t0 = np.array([[0.0], [1.0], [5.0]], "float32")
    outputs, (h, step) = clockwork_reference(x, p, (1, 2, 3), "relu", (h0, t0))
    actual_outputs, actual_h, actual_step = layer(x, initial_state=[h0, t0])
    ref.assert_matches((actual_outputs, actual_h), (outputs, h))
    np.testing.assert_array_equal(actual_step, (step % 6)[:, None])
    # The start index matters on its own.
    shifted = layer(x, initial_state=[h0, np.zeros_like(t0)])[0]
    assert not np.allclose(shifted[1:], actual_outputs[1:], atol=ref.ATOL)


def test_modules_update_on_their_clock(rng):
    # A module with period T changes only at steps t with t % T == 0.
    layer = ClockworkRNN(8, periods=(1, 2, 4, 8), return_sequences=True)
    y = np.asarray(layer(rng.standard_normal((2, 17, 3)).astype("float32")))
    changed = np.any(y[:, 1:] != y[:, :-1], axis=0)  # (16 steps, units): at t = 1..16
    t = np.arange(1, 17)[:, None]
    period = np.repeat([1, 2, 4, 8], 2)[None, :]
    np.testing.assert_array_equal(changed, t % period == 0)


def test_slower_modules_feed_faster_ones_only(rng):
    # The slowest module reads only itself and the input: changing the other
    # modules' start state leaves its whole trajectory unchanged, while the
    # fastest module, which reads every slower one, does change.
    layer = ClockworkRNN(6, periods=(1, 2, 4), return_sequences=True)
    x = rng.standard_normal((1, 9, 2)).astype("float32")
    layer(x)
    h0 = rng.standard_normal((1, 6)).astype("float32")
    t0 = np.zeros((1, 1), "float32")

    def run(start):
        return np.asarray(layer(x, initial_state=[start, t0]))[0]

    base = run(h0)
    faster = h0.copy()
    faster[:, :4] += 1.0  # modules with periods 1 and 2
    np.testing.assert_array_equal(run(faster)[:, 4:], base[:, 4:])
    slower = h0.copy()
    slower[:, 4:] += 1.0  # the period-4 module
    assert not np.allclose(run(slower)[0, :2], base[0, :2])
    recurrent = layer.cell.recurrent_kernel.numpy()
    assert np.all(recurrent[:2, 2:] == 0) and np.all(recurrent[2:4, 4:] == 0)
    assert np.all(recurrent[4:, :] != 0)


def test_masked_step_does_not_advance_the_clock(rng):
    # A hole in the middle of the mask equals the sequence without that step,
    # both for the hidden state and for the step index.
    x = rng.standard_normal((1, 7, 3)).astype("float32")
    mask = np.ones((1, 7), bool)
    mask[0, 2] = False
    layer = ClockworkRNN(6, periods=(1, 2, 4), return_state=True)
    masked = layer(x, mask=mask)
    unmasked = layer(np.delete(x, 2, axis=1))
    for a, b in zip(masked, unmasked):
        np.testing.assert_allclose(a, b, atol=ref.ATOL)
    assert float(masked[2][0, 0]) == 6 % 4  # not 7 % 4


def test_registered_as_hierarchical_with_alias():
    assert rnnzoo.get_layer("hierarchical") is ClockworkRNN
    assert rnnzoo.get_layer("clockwork_rnn") is ClockworkRNN
    layer = ClockworkRNN(5, periods=[1, 4])
    assert layer.periods == (1, 4) and layer.cell.module_sizes == (3, 2)
    assert layer.get_config()["periods"] == [1, 4]


@ref.invalid_units
@ref.layer_and_cell(ClockworkRNN, ClockworkRNNCell)
def test_invalid_units(cls, units):
    ref.assert_rejects("units", cls, units)


def test_fewer_units_than_modules():
    info = ref.assert_rejects("units", ClockworkRNN, 3, periods=(1, 2, 4, 8))
    assert "at least 4 units" in str(info.value)


@pytest.mark.parametrize(
    "periods", [(), (2, 1), (1, 1), (0, 2), (1, 2.0), (1, True), "1,2", None]
)
def test_invalid_periods(periods):
    info = ref.assert_rejects("periods", ClockworkRNNCell, 8, periods=periods)
    assert "strictly increasing" in str(info.value)


def first_input_recall(rng, batch, time):
    x = rng.uniform(-1.0, 1.0, (batch, time, 1)).astype("float32")
    return x, x[:, 0]


def test_learns_to_recall_the_first_input_after_30_steps():
    # The target is the first of 31 random inputs. The period-32 module
    # updates only at step 0 within the sequence, so it can hold x_0 exactly.
    rng = np.random.default_rng(0)
    time = 31
    x, y = first_input_recall(rng, 256, time)
    model = keras.Sequential(
        [
            keras.Input((time, 1)),
            ClockworkRNN(16, periods=(1, 2, 4, 8, 16, 32), seed=1),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    model.fit(x, y, batch_size=64, epochs=20, verbose=0)
    x_test, y_test = first_input_recall(rng, 512, time)
    mse = float(np.mean((model.predict(x_test, verbose=0) - y_test) ** 2))
    # Predicting zero scores the variance 1/3; the clockwork reaches 5e-4 to
    # 9e-4 over three seeds, an Elman(16) on the same budget 0.07 to 0.08.
    # Require better than 0.01.
    assert mse < 0.01, mse


def test_layer_equals_bare_cell_in_keras_rnn(rng):
    # The layer computes the loop constants (the masked recurrent kernel) once per call, outside
    # the time loop; a bare cell in keras.layers.RNN computes them at every
    # step. Same outputs and same gradients.
    layer = ClockworkRNN(UNITS, periods=(1, 2, 4), return_sequences=True, seed=1)
    layer(ref.inputs(rng))
    ref.assert_layer_equals_bare_cell(layer, ref.inputs(rng))


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
def test_schedule_before_the_loop_equals_the_bare_cells_clock(go_backwards, rng):
    # The layer works out every step's ticks before its loop (from the start
    # index and the mask) and sets the final index once after it; the bare
    # cell in keras.layers.RNN advances its counter step by step. Per-row
    # start indices and holes in the mask make the rows' clocks differ.
    import tensorflow as tf

    layer = ClockworkRNN(UNITS, periods=(1, 2, 3), return_sequences=True, return_state=True,
                         go_backwards=go_backwards, seed=1)
    x = tf.constant(ref.inputs(rng))
    layer(x)
    h0 = tf.constant(rng.standard_normal((BATCH, UNITS)), x.dtype)
    t0 = tf.constant(np.arange(BATCH).reshape(BATCH, 1) % 6, x.dtype)
    mask = np.ones((BATCH, TIME), bool)
    mask[0, 1] = mask[1, [0, 3]] = mask[-1, -1] = False
    plain = keras.layers.RNN(layer.cell, return_sequences=True, return_state=True,
                             go_backwards=go_backwards)
    spy = []
    schedule = layer.cell.schedule
    layer.cell.schedule = lambda *args: spy.append(args) or schedule(*args)
    results = []
    for run in (layer, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs, h, step = run(x, initial_state=[h0, t0], mask=tf.constant(mask))
            loss = tf.reduce_sum(outputs * tf.cos(tf.range(UNITS, dtype=x.dtype))) + tf.reduce_sum(h)
        results.append([outputs, h, step, *tape.gradient(loss, [x, *layer.trainable_weights])])
    assert len(spy) == 1  # the layer scheduled once; the bare cell never
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # The final index counts the unmasked steps: TIME - 1 for the first row.
    assert float(results[0][2][0, 0]) == (0 + TIME - 1) % 6


def test_schedule_counts_exactly_past_float16_precision():
    # float16 holds integers exactly only up to 2048; the schedule counts in
    # int32, so a float16 layer still ticks on time after 2048 steps, and
    # keeps a start index's fraction as the per-step counter did.
    cell = ClockworkRNNCell(4, periods=(1, 3), dtype="float16")
    cell.build((None, 2))
    start = np.array([[0.0], [2.5], [-1.0]], "float16")
    time = 2100
    mask = np.ones((3, time), bool)
    mask[1, 5] = False
    ticking, final = cell.schedule(start, mask, time)
    ticking = np.asarray(ticking)
    unmasked_before = np.cumsum(mask, axis=1) - mask
    for row, first in enumerate((0, 2, 2)):  # floor of the start mod lcm(1, 3) = 3
        expected = (first + unmasked_before[row]) % 3 == 0
        np.testing.assert_array_equal(ticking[row, :, 2], expected)  # the period-3 units
        assert np.all(ticking[row, :, :2] == 1.0)  # the period-1 units tick every step
    np.testing.assert_array_equal(np.asarray(final, "float32")[:, 0],
                                  [2100 % 3, (2.5 + 2099) % 3, (-1.0 + 2100) % 3])
