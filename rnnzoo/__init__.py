"""rnnzoo: a Keras 3 zoo of recurrent neural networks.

The public surface, by name. Sub-packages load on first use, so `import rnnzoo`
(and the `rnnzoo --help` command) stays free of TensorFlow until a name that
needs it is touched.

    import rnnzoo
    rnnzoo.list_layers()                    # every recurrent variant
    rnnzoo.list_presets("*classifier*")     # pretrained models and their metrics
    model = rnnzoo.load("indrnn_classifier.gunpoint")
    rnnzoo.export(model, "model.tflite")
"""

import importlib

# `rnnzoo.export` is both a sub-package and the export function; binding the
# function here (the package imports only numpy) keeps the function winning.
from rnnzoo.export import export

__version__ = "0.1.0"

# name -> module that defines it; each is imported on first access.
_PUBLIC = {
    "list_layers": "rnnzoo.layers",
    "get_layer": "rnnzoo.layers",
    "list_presets": "rnnzoo.presets",
    "load": "rnnzoo.presets",
    "save_preset": "rnnzoo.presets",
}
_SUBMODULES = (
    "data",
    "initializers",
    "layers",
    "presets",
    "registry",
    "tasks",
    "training",
    "tuning",
)

__all__ = sorted(_PUBLIC) + ["export"] + list(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"rnnzoo.{name}")
    else:
        raise AttributeError(f"module 'rnnzoo' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
