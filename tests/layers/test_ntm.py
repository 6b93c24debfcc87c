"""NTM layer: full steps against an independent NumPy NTM, arguments, controllers.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the memory operations one by one by `test_memory_addressing.py`.
"""

import keras
import numpy as np
import pytest

from rnnzoo.layers import NTM, NTMCell
from tests.layers.test_memory_addressing import np_content, np_shift

pytestmark = pytest.mark.usefixtures("keras_seed")

B, T, F, UNITS, CU = 2, 5, 3, 4, 6
N, W, R, HW, SHIFT = 7, 3, 2, 2, 1


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softplus(z):
    return np.log1p(np.exp(z))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_address(memory, previous, raw):
    """NTM addressing of one head from its raw parameters (key, beta, g, s, gamma)."""
    s = 2 * SHIFT + 1
    key, beta, g = np.tanh(raw[:, :W]), softplus(raw[:, W]), sigmoid(raw[:, W + 1])
    shift, gamma = softmax(raw[:, W + 2 : W + 2 + s]), 1 + softplus(raw[:, W + 2 + s])
    content = np_content(memory, key[:, None], beta[:, None, None])[:, 0]
    gated = g[:, None] * content + (1 - g[:, None]) * previous
    shifted = np_shift(gated[:, None], shift[:, None])[:, 0]
    powered = (shifted + 1e-6) ** gamma[:, None]
    return powered / powered.sum(-1, keepdims=True)


def np_lstm(z_in, h, c, p):
    z = z_in @ p["kernel"] + h @ p["recurrent_kernel"] + p["bias"]
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def np_ntm(x, p, controller):
    """A plain float64 NTM loop: write heads, then read heads, then the output."""
    memory = np.full((B, N, W), 1e-6)
    read_w = np.zeros((B, R, N))
    read_w[..., 0] = 1.0
    write_w = np.zeros((B, HW, N))
    write_w[..., 0] = 1.0
    reads = np.zeros((B, R * W))
    h = c = np.zeros((B, CU))
    write_size, read_size = W + 3 + 2 * SHIFT + 1 + 2 * W, W + 3 + 2 * SHIFT + 1
    outputs = []
    for t in range(T):
        joined = np.concatenate([x[:, t], reads], -1)
        if controller == "dense":
            h = np.tanh(joined @ p["controller_kernel"] + p["controller_bias"])
        else:
            h, c = np_lstm(joined, h, c, p)
        iface = h @ p["interface_kernel"] + p["interface_bias"]
        erase_all, add_all = [], []
        for k in range(HW):
            raw = iface[:, k * write_size : (k + 1) * write_size]
            write_w[:, k] = np_address(memory, write_w[:, k], raw)
            erase_all.append(sigmoid(raw[:, -2 * W : -W]))
            add_all.append(np.tanh(raw[:, -W:]))
        new = memory.copy()
        for k in range(HW):
            new *= 1 - write_w[:, k, :, None] * erase_all[k][:, None, :]
        for k in range(HW):
            new += write_w[:, k, :, None] * add_all[k][:, None, :]
        memory = new
        base = HW * write_size
        pieces = []
        for k in range(R):
            raw = iface[:, base + k * read_size : base + (k + 1) * read_size]
            read_w[:, k] = np_address(memory, read_w[:, k], raw)
            pieces.append(np.einsum("bn,bnw->bw", read_w[:, k], memory))
        reads = np.concatenate(pieces, -1)
        y = np.concatenate([h, reads], -1) @ p["output_kernel"] + p["output_bias"]
        outputs.append(np.tanh(y))
    return np.stack(outputs, 1), memory, reads


def random_weights(cell, rng, scale=0.6):
    """Random values for every weight of a built cell, by attribute name."""
    params = {}
    for weight in cell.weights:
        name = weight.path.split("/")[-1]
        value = rng.normal(0.0, scale, weight.shape).astype("float32")
        weight.assign(value)
        params[name] = value.astype("float64")
    return params


@pytest.mark.parametrize("controller", ["dense", "lstm"])
def test_full_steps_match_numpy_reference(controller):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F)).astype("float32")
    layer = NTM(UNITS, memory_rows=N, memory_width=W, num_read_heads=R, num_write_heads=HW,
                controller=controller, controller_units=CU, return_sequences=True,
                return_state=True)
    layer.build((None, None, F))
    params = random_weights(layer.cell, rng)
    outputs, *states = layer(x)
    expected, memory, reads = np_ntm(x.astype("float64"), params, controller)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    k = 0 if controller == "dense" else 2
    # The state carries the memory as an offset from its constant start.
    np.testing.assert_allclose(states[k], (memory - 1e-6).reshape(B, -1), atol=1e-5)
    np.testing.assert_allclose(states[k + 1], reads, atol=1e-5)


def test_zero_state_means_constant_memory_and_heads_on_row_zero():
    cell = NTMCell(UNITS, memory_rows=N, memory_width=W, controller="dense")
    assert cell.state_size == [N * W, W, N, N]
    layer = NTM(UNITS, memory_rows=N, memory_width=W, controller="dense", return_state=True)
    x = np.zeros((1, 1, F), "float32")
    _, memory, reads, read_w, write_w = layer(x)
    actual_read = np.asarray(read_w) + np.eye(N)[0]
    assert np.all(actual_read >= -1e-6) and abs(actual_read.sum() - 1) < 1e-5
    assert np.all(np.isfinite(memory))


@pytest.mark.parametrize("controller", ["gru", "elman", "peephole_lstm"])
def test_any_stepwise_zoo_cell_controls_and_round_trips(controller):
    layer = NTM(UNITS, controller=controller, controller_units=CU, memory_rows=5,
                memory_width=2, seed=3, controller_args={} if controller != "elman" else
                {"activation": "relu"})
    x = np.random.default_rng(1).standard_normal((B, T, F)).astype("float32")
    y = layer(x)
    clone = NTM.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), y, atol=1e-6)
    assert clone.get_config() == layer.get_config()


def test_a_trained_preset_style_model_saves_with_its_controller(tmp_path):
    inputs = keras.Input((None, F))
    outputs = NTM(UNITS, controller="gru", memory_rows=5, memory_width=2, seed=1)(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.ones((1, 4, F), "float32")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"memory_rows": 0}, "memory_rows"),
        ({"memory_width": 2.5}, "memory_width"),
        ({"num_write_heads": 0}, "num_write_heads"),
        ({"shift_range": 3, "memory_rows": 6}, "shift_range"),
        ({"shift_range": -1}, "shift_range"),
        ({"controller": "no_such_layer"}, "controller"),
        ({"controller": "ntm"}, "controller"),
        ({"controller": "gru", "controller_args": {"bogus": 1}}, "controller_args"),
        ({"controller_args": [1]}, "controller_args"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, text):
    with pytest.raises(ValueError, match=text):
        NTM(UNITS, **kwargs)
