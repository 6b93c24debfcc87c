"""SavedModel and builtins-only TFLite export with a parity check against Keras.

Why the extra steps: converting a recurrent model to TFLite fails (TensorList
ops, READ_VARIABLE) unless the batch dimension is static and the variables are
frozen into constants, and Keras' own LiteRT export quietly adds Flex (Select
TF) ops that phones without the Flex delegate cannot run. Here the signature is
fixed, the graph frozen, the converter limited to builtin ops, and the output
compared with Keras before anything is written.
"""

import dataclasses
import os
import shutil
import tempfile

import numpy as np

FORMATS = ("tflite", "saved_model")
DEFAULT_TOLERANCE = 1e-5
_SAMPLE_TIMESTEPS = 8


class ExportError(ValueError):
    """The model cannot be exported as asked (unsupported ops, parity failure)."""


@dataclasses.dataclass(frozen=True)
class ExportReport:
    """What `export` wrote and how closely it matches Keras.

    Attributes:
        path: str, the file (TFLite) or folder (SavedModel) written.
        format: "tflite" or "saved_model".
        input_shapes: list of the exported input shapes (`None` = dynamic).
        max_abs_diff: float, largest |exported - Keras| over the sample inputs.
        ops: tuple of op names in the TFLite graph (empty for SavedModel).
        size_bytes: int, size of the TFLite file or the SavedModel folder.
    """

    path: str
    format: str
    input_shapes: list
    max_abs_diff: float
    ops: tuple
    size_bytes: int


def _input_shapes(model, batch_size, timesteps):
    if not getattr(model, "inputs", None):
        raise ExportError(
            "Expected a built functional or sequential Keras model with known "
            f"inputs, got {type(model).__name__} without `inputs`; call it on "
            "data or build it with keras.Input first."
        )
    shapes = []
    for tensor in model.inputs:
        shape = list(tensor.shape)
        shape[0] = batch_size
        if len(shape) >= 3 and shape[1] is None and timesteps is not None:
            shape[1] = timesteps
        shapes.append(shape)
    return shapes


def _sample_inputs(model, shapes, seed):
    rng = np.random.default_rng(seed)
    samples = []
    for tensor, shape in zip(model.inputs, shapes):
        concrete = [_SAMPLE_TIMESTEPS if d is None else d for d in shape]
        dtype = str(tensor.dtype)
        if "int" in dtype:
            samples.append(rng.integers(0, 2, size=concrete).astype(dtype))
        else:
            samples.append(rng.standard_normal(concrete).astype(dtype))
    return samples


def _frozen_function(model, shapes):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    specs = [
        tf.TensorSpec(shape, tensor.dtype, name=f"input_{i}")
        for i, (tensor, shape) in enumerate(zip(model.inputs, shapes))
    ]

    def serve(*inputs):
        return model(_structured(model, inputs), training=False)

    concrete = tf.function(serve).get_concrete_function(*specs)
    return convert_variables_to_constants_v2(concrete), specs


def _structured(model, flat_inputs):
    """The model's own input structure (one tensor, a list or a dict) from a
    flat list in `model.inputs` order (Keras flattens dicts by sorted key)."""
    import keras

    structure = getattr(model, "input", None)
    if isinstance(structure, dict):
        return keras.tree.pack_sequence_as(structure, list(flat_inputs))
    return list(flat_inputs) if len(flat_inputs) > 1 else flat_inputs[0]


def _keras_outputs(model, samples):
    outputs = model(_structured(model, samples), training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(o) for o in outputs]


def run_tflite(model_content, inputs):
    """Runs a TFLite flatbuffer in the LiteRT interpreter.

    Args:
        model_content: bytes of a .tflite model, or a path to one.
        inputs: list of numpy arrays, in the model's input order.

    Returns:
        list of numpy outputs, in the model's output order.
    """
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model_content, (str, os.PathLike)):
        with open(model_content, "rb") as handle:
            model_content = handle.read()
    interpreter = Interpreter(model_content=model_content)
    # The converter keeps the traced function's argument and output order.
    details = interpreter.get_input_details()
    if len(details) != len(inputs):
        raise ValueError(
            f"The TFLite model takes {len(details)} inputs, got {len(inputs)}."
        )
    for detail, value in zip(details, inputs):
        if tuple(detail["shape"]) != tuple(value.shape):
            interpreter.resize_tensor_input(detail["index"], list(value.shape))
    interpreter.allocate_tensors()
    for detail, value in zip(details, inputs):
        interpreter.set_tensor(detail["index"], value.astype(detail["dtype"]))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def _tflite_ops(model_content):
    """Every op in the flatbuffer, loop bodies (WHILE subgraphs) included.

    A custom op shows as "CUSTOM:<name>" (Flex ops are custom ops "Flex...").
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(model_content, 0)
    names = {code: name for name, code in vars(schema.BuiltinOperator).items()
             if not name.startswith("_")}
    ops = set()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for i in range(subgraph.OperatorsLength()):
            opcode = model.OperatorCodes(subgraph.Operators(i).OpcodeIndex())
            # Old files keep small codes in the deprecated field only.
            code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
            if code == schema.BuiltinOperator.CUSTOM:
                ops.add(f"CUSTOM:{(opcode.CustomCode() or b'').decode()}")
            else:
                ops.add(names.get(code, f"BUILTIN_{code}"))
    return tuple(sorted(ops))


def _convert_tflite(frozen):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        content = converter.convert()
    except Exception as error:  # the converter raises several private error types
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        needed = [line.split(":", 1)[1].strip() for line in lines if "TF Select ops:" in line]
        detail = (
            f"it needs ops outside the builtin set: {needed[0]}"
            if needed
            else f"converter said: {(lines or ['(no message)'])[-1][:400]}"
        )
        raise ExportError(
            "TFLite conversion with builtin ops only failed; rnnzoo does not fall "
            "back to Flex (Select TF) ops, which phones cannot run without the "
            f"Flex delegate. {detail}"
        ) from None
    ops = _tflite_ops(content)
    foreign = [op for op in ops if op.startswith("CUSTOM")]
    if foreign:
        raise ExportError(f"The TFLite graph contains non-builtin ops: {foreign}.")
    return content, ops


def _max_diff(expected, actual):
    if len(expected) != len(actual):
        raise ExportError(
            f"The exported model returns {len(actual)} outputs, Keras returns {len(expected)}."
        )
    worst = 0.0
    for e, a in zip(expected, actual):
        if e.shape != a.shape:
            raise ExportError(
                f"Exported output shape {a.shape} differs from Keras' {e.shape}."
            )
        worst = max(worst, float(np.max(np.abs(e.astype("float64") - a))) if e.size else 0.0)
    return worst


def _write_atomically(path, content):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _folder_size(path):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def _export_saved_model(model, frozen, specs, path, samples, overwrite):
    import tensorflow as tf

    if os.path.exists(path) and os.listdir(path) and not overwrite:
        raise ExportError(
            f"The SavedModel folder {path!r} exists and is not empty; pass overwrite=True."
        )
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, suffix=".partial")
    try:
        module = tf.Module()
        module.model = model
        module.serve = tf.function(
            lambda *inputs: model(_structured(model, inputs), training=False),
            input_signature=specs,
        )
        tf.saved_model.save(module, staging, signatures=module.serve.get_concrete_function())
        loaded = tf.saved_model.load(staging)
        outputs = loaded.serve(*[tf.constant(s) for s in samples])
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        actual = [np.asarray(o) for o in outputs]
        os.chmod(staging, 0o755)  # mkdtemp makes it private
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return actual


def export(
    model,
    path,
    format=None,
    batch_size=1,
    timesteps=None,
    sample_inputs=None,
    tolerance=DEFAULT_TOLERANCE,
    overwrite=True,
    seed=0,
):
    """Exports a Keras model to TFLite (builtin ops only) or SavedModel, parity-checked.

    Args:
        model: a built Keras model with known inputs (any rnnzoo task qualifies).
        path: str, a `.tflite` file or a SavedModel folder.
        format: `"tflite"` or `"saved_model"`; default: `"tflite"` when `path`
            ends in `.tflite`, else `"saved_model"`.
        batch_size: int, the static batch size of the exported signature
            (TFLite recurrent graphs need one). Default 1.
        timesteps: optional int fixing the time axis; default keeps the
            model's (dynamic if the model's is).
        sample_inputs: optional list of numpy arrays for the parity check;
            default: seeded standard-normal inputs of the exported shapes.
        tolerance: float, the largest allowed |exported - Keras| for outputs
            of magnitude up to 1; larger outputs scale it by their largest
            magnitude (float32 rounding grows with the value). Default 1e-5.
        overwrite: bool, replace an existing SavedModel folder. Default True.
        seed: int, seed of the default sample inputs.

    Returns:
        An `ExportReport` with the path, ops and the measured max abs difference.

    Raises:
        ExportError: (a `ValueError`) if conversion needs non-builtin ops or
            the exported outputs differ from Keras by more than `tolerance`.
            Nothing is written in that case.

    Example:

    ```python
    report = rnnzoo.export(model, "model.tflite")
    print(report.max_abs_diff, report.ops)
    ```
    """
    if format is None:
        format = "tflite" if str(path).endswith(".tflite") else "saved_model"
    if format not in FORMATS:
        raise ExportError(
            f"Received an invalid value for argument `format`, expected one of "
            f"{FORMATS}, got {format!r}."
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ExportError(
            f"Received an invalid value for argument `batch_size`, expected a "
            f"positive integer, got {batch_size!r}."
        )
    path = os.fspath(path)
    shapes = _input_shapes(model, batch_size, timesteps)
    if sample_inputs is None:
        samples = _sample_inputs(model, shapes, seed)
    else:
        samples = [np.asarray(s) for s in sample_inputs]
        for sample, shape in zip(samples, shapes):
            fixed = [d for d in shape if d is not None]
            if len(sample.shape) != len(shape) or any(
                d is not None and d != s for d, s in zip(shape, sample.shape)
            ):
                raise ExportError(
                    f"Sample input of shape {sample.shape} does not fit the "
                    f"exported signature {shape} (fixed dims {fixed})."
                )
    frozen, specs = _frozen_function(model, shapes)
    expected = _keras_outputs(model, samples)
    scale = max([1.0] + [float(np.max(np.abs(e))) for e in expected if e.size])
    allowed = tolerance * scale
    if format == "tflite":
        content, ops = _convert_tflite(frozen)
        actual = run_tflite(content, samples)
        diff = _max_diff(expected, actual)
        if diff > allowed:
            raise ExportError(
                f"TFLite output differs from Keras by {diff:.3g} (> tolerance {allowed:.3g})."
            )
        _write_atomically(path, content)
        size = len(content)
    else:
        actual = _export_saved_model(model, frozen, specs, path, samples, overwrite)
        diff = _max_diff(expected, actual)
        ops = ()
        if diff > allowed:
            shutil.rmtree(path, ignore_errors=True)
            raise ExportError(
                f"SavedModel output differs from Keras by {diff:.3g} (> tolerance {allowed:.3g})."
            )
        size = _folder_size(path)
    return ExportReport(path, format, shapes, diff, ops, size)
