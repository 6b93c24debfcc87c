"""The zoo's recurrent variants, one module per family, and the layer registry.

`list_layers("*")` lists the registered names; `get_layer(name)` returns the
layer class. Every registered layer passes the conformance sweep in
`tests/layers/test_conformance.py`.
"""

from rnnzoo import registry
from rnnzoo.layers.base import ZooCell, ZooRNN, zoo_layer
from rnnzoo.layers.clockwork import ClockworkRNN, ClockworkRNNCell
from rnnzoo.layers.ctrnn import CTRNN, MTRNN, CTRNNCell, MTRNNCell
from rnnzoo.layers.elman import Elman, ElmanCell
from rnnzoo.layers.esn import ESN, ESNCell
from rnnzoo.layers.fir import FIR, FIRCell
from rnnzoo.layers.fully_recurrent import FullyRecurrent, FullyRecurrentCell
from rnnzoo.layers.gru import GRU
from rnnzoo.layers.indrnn import IndRNN, IndRNNCell, RecurrentMaxAbs
from rnnzoo.layers.jordan import Jordan, JordanCell
from rnnzoo.layers.lstm import (
    LSTM,
    LayerNormLSTM,
    LayerNormLSTMCell,
    PeepholeLSTM,
    PeepholeLSTMCell,
)
from rnnzoo.layers.rmlp import RMLP, RMLPCell
from rnnzoo.layers.second_order import SecondOrder, SecondOrderCell


def list_layers(pattern="*"):
    """Registered layer names matching an fnmatch `pattern`, naturally sorted.

    Example:

    >>> list_layers("ind*")
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
    "CTRNN",
    "CTRNNCell",
    "ClockworkRNN",
    "ClockworkRNNCell",
    "ESN",
    "ESNCell",
    "Elman",
    "ElmanCell",
    "FIR",
    "FIRCell",
    "FullyRecurrent",
    "FullyRecurrentCell",
    "GRU",
    "IndRNN",
    "IndRNNCell",
    "Jordan",
    "JordanCell",
    "LSTM",
    "LayerNormLSTM",
    "LayerNormLSTMCell",
    "MTRNN",
    "MTRNNCell",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RMLP",
    "RMLPCell",
    "RecurrentMaxAbs",
    "SecondOrder",
    "SecondOrderCell",
    "ZooCell",
    "ZooRNN",
    "get_layer",
    "list_layers",
    "zoo_layer",
]
