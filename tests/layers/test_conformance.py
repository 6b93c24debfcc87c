"""The registry-wide conformance sweep: every registered layer, the same checks.

A layer is tested the moment it is registered. A check a layer cannot meet is
listed, with its reason, in `conformance_exemptions.EXEMPTIONS`; nothing is
skipped anywhere else.
"""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnzoo
from rnnzoo.export import run_tflite
from tests.layers.conformance_exemptions import (
    EXEMPTIONS,
    LAYER_ARGS,
    LOOP_FREE,
    NO_TRAINABLE_WEIGHTS,
    exempted_params,
)

UNITS, BATCH, TIME, FEATURES = 5, 3, 6, 4
LAYERS = rnnzoo.list_layers(kind="stepwise")
CHECKS = (
    "shapes",
    "symbolic_shapes",
    "config",
    "masking",
    "go_backwards",
    "stateful",
    "bidirectional",
    "stacking",
    "one_loop",
    "keras_save",
    "gradients",
    "fit",
    "xla",
    "mixed_precision",
    "distributed",
    "one_step",
    "seed",
    "bad_input",
    "saved_model",
    "tflite",
)


def test_exemptions_name_real_layers_and_checks():
    for layer, reason in {**NO_TRAINABLE_WEIGHTS, **LOOP_FREE}.items():
        assert layer in rnnzoo.list_layers() and len(reason) > 20
    for (layer, check), reason in EXEMPTIONS.items():
        assert layer in rnnzoo.list_layers(), f"exemption for unregistered layer {layer!r}"
        if layer in LAYERS:
            assert check in CHECKS, f"exemption for unknown check {check!r}"
        assert isinstance(reason, str) and len(reason) > 20, "each exemption needs a reason"


def test_sweep_covers_registered_layers():
    assert {"elman", "jordan", "fully_recurrent", "indrnn"} <= set(LAYERS)


def make(name, seed=7, **kwargs):
    args = dict(LAYER_ARGS.get(name, {}))
    args.update(kwargs)
    return rnnzoo.get_layer(name)(UNITS, seed=seed, **args)


def data(seed=0, batch=BATCH, time=TIME):
    return np.random.default_rng(seed).standard_normal((batch, time, FEATURES)).astype("float32")


def sweep(check):
    """Parametrize over (layer) for one check, exempting only listed pairs."""
    return pytest.mark.parametrize("name", exempted_params(LAYERS, check))


def state_sizes(layer):
    sizes = layer.cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


@sweep("shapes")
def test_shapes(name):
    x = data()
    for return_sequences in (False, True):
        layer = make(name, return_sequences=return_sequences, return_state=True)
        output, *states = layer(x)
        out_size = layer.cell.output_size
        expected = (BATCH, TIME, out_size) if return_sequences else (BATCH, out_size)
        assert tuple(output.shape) == expected
        assert [tuple(s.shape) for s in states] == [(BATCH, s) for s in state_sizes(layer)]
        assert np.all(np.isfinite(output))


@sweep("symbolic_shapes")
def test_symbolic_shapes(name):
    inputs = keras.Input((None, FEATURES))
    layer = make(name, return_sequences=True, return_state=True)
    output, *states = layer(inputs)
    assert tuple(output.shape) == (None, None, layer.cell.output_size)
    assert [tuple(s.shape) for s in states] == [(None, s) for s in state_sizes(layer)]


@sweep("config")
def test_config_round_trip(name):
    layer = make(name, return_sequences=True)
    layer(data())
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(data())
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(data(1)), layer(data(1)), atol=1e-6)


@sweep("masking")
def test_masking_equals_unpadded(name):
    x = data(2)
    lengths = [TIME, 4, 2]
    mask = np.arange(TIME)[None, :] < np.array(lengths)[:, None]
    padded = np.where(mask[..., None], x, 0.0).astype("float32")
    layer = make(name, return_state=True)
    masked_out, *masked_states = layer(padded, mask=mask)
    for i, length in enumerate(lengths):
        out, *states = layer(x[i : i + 1, :length])
        np.testing.assert_allclose(masked_out[i], out[0], atol=1e-5)
        for masked_state, state in zip(masked_states, states):
            np.testing.assert_allclose(masked_state[i], state[0], atol=1e-5)


@sweep("go_backwards")
def test_go_backwards_equals_reversed_input(name):
    x = data(3)
    forward = make(name, return_sequences=True)
    backward = make(name, return_sequences=True, go_backwards=True)
    forward(x)
    backward(x)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(backward(x), forward(x[:, ::-1]), atol=1e-5)


@sweep("stateful")
def test_stateful_chunks_equal_one_pass(name):
    x = data(4)
    whole = make(name, return_sequences=True)
    expected = whole(x)
    chunked = make(name, return_sequences=True, stateful=True)
    first = chunked(x[:, :2])
    chunked.set_weights(whole.get_weights())
    chunked.reset_state()
    parts = [chunked(x[:, :2]), chunked(x[:, 2:5]), chunked(x[:, 5:])]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), expected, atol=1e-5)
    chunked.reset_state()
    np.testing.assert_allclose(chunked(x[:, :2]), expected[:, :2], atol=1e-5)
    assert first.shape == (BATCH, 2, chunked.cell.output_size)


@sweep("bidirectional")
def test_bidirectional(name):
    x = data(5)
    bidirectional = keras.layers.Bidirectional(make(name, return_sequences=True))
    output = bidirectional(x)
    size = bidirectional.forward_layer.cell.output_size
    assert tuple(output.shape) == (BATCH, TIME, 2 * size)
    backward_reference = make(name, return_sequences=True)
    backward_reference(x)
    backward_reference.set_weights(bidirectional.backward_layer.get_weights())
    expected_backward = backward_reference(x[:, ::-1])[:, ::-1]
    np.testing.assert_allclose(output[..., size:], expected_backward, atol=1e-5)
    # Seeded layers: the backward copy still starts from different weights.
    forward, backward = bidirectional.forward_layer, bidirectional.backward_layer
    assert any(
        not np.array_equal(f, b) for f, b in zip(forward.get_weights(), backward.get_weights())
    )


@sweep("stacking")
def test_stacking(name):
    model = keras.Sequential(
        [keras.Input((TIME, FEATURES)), make(name, return_sequences=True), make(name, seed=8)]
    )
    assert tuple(model(data()).shape) == (BATCH, model.layers[-1].cell.output_size)


@sweep("one_loop")
def test_one_loop_equals_the_stacked_layers(name):
    # rnnzoo.layers.StackedRNN runs the cells in one time loop: same numbers.
    x = data(4)
    first, second = make(name, return_sequences=True), make(name, seed=8)
    expected = second(first(x))
    stack = rnnzoo.layers.StackedRNN([make(name), make(name, seed=8)])
    stack(x)
    stack.set_weights(first.get_weights() + second.get_weights())
    np.testing.assert_allclose(stack(x), expected, rtol=1e-5, atol=1e-5)


def tiny_model(name, time=None):
    inputs = keras.Input((time, FEATURES))
    outputs = keras.layers.Dense(2)(make(name)(inputs))
    return keras.Model(inputs, outputs)


@sweep("keras_save")
def test_keras_save_load_identical(name, tmp_path):
    model = tiny_model(name)
    x = data(6)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.layers[1]) is type(model.layers[1])
    np.testing.assert_array_equal(loaded(x), model(x))


@sweep("gradients")
def test_gradients_reach_every_trainable_weight(name):
    model = tiny_model(name)
    x = tf.constant(data(7))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.square(model(x, training=True)))
    weights = model.trainable_weights
    *grads, input_grad = tape.gradient(loss, weights + [x])
    for weight, grad in zip(weights, grads):
        assert grad is not None, f"no gradient reaches {weight.path}"
        assert np.any(np.asarray(grad) != 0), f"zero gradient for {weight.path}"
    # Gradients also flow through the layer to its input (stacking needs it).
    assert input_grad is not None and np.any(np.asarray(input_grad) != 0)
    # A layer without trainable weights must say so in the reviewed list.
    own = model.layers[1].trainable_weights
    assert bool(own) != (name in NO_TRAINABLE_WEIGHTS), (
        f"{name}: trainable weights {[w.path for w in own]}; listed as having none: "
        f"{name in NO_TRAINABLE_WEIGHTS}"
    )


@sweep("fit")
def test_one_compiled_training_step_moves_every_weight(name):
    # The gradient check runs eagerly; `fit` runs the traced graph (the while
    # loop's gradient, with any loss the layer adds), where a layer can fail
    # on its own (an op without a graph gradient, a dtype the loop cannot carry).
    model = tiny_model(name)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [np.array(w) for w in model.weights]
    loss = model.train_on_batch(data(8), np.ones((BATCH, 2), "float32"))
    assert np.isfinite(loss)
    for weight, old in zip(model.weights, before):
        moved = np.any(np.array(weight) != old)
        assert moved == weight.trainable, f"{weight.path}: trainable {weight.trainable}, moved {moved}"


@sweep("xla")
def test_xla_training_step_equals_the_plain_one(name):
    # Keras compiles `fit` with XLA by default on a GPU (`jit_compile="auto"`),
    # and XLA rejects what TensorFlow's graph runtime allows (an unbounded
    # loop's gradient, shapes it cannot fold inside the loop). On this CPU
    # only `jit_compile=True` shows it: one step each way, same numbers.
    start = tiny_model(name).get_weights()
    results = []
    for jit_compile in (False, True):
        model = tiny_model(name)
        model.set_weights(start)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
        # `fit` on a dataset batched without `drop_remainder`: the step is
        # traced for an unknown batch size, as in real training (a known
        # one hides shape-dependent failures), and compiled once.
        batches = tf.data.Dataset.from_tensor_slices(
            (data(8), np.ones((BATCH, 2), "float32"))).batch(BATCH)
        history = model.fit(batches, shuffle=False, verbose=0)
        loss = history.history["loss"][0]
        results.append((loss, [np.array(w) for w in model.weights], model.predict(data(9), verbose=0)))
    (plain_loss, plain_weights, plain_out), (xla_loss, xla_weights, xla_out) = results
    np.testing.assert_allclose(xla_loss, plain_loss, rtol=1e-4)
    for weight, a, b in zip(model.weights, xla_weights, plain_weights):
        np.testing.assert_allclose(a, b, atol=1e-5, err_msg=weight.path)
    np.testing.assert_allclose(xla_out, plain_out, atol=1e-5)


@sweep("mixed_precision")
def test_mixed_precision(name):
    # The usual way to turn it on: the global policy, for the whole model.
    reference = tiny_model(name)
    x, targets = data(8), np.ones((BATCH, 2), "float32")
    expected = np.asarray(reference(x))
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = tiny_model(name)
    finally:
        keras.config.set_dtype_policy("float32")
    layer = model.layers[1]
    assert layer.cell.compute_dtype == "float16"
    assert {w.dtype for w in model.weights} == {"float32"}  # variables stay float32
    model.set_weights(reference.get_weights())
    output = model(x)
    assert output.dtype == "float16"
    np.testing.assert_allclose(np.asarray(output, "float32"), expected, atol=1e-2)
    # One training step with Keras' loss scaling and any loss the layer adds.
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    reference.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    loss = model.train_on_batch(x, targets)
    np.testing.assert_allclose(loss, reference.train_on_batch(x, targets), rtol=1e-2)


def test_mirrored_strategy_step_equals_one_device(repo_root):
    # DESIGN.md: recipes train under tf.distribute. One `fit` step of every
    # layer under MirroredStrategy over two logical CPUs (two examples per
    # replica) must equal the same step on one device. It runs in a process
    # of its own (`mirrored_step.py`), so it is one test for all layers; it
    # names every layer that fails.
    names = [name for name in LAYERS if (name, "distributed") not in EXEMPTIONS]
    result = subprocess.run(
        [sys.executable, "-m", "tests.layers.mirrored_step", *names],
        capture_output=True, text=True, timeout=900, cwd=repo_root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert sorted(rows) == sorted(names)
    failures = [f"{name}: {row['error']}" for name, row in rows.items() if "error" in row]
    assert not failures, "\n".join(failures)
    for name, row in rows.items():
        np.testing.assert_allclose(row["loss"], row["reference_loss"], rtol=1e-5, err_msg=name)
        assert row["weight_diff"] <= 1e-6, (name, row["weight_diff"])


def graph_ops(function, *specs):
    """The op types of `function`'s graph for `specs`, its nested functions included."""
    graph = function.get_concrete_function(*specs).graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    return {node.op for node in nodes}


@sweep("one_step")
def test_one_step_runs_unrolled_with_the_loops_numbers(name):
    # A one-step sequence (an autoregressive roll-out's step) runs unrolled,
    # without a `while` loop (`base.unrolled_if_one_step`); its outputs, final
    # states and gradients must be the loop's, which a time axis of unknown
    # length still gets. One row masked: it keeps its state.
    layer = make(name, return_sequences=True, return_state=True)
    x = data(9, time=1)
    layer(x)
    mask = np.array([[True], [False], [True]])
    weights = layer.trainable_weights

    def run(x, mask):
        with tf.GradientTape() as tape:
            tape.watch(x)
            output, *states = layer(x, mask=mask)
            loss = tf.reduce_sum(output * output) + sum(tf.reduce_sum(s) for s in states)
        return [output, *states], tape.gradient(loss, [x, *weights])

    static = (tf.TensorSpec((BATCH, 1, FEATURES)), tf.TensorSpec((BATCH, 1), tf.bool))
    dynamic = (tf.TensorSpec((BATCH, None, FEATURES)), tf.TensorSpec((BATCH, None), tf.bool))
    unrolled, looped = tf.function(run, input_signature=static), tf.function(run)
    assert not {"While", "StatelessWhile"} & graph_ops(unrolled, *static)
    assert {"While", "StatelessWhile"} & graph_ops(looped, *dynamic)  # the loop, for reference
    (out_a, grads_a), (out_b, grads_b) = unrolled(x, mask), looped.get_concrete_function(
        *dynamic)(tf.constant(x), tf.constant(mask))
    for a, b in zip(out_a, out_b):
        np.testing.assert_allclose(a, b, atol=1e-6)
    for a, b, label in zip(grads_a, grads_b, ["input"] + [w.path for w in weights]):
        assert (a is None) == (b is None), label
        if a is not None:
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=label)
    assert not layer.unroll  # the setting is restored


@sweep("seed")
def test_same_seed_same_weights(name):
    x = data(8)
    a, b, c = make(name, seed=3), make(name, seed=3), make(name, seed=4)
    outputs = [layer(x) for layer in (a, b, c)]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert any(
        not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights())
    )


@sweep("bad_input")
def test_bad_input_errors(name):
    layer = make(name)
    layer(data())
    layer_name = layer.name
    bad = {
        "3-D": np.zeros((BATCH, FEATURES), "float32"),
        f"{FEATURES} features": np.zeros((BATCH, TIME, FEATURES + 1), "float32"),
        "empty time axis": np.zeros((BATCH, 0, FEATURES), "float32"),
    }
    for expected_text, value in bad.items():
        with pytest.raises(ValueError) as info:
            layer(value)
        message = str(info.value)
        assert layer_name in message and expected_text in message, message
        assert str(tuple(value.shape)) in message, message
    # Integers are cast like any Keras float layer would see them.
    ints = np.ones((BATCH, TIME, FEATURES), "int32")
    np.testing.assert_allclose(layer(ints), layer(ints.astype("float32")), atol=1e-6)
    with pytest.raises(ValueError, match="numeric"):
        layer(tf.fill((BATCH, TIME, FEATURES), "a"))


@pytest.mark.slow
@sweep("saved_model")
def test_saved_model_round_trip(name, tmp_path):
    model = tiny_model(name)
    report = rnnzoo.export(model, tmp_path / "saved", format="saved_model", batch_size=BATCH)
    assert report.max_abs_diff <= 1e-6
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    x = data(9)
    np.testing.assert_allclose(loaded.serve(tf.constant(x)), model(x), atol=1e-6)


@pytest.mark.slow
@sweep("tflite")
def test_tflite_builtins_parity(name, tmp_path):
    model = tiny_model(name)
    report = rnnzoo.export(model, tmp_path / "model.tflite", batch_size=2)
    assert report.max_abs_diff <= 1e-5
    assert not [op for op in report.ops if op.startswith("CUSTOM")]
    if name in LOOP_FREE:
        assert "WHILE" not in report.ops
    else:
        assert "WHILE" in report.ops or "UNIDIRECTIONAL_SEQUENCE_LSTM" in report.ops
    x = data(10, batch=2, time=11)
    (actual,) = run_tflite(str(tmp_path / "model.tflite"), [x])
    np.testing.assert_allclose(actual, model(x), atol=1e-5)
