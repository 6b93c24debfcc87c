"""MDRNN ("mdrnn"): MD-LSTM and tanh MD-RNN against a NumPy double loop over
(i, j), the 2-D dependency structure, the four scan directions and their
merge, and argument validation.

Config, save/load, gradients, seeds, bad inputs, SavedModel and TFLite are
covered by `test_structured_conformance.py`.
"""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.layers import MDRNN

BATCH, HEIGHT, WIDTH, CHANNELS, UNITS = 2, 4, 5, 3, 3


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def md_reference(x, kernel, recurrent, bias, cell, forget_bias=0.0):
    """Plain float64 double loop over (i, j), top-left to bottom-right.

    MD-LSTM: z = x W + h_up U[:n] + h_left U[n:] + b split into (a, f_up,
    f_left, o, g); c = s(f_up) c_up + s(f_left) c_left + s(a) tanh(g);
    h = s(o) tanh(c). MD-RNN: h = tanh(z). Out-of-grid neighbours are zero.
    Returns h of every position, (batch, height, width, units).
    """
    x, kernel, recurrent, bias = (np.asarray(a, np.float64) for a in (x, kernel, recurrent, bias))
    batch, height, width, _ = x.shape
    n = recurrent.shape[0] // 2
    h = np.zeros((batch, height + 1, width + 1, n))  # row/column 0: the zero border
    c = np.zeros_like(h)
    for i in range(height):
        for j in range(width):
            h_up, h_left = h[:, i, j + 1], h[:, i + 1, j]
            z = x[:, i, j] @ kernel + h_up @ recurrent[:n] + h_left @ recurrent[n:] + bias
            if cell == "tanh":
                h[:, i + 1, j + 1] = np.tanh(z)
                continue
            a, f_up, f_left, o, g = np.split(z, 5, axis=-1)
            c[:, i + 1, j + 1] = (
                sigmoid(f_up + forget_bias) * c[:, i, j + 1]
                + sigmoid(f_left + forget_bias) * c[:, i + 1, j]
                + sigmoid(a) * np.tanh(g)
            )
            h[:, i + 1, j + 1] = sigmoid(o) * np.tanh(c[:, i + 1, j + 1])
    return h[:, 1:, 1:]


def random_weights(layer, rng):
    """Sets every weight of a built layer to fixed random values; returns them."""
    values = [rng.uniform(-0.7, 0.7, size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(values)
    return values


def grid(seed=0, shape=(BATCH, HEIGHT, WIDTH, CHANNELS)):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("cell", ["lstm", "tanh"])
def test_single_direction_matches_numpy_double_loop(cell):
    x = grid()
    layer = MDRNN(UNITS, cell=cell, return_sequences=True, forget_bias=0.5, seed=1)
    layer(x)
    kernel, recurrent, bias = random_weights(layer, np.random.default_rng(2))
    expected = md_reference(x, kernel, recurrent, bias, cell, forget_bias=0.5)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
    last = MDRNN(UNITS, cell=cell, forget_bias=0.5)
    last(x)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(last(x)), expected[:, -1, -1], atol=1e-5)


def _flip(a, flip_rows, flip_cols):
    a = a[:, ::-1] if flip_rows else a
    return a[:, :, ::-1] if flip_cols else a


@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_four_directions_are_flipped_sweeps_merged(merge_mode):
    x = grid(3)
    layer = MDRNN(UNITS, directions=4, merge_mode=merge_mode, return_sequences=True, seed=4)
    layer(x)
    values = random_weights(layer, np.random.default_rng(5))
    corners = [(False, False), (False, True), (True, False), (True, True)]
    sweeps = [
        _flip(md_reference(_flip(x, *corner), *values[3 * k : 3 * k + 3], "lstm"), *corner)
        for k, corner in enumerate(corners)
    ]
    expected = np.concatenate(sweeps, -1) if merge_mode == "concat" else np.sum(sweeps, 0)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, atol=1e-5)
    # Without return_sequences, each sweep's own last position: the opposite corner.
    last = MDRNN(UNITS, directions=4, merge_mode=merge_mode)
    last(x)
    last.set_weights(layer.get_weights())
    ends = [s[:, -1 if not r else 0, -1 if not c else 0] for s, (r, c) in zip(sweeps, corners)]
    expected_last = np.concatenate(ends, -1) if merge_mode == "concat" else np.sum(ends, 0)
    np.testing.assert_allclose(np.asarray(last(x)), expected_last, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "tanh"])
def test_output_depends_only_on_the_upper_left_rectangle(cell):
    x = grid(6)
    layer = MDRNN(UNITS, cell=cell, return_sequences=True, seed=7)
    base = np.asarray(layer(x))
    for i, j in [(0, 0), (1, 2), (3, 4), (2, 0)]:
        changed = x.copy()
        changed[:, i, j] += 1.0
        moved = np.any(np.abs(np.asarray(layer(changed)) - base) > 1e-7, axis=(0, 3))
        rows, cols = np.meshgrid(np.arange(HEIGHT), np.arange(WIDTH), indexing="ij")
        allowed = (rows >= i) & (cols >= j)
        assert not np.any(moved & ~allowed), (i, j, moved)
        # The change does reach the cell itself and the bottom-right corner.
        assert moved[i, j] and moved[-1, -1], (i, j, moved)


def test_four_directions_see_the_whole_grid():
    x = grid(8)
    layer = MDRNN(2, directions=4, return_sequences=True, seed=9)
    base = np.asarray(layer(x))
    changed = x.copy()
    changed[:, 1, 2] += 1.0
    moved = np.any(np.abs(np.asarray(layer(changed)) - base) > 1e-7, axis=(0, 3))
    assert moved.all()


def test_counts_weights_per_direction():
    layer = MDRNN(UNITS, directions=4)
    layer.build((None, HEIGHT, WIDTH, CHANNELS))
    per_direction = CHANNELS * 5 * UNITS + 2 * UNITS * 5 * UNITS + 5 * UNITS
    assert layer.count_params() == 4 * per_direction
    assert layer.compute_output_shape((None, HEIGHT, WIDTH, CHANNELS)) == (None, 4 * UNITS)


def test_fit_changes_the_weights():
    x = grid(10, (4, 3, 3, 1))
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    layer = MDRNN(2, seed=11)
    model = keras.Sequential([keras.Input((3, 3, 1)), layer, keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [np.array(w) for w in layer.weights]
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert all(not np.array_equal(b, np.array(w)) for b, w in zip(before, layer.weights))


def test_registered_as_structured():
    assert "mdrnn" in rnnzoo.layers.list_layers(kind="structured")
    assert rnnzoo.layers.get_layer("mdrnn") is MDRNN


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"units": 0}, "units"),
        ({"units": 3, "cell": "gru"}, "cell"),
        ({"units": 3, "directions": 2}, "directions"),
        ({"units": 3, "merge_mode": "mul"}, "merge_mode"),
        ({"units": 3, "forget_bias": "1"}, "forget_bias"),
    ],
)
def test_invalid_arguments_raise(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}` of MDRNN"):
        MDRNN(**kwargs)


def test_unknown_height_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="known height, width"):
        MDRNN(2)(keras.Input((None, 4, 1)))
