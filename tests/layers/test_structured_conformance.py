"""The conformance sweep for structured (not step-wise) layers.

Every layer in `rnnzoo.list_layers(kind="structured")` (attractor networks,
tree and grid recurrences, ...) must register an example in
`structured_examples.EXAMPLES`, and then passes the checks below. The
sequence-only checks of `test_conformance.py` (masking, go_backwards,
stateful, Bidirectional, stacking) do not apply to these layers' input
contracts; everything that does apply is checked here. A layer may skip a
check only through `conformance_exemptions.EXEMPTIONS`, with its reason.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import rnnzoo
from rnnzoo.export import run_tflite
from tests.layers.conformance_exemptions import EXEMPTIONS, NO_TRAINABLE_WEIGHTS, exempted_params
from tests.layers.structured_examples import EXAMPLES

STRUCTURED = rnnzoo.list_layers(kind="structured")
STRUCTURED_CHECKS = (
    "symbolic_shapes",
    "config",
    "keras_save",
    "gradients",
    "xla",
    "mixed_precision",
    "seed",
    "bad_input",
    "saved_model",
    "tflite",
)


def test_every_structured_layer_has_one_example():
    missing = sorted(set(STRUCTURED) - set(EXAMPLES))
    stale = sorted(set(EXAMPLES) - set(STRUCTURED))
    assert not missing, f"structured layers without an example: {missing}"
    assert not stale, f"examples for names that are not structured layers: {stale}"


def test_structured_exemptions_name_structured_checks():
    for (layer, check), reason in EXEMPTIONS.items():
        if layer in STRUCTURED:
            assert check in STRUCTURED_CHECKS, f"{layer}: unknown structured check {check!r}"


def sweep(check):
    return pytest.mark.parametrize("name", exempted_params(STRUCTURED, check))


def flat(value):
    return [np.asarray(v) for v in keras.tree.flatten(value)]


def built(name, seed=7, input_seed=0):
    """A layer made, called once and prepared, with its example inputs."""
    example = EXAMPLES[name]
    layer = example.make(seed)
    inputs = example.inputs(input_seed)
    layer(inputs)
    if example.prepare is not None:
        example.prepare(layer, inputs)
    return example, layer, inputs


def symbolic_inputs(inputs):
    def symbolic(array, name=None):
        return keras.Input(np.shape(array)[1:], dtype=np.asarray(array).dtype, name=name)

    if isinstance(inputs, dict):  # Keras names dict inputs after their keys
        return {key: symbolic(value, key) for key, value in inputs.items()}
    return keras.tree.map_structure(symbolic, inputs)


def model_of(layer, inputs):
    symbolic = symbolic_inputs(inputs)
    return keras.Model(symbolic, layer(symbolic))


def assert_outputs_close(actual, expected, atol):
    actual, expected = flat(actual), flat(expected)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.shape == e.shape
        np.testing.assert_allclose(a, e, atol=atol)


def squared_outputs(outputs):
    """The sum of squares of the floating outputs, a loss to differentiate."""
    return tf.add_n(
        [tf.reduce_sum(tf.square(tf.cast(o, "float32"))) for o in outputs if o.dtype.is_floating]
    )


@sweep("symbolic_shapes")
def test_symbolic_shapes_match_eager(name):
    example, layer, inputs = built(name)
    eager = flat(layer(inputs))
    symbolic = keras.tree.flatten(layer(symbolic_inputs(inputs)))
    assert len(symbolic) == len(eager)
    for sym, value in zip(symbolic, eager):
        assert tuple(sym.shape) == (None, *value.shape[1:]), (sym.shape, value.shape)


@sweep("config")
def test_config_round_trip(name):
    example, layer, inputs = built(name)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(inputs)
    clone.set_weights(layer.get_weights())
    other = example.inputs(1)
    assert_outputs_close(clone(other), layer(other), example.atol)


@sweep("keras_save")
def test_keras_save_load_identical(name, tmp_path):
    example, layer, inputs = built(name)
    model = model_of(layer, inputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert any(type(each) is type(layer) for each in loaded.layers)
    other = example.inputs(2)
    assert_outputs_close(loaded(other), model(other), 0.0)


@sweep("gradients")
def test_gradients_reach_every_trainable_weight(name):
    example, layer, inputs = built(name)
    own = layer.trainable_weights
    assert bool(own) != (name in NO_TRAINABLE_WEIGHTS), (
        f"{name}: trainable weights {[w.path for w in own]}; listed as having none: "
        f"{name in NO_TRAINABLE_WEIGHTS}"
    )
    if not own:
        return
    with tf.GradientTape() as tape:
        outputs = keras.tree.flatten(layer(inputs, training=True))
        loss = squared_outputs(outputs)
    for weight, grad in zip(own, tape.gradient(loss, own)):
        assert grad is not None, f"no gradient reaches {weight.path}"
        assert np.any(np.asarray(grad) != 0), f"zero gradient for {weight.path}"


@sweep("xla")
def test_xla_equals_the_plain_graph(name):
    # Keras compiles `fit` with XLA by default on a GPU; XLA rejects, for
    # one, a loop without a bound on its length once it is differentiated.
    # The outputs (and, with trainable weights, their gradients) in one
    # traced function, compiled and not.
    example, layer, inputs = built(name)
    own = layer.trainable_weights
    inputs = keras.tree.map_structure(tf.constant, inputs)

    def run(inputs):
        with tf.GradientTape() as tape:
            outputs = keras.tree.flatten(layer(inputs, training=True))
            loss = squared_outputs(outputs)
        grads = tape.gradient(loss, own) if own else []
        return outputs, [tf.convert_to_tensor(g) for g in grads]  # embeddings' are sparse

    (plain_out, plain_grads), (xla_out, xla_grads) = (
        tf.function(run, jit_compile=jit_compile)(inputs) for jit_compile in (False, True)
    )
    assert_outputs_close(xla_out, plain_out, max(example.atol, 1e-5))
    for weight, a, b in zip(own, xla_grads, plain_grads):
        np.testing.assert_allclose(a, b, atol=1e-4, err_msg=weight.path)


@sweep("mixed_precision")
def test_mixed_precision_matches_float32(name):
    example, reference, inputs = built(name)
    expected = flat(reference(inputs))
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = example.make(7)
    finally:
        keras.config.set_dtype_policy("float32")
    layer(inputs)
    assert layer.compute_dtype == "float16"
    assert {w.dtype for w in layer.weights if "float" in w.dtype} == {"float32"}
    layer.set_weights(reference.get_weights())
    if example.prepare is not None:
        example.prepare(layer, inputs)
    outputs = flat(layer(inputs))
    for output, want in zip(outputs, expected):
        if want.dtype.kind == "f":
            assert output.dtype == "float16"
            np.testing.assert_allclose(output.astype("float32"), want, atol=1e-2)
        else:
            np.testing.assert_array_equal(output, want)


@sweep("seed")
def test_seed_determines_the_layer(name):
    example = EXAMPLES[name]
    runs = []
    for seed in (3, 3, 4):
        _, layer, inputs = built(name, seed=seed)
        runs.append((layer.get_weights(), flat(layer(inputs))))
    (weights_a, out_a), (weights_b, out_b), (weights_c, out_c) = runs
    for wa, wb in zip(weights_a, weights_b):
        np.testing.assert_array_equal(wa, wb)
    for oa, ob in zip(out_a, out_b):
        np.testing.assert_array_equal(oa, ob)
    differs = any(not np.array_equal(a, c) for a, c in zip(weights_a, weights_c)) or any(
        not np.array_equal(a, c) for a, c in zip(out_a, out_c)
    )
    assert differs, f"{name}: seeds 3 and 4 gave identical weights and outputs"
    assert example.make(3) is not example.make(3)


@sweep("bad_input")
def test_bad_input_errors(name):
    example, layer, inputs = built(name)
    assert example.bad_inputs, f"{name}: the example lists no bad inputs"
    for bad in example.bad_inputs:
        with pytest.raises(ValueError) as info:
            layer(bad)
        message = str(info.value)
        assert type(layer).__name__ in message or layer.name in message, message


@pytest.mark.slow
@sweep("saved_model")
def test_saved_model_round_trip(name, tmp_path):
    example, layer, inputs = built(name)
    model = model_of(layer, inputs)
    samples = flat(inputs)
    batch = samples[0].shape[0]
    report = rnnzoo.export(
        model, tmp_path / "saved", format="saved_model", batch_size=batch, sample_inputs=samples
    )
    assert report.max_abs_diff <= max(example.atol, 1e-6)
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    assert_outputs_close(loaded.serve(*[tf.constant(s) for s in samples]), model(inputs), 1e-5)


@pytest.mark.slow
@sweep("tflite")
def test_tflite_builtins_parity(name, tmp_path):
    example, layer, inputs = built(name)
    model = model_of(layer, inputs)
    samples = flat(inputs)
    batch = samples[0].shape[0]
    path = tmp_path / "model.tflite"
    report = rnnzoo.export(model, path, batch_size=batch, sample_inputs=samples)
    assert report.max_abs_diff <= example.tflite_atol
    assert not [op for op in report.ops if op.startswith("CUSTOM")]
    other = flat(example.inputs(3))
    assert_outputs_close(run_tflite(str(path), other), model(example.inputs(3)), example.tflite_atol)
