"""StackedRNN: a stack of cells in one time loop equals the stacked layers."""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.export import run_tflite
from rnnzoo.layers import (
    CTRNN,
    GRU,
    Elman,
    IndRNN,
    IndRNNCell,
    LayerNormLSTM,
    LayerNormLSTMCell,
    StackedRNN,
)

pytestmark = pytest.mark.usefixtures("keras_seed")

BATCH, TIME, FEATURES = 3, 9, 4

PAIRS = {
    "indrnn": lambda: [IndRNN(6, seed=1), IndRNN(5, seed=2)],
    # A cell with loop constants (centred kernels) and one with learned rates.
    "layer_norm_lstm+ctrnn": lambda: [LayerNormLSTM(6, seed=1), CTRNN(5, seed=2)],
    # A Keras cell in the stack.
    "elman+gru": lambda: [Elman(6, seed=1), GRU(5, seed=2)],
}


def data(seed=0, padded=0):
    x = np.random.default_rng(seed).standard_normal((BATCH, TIME, FEATURES)).astype("float32")
    if padded:
        x[1:, TIME - padded:] = 0.0
    return x


def stacked_layers(layers, mask, **flags):
    """The reference: the same layers stacked as separate loops."""
    inputs = keras.Input((None, FEATURES))
    hidden = keras.layers.Masking(0.0)(inputs) if mask else inputs
    for layer in layers[:-1]:
        layer.return_sequences = True
        hidden = layer(hidden)
    for flag, value in flags.items():
        setattr(layers[-1], flag, value)
    return keras.Model(inputs, layers[-1](hidden))


def one_loop(layers, mask, **flags):
    inputs = keras.Input((None, FEATURES))
    hidden = keras.layers.Masking(0.0)(inputs) if mask else inputs
    return keras.Model(inputs, StackedRNN(layers, **flags)(hidden))


@pytest.mark.parametrize("pair", sorted(PAIRS))
@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_equals_the_stacked_layers(pair, mask, return_sequences):
    reference = stacked_layers(PAIRS[pair](), mask, return_sequences=return_sequences)
    model = one_loop(PAIRS[pair](), mask, return_sequences=return_sequences)
    # The same seeds give the same weights, in the same order.
    for a, b in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = data(padded=3 if mask else 0)
    np.testing.assert_allclose(model(x), reference(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_one_step_runs_unrolled_and_equals_the_stacked_layers(pair):
    import tensorflow as tf

    stack = StackedRNN(PAIRS[pair](), return_state=True)
    layers = PAIRS[pair]()
    x = data()[:, :1]
    stack(x)
    for layer in layers[:-1]:
        layer.return_sequences = True
    layers[-1].return_state = True
    hidden = x
    for layer in layers:
        hidden = layer(hidden)
    output, *states = hidden
    ops_of_step = {node.op for node in tf.function(stack).get_concrete_function(
        tf.TensorSpec((BATCH, 1, FEATURES))).graph.as_graph_def().node}
    assert not {"While", "StatelessWhile"} & ops_of_step
    stack_output, *stack_states = stack(x)
    np.testing.assert_allclose(stack_output, output, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.nest.flatten(stack_states)[-1], states[-1], rtol=1e-5, atol=1e-6)
    assert not stack.unroll


def test_return_state_gives_every_cell_its_final_states():
    x = data()
    stack = StackedRNN(PAIRS["layer_norm_lstm+ctrnn"](), return_state=True)
    output, (h1, c1), (h2,) = stack(x)
    first, second = PAIRS["layer_norm_lstm+ctrnn"]()
    first.return_sequences, first.return_state = True, True
    sequence, ref_h1, ref_c1 = first(x)
    second.return_state = True
    ref_output, ref_h2 = second(sequence)
    for actual, expected in [(output, ref_output), (h1, ref_h1), (c1, ref_c1), (h2, ref_h2)]:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_loop_constants_are_computed_once_per_call(monkeypatch):
    calls = []
    original = LayerNormLSTMCell.loop_constants

    def counted(self):
        calls.append(self.name)
        return original(self)

    monkeypatch.setattr(LayerNormLSTMCell, "loop_constants", counted)
    stack = StackedRNN([LayerNormLSTM(6, seed=1), LayerNormLSTM(5, seed=2)])
    stack(data())
    calls.clear()
    stack(data())  # eager: a step-wise recompute would count TIME calls per cell
    assert sorted(calls) == ["layer_norm_lstm_cell_0", "layer_norm_lstm_cell_1"]


def test_save_load_and_config_round_trip(tmp_path):
    model = one_loop(PAIRS["indrnn"](), True, return_sequences=True)
    paths = [w.path for w in model.weights]
    assert len(set(paths)) == len(paths), f"duplicate weight paths: {paths}"
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    x = data(1, padded=2)
    np.testing.assert_array_equal(loaded(x), model(x))
    stack = model.layers[-1]
    assert StackedRNN.from_config(stack.get_config()).get_config() == stack.get_config()
    assert [c["class_name"] for c in stack.get_config()["cells"]] == ["IndRNNCell"] * 2


def test_bidirectional_backward_copy_starts_from_other_weights():
    layer = keras.layers.Bidirectional(
        StackedRNN([IndRNN(6, seed=1), IndRNN(5, seed=2)], return_sequences=True)
    )
    assert tuple(layer(data()).shape) == (BATCH, TIME, 10)
    forward, backward = layer.forward_layer.get_weights(), layer.backward_layer.get_weights()
    assert not np.array_equal(forward[0], backward[0])


def test_inside_a_task_fits_and_saves(tmp_path):
    task = rnnzoo.tasks.SequencePredictor(
        StackedRNN([IndRNN(6, seed=1), IndRNN(5, seed=2)]),
        output_dim=1, input_shape=(None, FEATURES), mask_value=0.0,
    )
    task.compile()
    x, y = data(2, padded=2), np.ones((BATCH, 1), "float32")
    history = task.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    task.save(tmp_path / "task.keras")
    loaded = keras.saving.load_model(tmp_path / "task.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), task.predict(x, verbose=0))


@pytest.mark.slow
def test_tflite_builtins_parity(tmp_path):
    model = one_loop(PAIRS["layer_norm_lstm+ctrnn"](), False)
    report = rnnzoo.export(model, tmp_path / "model.tflite", batch_size=2)
    assert report.max_abs_diff <= 1e-5
    assert not [op for op in report.ops if op.startswith("CUSTOM")]
    x = data(3)[:2]
    (actual,) = run_tflite(str(tmp_path / "model.tflite"), [x])
    np.testing.assert_allclose(actual, model(x), atol=1e-5)


@pytest.mark.parametrize(
    "cells, match",
    [
        ([], "non-empty list"),
        (IndRNN(4), "non-empty list"),
        ([IndRNN(4), keras.layers.Dense(3)], "Entry 1 .* recurrent layer"),
        ([IndRNN(4, go_backwards=True)], "Entry 0 .* go_backwards=True"),
        ([keras.layers.Bidirectional(IndRNN(4))], "Entry 0 .* recurrent layer"),
    ],
)
def test_invalid_cells(cells, match):
    with pytest.raises(ValueError, match=match):
        StackedRNN(cells)


def test_bad_input_names_the_layer_and_the_shape():
    stack = StackedRNN([IndRNNCell(4), IndRNNCell(3)], name="stack")
    with pytest.raises(ValueError, match=r"layer 'stack' \(StackedRNN\) must be a 3-D"):
        stack(np.zeros((2, 5), "float32"))
    stack(data())
    with pytest.raises(ValueError, match="must have 4 features"):
        stack(np.zeros((2, 5, 3), "float32"))
