"""`streaming_model`: recurrent states as inputs and outputs, chunk by chunk."""

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.export import run_tflite, start_states, streaming_model
from rnnzoo.tasks import SequenceClassifier, SequencePredictor
from tests.layers.conformance_exemptions import LAYER_ARGS

CHUNKS = [(0, 3), (3, 4), (4, 9)]  # uneven, one of a single step


def sequences(batch=2, time=9, features=3, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, time, features)).astype("float32")


def run_in_chunks(stream, x, keep_every_step=False):
    """The stream's outputs over `x` fed in `CHUNKS`, states carried over."""
    states, outputs = start_states(stream, batch_size=len(x)), []
    for start, stop in CHUNKS:
        output, *states = stream.predict_on_batch([x[:, start:stop], *states])
        outputs.append(output)
    return np.concatenate(outputs, axis=1) if keep_every_step else outputs[-1]


@pytest.mark.parametrize("name", rnnzoo.list_layers(kind="stepwise"))
def test_chunks_equal_one_pass_for_every_stepwise_layer(name):
    layer = rnnzoo.get_layer(name)(4, seed=3, return_sequences=True, **LAYER_ARGS.get(name, {}))
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
    x = sequences()
    stream = streaming_model(model)
    np.testing.assert_allclose(run_in_chunks(stream, x, keep_every_step=True), model(x),
                               rtol=1e-5, atol=1e-5)


def test_a_task_with_masking_and_a_stack_streams_its_last_output():
    # Two recurrent layers, each with its own states, and padding masked by
    # value: the mask comes from each chunk's own inputs.
    model = SequenceClassifier(
        [rnnzoo.layers.LSTM(6, seed=1, return_sequences=True, name="lstm"),
         rnnzoo.get_layer("ctrnn")(5, seed=2, name="ctrnn")],
        num_classes=3, input_shape=(None, 3), mask_value=0.0,
    )
    x = sequences()
    x[0, 6:] = 0.0  # the first sequence ends after 6 steps
    stream = streaming_model(model)
    assert [t.name for t in stream.inputs] == ["sequences", "lstm_state_0", "lstm_state_1",
                                              "ctrnn_state_0"]
    assert [tuple(t.shape) for t in stream.outputs] == [(None, 3), (None, 6), (None, 6), (None, 5)]
    np.testing.assert_allclose(run_in_chunks(stream, x), model(x), atol=1e-5)


def test_weights_are_copied_not_shared():
    model = SequencePredictor(rnnzoo.layers.IndRNN(4, seed=1), output_dim=2, input_shape=(None, 3))
    stream = streaming_model(model)
    before = run_in_chunks(stream, sequences(), keep_every_step=True)
    for weight in model.weights:
        weight.assign(weight * 0.0)
    np.testing.assert_array_equal(run_in_chunks(stream, sequences(), keep_every_step=True), before)


def test_tflite_streams_chunk_by_chunk_with_the_states_in_its_signature(tmp_path):
    model = SequenceClassifier(rnnzoo.get_layer("peephole_lstm")(5, seed=4), num_classes=2,
                               input_shape=(None, 3))
    stream = streaming_model(model)
    path = tmp_path / "stream.tflite"
    report = rnnzoo.export(stream, path, batch_size=1, timesteps=3)
    assert report.input_shapes == [[1, 3, 3], [1, 5], [1, 5]]
    assert report.max_abs_diff <= 1e-5
    x = sequences(batch=1)
    states = start_states(stream)
    for start in range(0, 9, 3):  # the exported signature takes 3 steps at a time
        logits, *states = run_tflite(str(path), [x[:, start:start + 3], *states])
    np.testing.assert_allclose(logits, model(x), atol=1e-5)


def functional(layer_call):
    inputs = keras.Input((None, 3))
    return keras.Model(inputs, layer_call(inputs))


@pytest.mark.parametrize(
    "model, message",
    [
        (lambda: functional(keras.layers.Bidirectional(rnnzoo.layers.Elman(3))), "Bidirectional"),
        (lambda: functional(rnnzoo.layers.Elman(3, go_backwards=True)), "go_backwards=True"),
        (lambda: functional(keras.layers.Dense(2)), "at least one recurrent layer"),
        (lambda: "not a model", "a built functional Keras model"),
    ],
)
def test_models_that_cannot_stream_are_refused(model, message):
    with pytest.raises(ValueError, match=message):
        streaming_model(model())


def test_a_state_taken_from_the_graph_or_a_nested_model_is_refused():
    inputs = keras.Input((None, 3))
    _, state = rnnzoo.layers.Elman(3, return_state=True)(inputs)
    decoded = rnnzoo.layers.Elman(3)(inputs, initial_state=[state])
    with pytest.raises(ValueError, match="initial state comes from the graph"):
        streaming_model(keras.Model(inputs, decoded))
    inner = functional(rnnzoo.layers.Elman(3))
    outer_inputs = keras.Input((None, 3))
    with pytest.raises(ValueError, match="nested model"):
        streaming_model(keras.Model(outer_inputs, inner(outer_inputs)))


def test_start_states_are_each_layers_own_initial_state():
    # The second-order RNN starts in a one-hot state, not at zero.
    layer = rnnzoo.get_layer("second_order")(4, seed=1)
    stream = streaming_model(functional(layer))
    (state,) = start_states(stream, batch_size=2)
    np.testing.assert_array_equal(state, layer.cell.get_initial_state(batch_size=2)[0])
    assert state.shape == (2, 4) and state.any()


def test_a_stack_in_one_loop_streams_all_its_cells_states():
    stack = rnnzoo.layers.StackedRNN(
        [rnnzoo.layers.LSTM(4, seed=1), rnnzoo.get_layer("ctrnn")(3, seed=2)], return_sequences=True
    )
    model = functional(stack)
    stream = streaming_model(model)
    assert [int(t.shape[-1]) for t in stream.inputs[1:]] == [4, 4, 3]
    x = sequences()
    np.testing.assert_allclose(run_in_chunks(stream, x, keep_every_step=True), model(x), atol=1e-5)
