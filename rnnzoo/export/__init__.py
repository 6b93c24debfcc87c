"""Export any Keras model (a zoo task or a plain model) to SavedModel or TFLite.

`export(model, path)` fixes the input signature (static batch), freezes the
variables into constants, converts with builtin ops only and checks the result
against Keras on sample inputs. See `rnnzoo.export.export`.
"""

from rnnzoo.export.exporter import ExportError, ExportReport, export, run_tflite

__all__ = ["ExportError", "ExportReport", "export", "run_tflite"]
