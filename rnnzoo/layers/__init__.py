"""The zoo's recurrent variants, one module per family, and the layer registry.

`list_layers("*")` lists the registered names; `get_layer(name)` returns the
layer class. Every registered layer passes the conformance sweep in
`tests/layers/test_conformance.py`.
"""

from rnnzoo import registry
from rnnzoo.layers.base import ZooCell, ZooRNN, zoo_layer
from rnnzoo.layers.elman import Elman, ElmanCell
from rnnzoo.layers.fully_recurrent import FullyRecurrent, FullyRecurrentCell
from rnnzoo.layers.indrnn import IndRNN, IndRNNCell, RecurrentMaxAbs
from rnnzoo.layers.jordan import Jordan, JordanCell


def list_layers(pattern="*"):
    """Registered layer names matching an fnmatch `pattern`, naturally sorted.

    Example:

    >>> list_layers("*rnn*")
    ['indrnn']
    """
    return registry.LAYERS.names(pattern)


def get_layer(name):
    """The layer class registered under `name` (e.g. `get_layer("indrnn")(32)`).

    Raises:
        ValueError: for an unknown name, suggesting the closest ones.
    """
    return registry.LAYERS.get(name)


__all__ = [
    "Elman",
    "ElmanCell",
    "FullyRecurrent",
    "FullyRecurrentCell",
    "IndRNN",
    "IndRNNCell",
    "Jordan",
    "JordanCell",
    "RecurrentMaxAbs",
    "ZooCell",
    "ZooRNN",
    "get_layer",
    "list_layers",
    "zoo_layer",
]
