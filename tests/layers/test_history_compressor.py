"""History compressor ("history_compressor"): the equations against a NumPy
reference, exactly the mispredicted steps passed upward on a constructed input,
held upper states, pass rates, equivalence with an RNN run on the compressed
subsequence, the added losses and their gradients, and argument validation.

Shapes, masking, save/load and export are covered by `test_conformance.py`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnzoo
from rnnzoo.layers import HistoryCompressor

FEATURES, UNITS, TIME = 3, 4, 9


def np_reference(x, weights, levels, surprise, threshold, time_stamps=True):
    """Float64 loop over time and levels, written from the paper's description.

    `weights[k]` = (W, U, b, V, c) of level k. Returns (outputs (batch, time,
    levels * units), passed (batch, time, levels) with passed[..., k] = 1 when
    level k received x_t, per-level prediction loss sums).
    """
    batch, time, features = x.shape
    n = weights[0][1].shape[0]
    h = np.zeros((levels, batch, n))
    p = np.zeros((levels, batch, features))
    since = np.zeros((levels, batch))  # steps since level k last received
    outputs, passed = [], []
    loss_sums = np.zeros((levels, batch))
    for t in range(time):
        xt = x[:, t].astype(np.float64)
        gets = np.ones(batch, bool)
        row = []
        for k in range(levels):
            W, U, b, V, c = (np.asarray(w, np.float64) for w in weights[k])
            row.append(gets.copy())
            if surprise == "argmax":
                logp = p[k] - p[k].max(-1, keepdims=True)
                logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
                loss = -(xt * logp).sum(-1)
                wrong = p[k].argmax(-1) != xt.argmax(-1)
            else:
                loss = ((xt - p[k]) ** 2).mean(-1)
                wrong = np.abs(xt - p[k]).max(-1) > threshold
            loss_sums[k] += np.where(gets, loss, 0.0)
            u = xt
            if k > 0:
                dt = since[k] + 1
                since[k] = np.where(gets, 0, dt)
                if time_stamps:
                    u = np.concatenate([xt, np.log(dt)[:, None]], -1)
            new_h = np.tanh(u @ W + h[k] @ U + b)
            h[k] = np.where(gets[:, None], new_h, h[k])
            p[k] = np.where(gets[:, None], h[k] @ V + c, p[k])
            gets = gets & wrong
        outputs.append(np.concatenate(list(h), -1))
        passed.append(np.stack(row, -1))
    return np.stack(outputs, 1), np.stack(passed, 1).astype(float), loss_sums


def level_weights(layer, levels):
    cell = layer.cell
    return [
        tuple(
            np.asarray(w)
            for w in (
                cell.kernels[k],
                cell.recurrent_kernels[k],
                cell.biases[k],
                cell.prediction_kernels[k],
                cell.prediction_biases[k],
            )
        )
        for k in range(levels)
    ]


def randomize(layer, seed, scale=0.8):
    rng = np.random.default_rng(seed)
    values = [rng.uniform(-scale, scale, w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(values)


@pytest.mark.parametrize("surprise, levels", [("error", 2), ("argmax", 3)])
def test_matches_numpy_reference(surprise, levels):
    rng = np.random.default_rng(0)
    if surprise == "argmax":
        x = np.eye(FEATURES, dtype="float32")[rng.integers(0, FEATURES, (3, TIME))]
    else:
        x = rng.standard_normal((3, TIME, FEATURES)).astype("float32")
    layer = HistoryCompressor(
        UNITS, levels=levels, surprise=surprise, threshold=0.7, return_sequences=True,
        return_state=True, seed=1,
    )
    layer(x)
    randomize(layer, 2)
    out, h, p, dt, stats = (np.asarray(v) for v in layer(x))
    expected, passed, loss_sums = np_reference(x, level_weights(layer, levels), levels,
                                               surprise, 0.7)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Running sums: steps, inputs passed to each upper level, prediction losses.
    np.testing.assert_allclose(stats[:, 0], TIME)
    np.testing.assert_allclose(stats[:, 1:levels], passed[:, :, 1:].sum(1))
    np.testing.assert_allclose(stats[:, levels : 2 * levels], loss_sums.T, rtol=1e-5)
    # The upper levels really receive only part of the steps (a non-trivial case).
    assert 0 < passed[:, :, 1].sum() < passed[:, :, 0].sum()


def test_passes_exactly_the_mispredicted_steps():
    x = np.zeros((2, TIME, FEATURES), "float32")
    surprises = [{1, 4, 5, 8}, {0, 6}]
    for b, steps in enumerate(surprises):
        for t in steps:
            x[b, t, t % FEATURES] = 1.0  # |x - 0| = 1 > 0.5: mispredicted
        for t in set(range(TIME)) - steps:
            x[b, t, t % FEATURES] = 0.3  # |x - 0| = 0.3: predicted well enough
    # Zero readouts (set below) fix the predictions of levels 0 and 1 at 0, so
    # a level mispredicts x_t exactly when max |x_t| > threshold (0.5).
    layer = HistoryCompressor(UNITS, levels=3, return_sequences=True, return_state=True,
                              seed=3)
    layer(x)
    randomize(layer, 4)
    cell = layer.cell
    for k in range(2):  # levels 0 and 1 predict 0 whatever their state
        cell.prediction_kernels[k].assign(np.zeros_like(cell.prediction_kernels[k]))
        cell.prediction_biases[k].assign(np.zeros_like(cell.prediction_biases[k]))
    out, h, p, dt, stats = (np.asarray(v) for v in layer(x))
    upper = out[:, :, UNITS : 2 * UNITS]
    top = out[:, :, 2 * UNITS :]
    for b, steps in enumerate(surprises):
        previous_upper = np.zeros(UNITS)
        previous_top = np.zeros(UNITS)
        for t in range(TIME):
            changed = not np.allclose(upper[b, t], previous_upper, atol=0, rtol=0)
            assert changed == (t in steps), (b, t)
            # Level 1 predicts 0 too, so every input it gets goes on to level 2.
            assert (not np.array_equal(top[b, t], previous_top)) == (t in steps), (b, t)
            previous_upper, previous_top = upper[b, t], top[b, t]
    rates = layer.pass_rates(x)
    np.testing.assert_allclose(rates, [[4 / TIME, 4 / TIME], [2 / TIME, 2 / TIME]], atol=1e-6)
    stats_rates = HistoryCompressor.rates_from_stats(stats)
    np.testing.assert_allclose(np.asarray(stats_rates), rates, atol=1e-6)


def test_upper_level_is_the_rnn_on_the_compressed_subsequence():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 15, FEATURES)).astype("float32")
    layer = HistoryCompressor(UNITS, levels=2, threshold=1.0, return_sequences=True, seed=6)
    layer(x)
    randomize(layer, 7, scale=0.5)
    out = np.asarray(layer(x))
    _, passed, _ = np_reference(x, level_weights(layer, 2), 2, "error", 1.0)
    steps = np.flatnonzero(passed[0, :, 1])
    assert 2 <= len(steps) < 15
    # The chunker run alone on its inputs: the surprising x_t and log(gap).
    W, U, b, _, _ = level_weights(layer, 2)[1]
    h = np.zeros(UNITS)
    last = -1
    for t in steps:
        u = np.concatenate([x[0, t], [np.log(t - last)]])
        h = np.tanh(u @ W + h @ U + b)
        last = t
        np.testing.assert_allclose(out[0, t, UNITS:], h, atol=1e-5)
    np.testing.assert_allclose(out[0, -1, UNITS:], h, atol=1e-5)


def test_added_loss_trains_the_predictors_and_outputs_train_the_rest():
    x = tf.constant(np.random.default_rng(8).standard_normal((2, 6, FEATURES)), "float32")
    layer = HistoryCompressor(UNITS, levels=2, distill=True, seed=9)
    layer(x)
    readouts = {w.path for w in layer.trainable_weights if "prediction_" in w.path}
    with tf.GradientTape(persistent=True) as tape:
        output = layer(x, training=True)
        out_loss = tf.reduce_sum(tf.square(output))
        (added,) = layer.losses
    for weight, grad in zip(layer.trainable_weights,
                            tape.gradient(out_loss, layer.trainable_weights)):
        if weight.path in readouts or "distill" in weight.path:
            continue
        assert grad is not None and np.any(np.asarray(grad) != 0), weight.path
    for weight, grad in zip(layer.trainable_weights, tape.gradient(added, layer.trainable_weights)):
        if weight.path in readouts or "distill" in weight.path:
            assert grad is not None and np.any(np.asarray(grad) != 0), weight.path
    assert float(added) > 0


def test_fit_lowers_the_prediction_loss_of_a_predictable_sequence():
    # A fixed cycle 0, 1, 2, 0, ... is predictable: the automatizer learns it.
    x = np.tile(np.eye(FEATURES, dtype="float32"), (8, 4, 1))  # (8, 12, 3)
    repeated = np.repeat(x, 25, axis=0)  # 25 steps in one epoch (fast)
    layer = HistoryCompressor(8, surprise="argmax", seed=10)
    model = keras.Sequential([keras.Input((None, FEATURES)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    first = layer.pass_rates(x).mean()
    before = model.evaluate(x, np.zeros((8, 1)), verbose=0)
    model.fit(repeated, np.zeros((len(repeated), 1)), epochs=1, batch_size=8, verbose=0)
    assert model.evaluate(x, np.zeros((8, 1)), verbose=0) < 0.5 * before
    assert layer.pass_rates(x).mean() < first
    assert layer.pass_rates(x).mean() <= 2 / 12 + 1e-6  # only the start is a surprise


def test_registered_as_stepwise():
    assert "history_compressor" in rnnzoo.layers.list_layers(kind="stepwise")
    assert rnnzoo.layers.get_layer("history_compressor") is HistoryCompressor


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"levels": 1}, "levels"),
        ({"surprise": "kl"}, "surprise"),
        ({"threshold": 0.0}, "threshold"),
        ({"prediction_weight": -1.0}, "prediction_weight"),
        ({"distill_weight": "a"}, "distill_weight"),
    ],
)
def test_invalid_arguments_raise(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}` of HistoryCompressorCell"):
        HistoryCompressor(3, **kwargs)
