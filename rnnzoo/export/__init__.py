"""Export any Keras model (a zoo task or a plain model) to SavedModel or TFLite.

`export(model, path)` fixes the input signature (static batch), freezes the
variables into constants, converts with builtin ops only and checks the result
against Keras on sample inputs. `streaming_model(model)` gives a model's
recurrent states explicit inputs and outputs, for running it chunk by chunk
on a stream (`rnnzoo.export.streaming`). The work lives in those two modules,
imported on first use so that `import rnnzoo` (and `rnnzoo --help`) stays light.
"""

import importlib

_LAZY = {
    "ExportError": "rnnzoo.export.exporter",
    "ExportReport": "rnnzoo.export.exporter",
    "run_tflite": "rnnzoo.export.exporter",
    "start_states": "rnnzoo.export.streaming",
    "streaming_model": "rnnzoo.export.streaming",
}


def export(
    model,
    path,
    format=None,
    batch_size=1,
    timesteps=None,
    sample_inputs=None,
    tolerance=1e-5,
    overwrite=True,
    seed=0,
):
    """Exports a Keras model to builtins-only TFLite or SavedModel, parity-checked.

    See `rnnzoo.export.exporter.export` for the arguments; returns an
    `ExportReport` and raises `ExportError` (a `ValueError`) when the model
    needs non-builtin ops or the exported outputs differ from Keras.

    Example:

    ```python
    report = rnnzoo.export(model, "model.tflite")
    print(report.max_abs_diff, report.ops)
    ```
    """
    from rnnzoo.export import exporter

    return exporter.export(
        model,
        path,
        format=format,
        batch_size=batch_size,
        timesteps=timesteps,
        sample_inputs=sample_inputs,
        tolerance=tolerance,
        overwrite=overwrite,
        seed=seed,
    )


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rnnzoo.export' has no attribute {name!r}")


__all__ = [
    "ExportError",
    "ExportReport",
    "export",
    "run_tflite",
    "start_states",
    "streaming_model",
]
