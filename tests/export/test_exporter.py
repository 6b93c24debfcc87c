import os

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.export import ExportError, run_tflite


def model(time=None):
    inputs = keras.Input((time, 3))
    x = rnnzoo.layers.Elman(4, seed=1, return_sequences=True)(inputs)
    outputs = keras.layers.Dense(2)(rnnzoo.layers.IndRNN(4, seed=2)(x))
    return keras.Model(inputs, outputs)


def test_tflite_is_builtins_only_and_matches(tmp_path):
    m = model()
    path = tmp_path / "m.tflite"
    report = rnnzoo.export(m, path)
    assert report.format == "tflite" and report.input_shapes == [[1, None, 3]]
    assert os.path.getsize(path) == report.size_bytes
    # Ops of the loop body are listed too, not only the top-level graph's.
    assert {"WHILE", "FULLY_CONNECTED", "TANH"} <= set(report.ops)
    assert not any(op.startswith("CUSTOM") for op in report.ops)
    x = np.random.default_rng(0).normal(size=(1, 30, 3)).astype("float32")
    np.testing.assert_allclose(run_tflite(str(path), [x])[0], m(x), atol=1e-5)


def test_fixed_timesteps_and_batch(tmp_path):
    report = rnnzoo.export(model(), tmp_path / "m.tflite", batch_size=4, timesteps=9)
    assert report.input_shapes == [[4, 9, 3]]


def test_saved_model_round_trip(tmp_path):
    import tensorflow as tf

    m = model()
    report = rnnzoo.export(m, tmp_path / "sm")
    assert report.format == "saved_model" and report.max_abs_diff <= 1e-6
    x = np.ones((1, 5, 3), "float32")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))  # keep it alive: it owns the variables
    np.testing.assert_allclose(loaded.serve(x), m(x), atol=1e-6)
    with pytest.raises(ExportError, match="overwrite"):
        rnnzoo.export(m, tmp_path / "sm", overwrite=False)


def test_flex_ops_are_refused_and_nothing_written(tmp_path):
    inputs = keras.Input((3, 3))
    # Matrix inversion has no builtin TFLite kernel (only a Flex one).
    outputs = keras.layers.Lambda(lambda t: keras.ops.linalg.inv(t + 3 * keras.ops.eye(3)))(inputs)
    path = tmp_path / "flex.tflite"
    with pytest.raises(ExportError, match="builtin ops only.*MatrixInverse"):
        rnnzoo.export(keras.Model(inputs, outputs), path)
    assert not path.exists()


def test_parity_failure_is_reported(tmp_path):
    m = model()
    with pytest.raises(ExportError, match="differs from Keras"):
        rnnzoo.export(m, tmp_path / "m.tflite", tolerance=-1.0)
    assert not (tmp_path / "m.tflite").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


@pytest.mark.parametrize(
    "kwargs, message",
    [({"format": "onnx"}, "format"), ({"batch_size": 0}, "batch_size")],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        rnnzoo.export(model(), tmp_path / "m.tflite", **kwargs)


def test_sample_inputs_must_fit(tmp_path):
    with pytest.raises(ExportError, match="does not fit"):
        rnnzoo.export(model(), tmp_path / "m.tflite", sample_inputs=[np.zeros((2, 5, 3))])
    with pytest.raises(ExportError, match="known inputs|built"):
        rnnzoo.export(keras.Sequential([keras.layers.Dense(2)]), tmp_path / "s.tflite")


def test_many_inputs_and_outputs_keep_their_order(tmp_path):
    # Twelve outputs: an order by name would put "Identity_10" before "Identity_2".
    inputs = [keras.Input((3,), name=f"in_{i}") for i in range(3)]
    merged = keras.layers.Concatenate()([inputs[0], 2 * inputs[1], 3 * inputs[2]])
    outputs = [
        keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(k))(merged)
        for k in range(12)
    ]
    m = keras.Model(inputs, outputs)
    report = rnnzoo.export(m, tmp_path / "many.tflite")
    assert report.max_abs_diff <= 1e-5
    x = [np.full((1, 3), i + 1.0, "float32") for i in range(3)]
    for got, want in zip(run_tflite(str(tmp_path / "many.tflite"), x), m(x)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_dict_inputs_are_flattened_by_sorted_key(tmp_path):
    # Keras orders a dict model's inputs by key; the exported signature follows.
    inputs = {
        "values": keras.Input((3,), name="values"),
        "index": keras.Input((1,), dtype="int32", name="index"),
    }
    scaled = keras.ops.cast(inputs["index"], "float32") * inputs["values"]
    m = keras.Model(inputs, keras.layers.Dense(2, kernel_initializer="ones")(scaled))
    samples = [np.array([[2], [3]], "int32"), np.ones((2, 3), "float32")]
    report = rnnzoo.export(m, tmp_path / "dict.tflite", batch_size=2, sample_inputs=samples)
    assert report.max_abs_diff <= 1e-6
    (got,) = run_tflite(str(tmp_path / "dict.tflite"), samples)
    np.testing.assert_allclose(got, [[6.0, 6.0], [9.0, 9.0]], atol=1e-6)
    report = rnnzoo.export(m, tmp_path / "sm", batch_size=2, sample_inputs=samples)
    assert report.format == "saved_model" and report.max_abs_diff <= 1e-6
