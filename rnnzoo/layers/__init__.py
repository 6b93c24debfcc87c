"""The zoo's recurrent variants, one module per family, and the layer registry.

`list_layers("*")` lists the registered names; `get_layer(name)` returns the
layer class. Every registered layer passes the conformance sweep in
`tests/layers/test_conformance.py`.
"""

import keras

from rnnzoo import registry
from rnnzoo.layers.bam import BAM, StochasticBAM
from rnnzoo.layers.base import ZooCell, ZooRNN, zoo_layer
from rnnzoo.layers.clockwork import ClockworkRNN, ClockworkRNNCell
from rnnzoo.layers.ctrnn import CTRNN, MTRNN, CTRNNCell, MTRNNCell
from rnnzoo.layers.dnc import DNC, DNCCell
from rnnzoo.layers.elman import Elman, ElmanCell
from rnnzoo.layers.esn import ESN, ESNCell
from rnnzoo.layers.fir import FIR, FIRCell
from rnnzoo.layers.fully_recurrent import FullyRecurrent, FullyRecurrentCell
from rnnzoo.layers.gru import GRU
from rnnzoo.layers.hopfield import Hopfield, ModernHopfield
from rnnzoo.layers.history_compressor import HistoryCompressor, HistoryCompressorCell
from rnnzoo.layers.indrnn import IndRNN, IndRNNCell, RecurrentMaxAbs
from rnnzoo.layers.jordan import Jordan, JordanCell
from rnnzoo.layers.lstm import (
    LSTM,
    LayerNormLSTM,
    LayerNormLSTMCell,
    PeepholeLSTM,
    PeepholeLSTMCell,
)
from rnnzoo.layers.mdrnn import MDRNN
from rnnzoo.layers.memristive import Memristive, MemristiveCell
from rnnzoo.layers.nnpda import NNPDA, NNPDACell
from rnnzoo.layers.ntm import NTM, MemoryControllerCell, NTMCell
from rnnzoo.layers.recursive import RNTN, Recursive
from rnnzoo.layers.rmlp import RMLP, RMLPCell
from rnnzoo.layers.second_order import SecondOrder, SecondOrderCell
from rnnzoo.layers.stacked import StackedRNN


LAYER_KINDS = ("any", "stepwise", "structured")


def is_stepwise(name):
    """Whether the layer registered as `name` reads sequences step by step.

    Step-wise layers are `keras.layers.RNN` layers over a cell (they take
    `(batch, time, features)` and support masking, `go_backwards`, `stateful`,
    `Bidirectional` and stacking). The others ("structured" layers: fixed-point
    attractors, trees, 2-D grids) have their own input contract.
    """
    return issubclass(registry.LAYERS.get(name), keras.layers.RNN)


def list_layers(pattern="*", kind="any"):
    """Registered layer names matching an fnmatch `pattern`, naturally sorted.

    Args:
        pattern: str, an fnmatch pattern over registry names.
        kind: one of "any" (default), "stepwise" (sequence cells usable as a
            task backbone) or "structured" (layers with their own input
            contract, see `is_stepwise`).

    Example:

    >>> list_layers("ind*")
    ['indrnn']
    >>> "lstm" in list_layers(kind="stepwise")
    True
    """
    if kind not in LAYER_KINDS:
        raise ValueError(f"Received kind={kind!r}: expected one of {LAYER_KINDS}.")
    names = registry.LAYERS.names(pattern)
    if kind == "any":
        return names
    return [name for name in names if is_stepwise(name) == (kind == "stepwise")]


def get_layer(name):
    """The layer class registered under `name` (e.g. `get_layer("indrnn")(32)`).

    Raises:
        ValueError: for an unknown name, suggesting the closest ones.
    """
    return registry.LAYERS.get(name)


__all__ = [
    "BAM",
    "CTRNN",
    "CTRNNCell",
    "ClockworkRNN",
    "ClockworkRNNCell",
    "DNC",
    "DNCCell",
    "ESN",
    "ESNCell",
    "Elman",
    "ElmanCell",
    "FIR",
    "FIRCell",
    "FullyRecurrent",
    "FullyRecurrentCell",
    "GRU",
    "Hopfield",
    "HistoryCompressor",
    "HistoryCompressorCell",
    "IndRNN",
    "IndRNNCell",
    "Jordan",
    "JordanCell",
    "LSTM",
    "LayerNormLSTM",
    "LayerNormLSTMCell",
    "MDRNN",
    "MTRNN",
    "MTRNNCell",
    "MemoryControllerCell",
    "Memristive",
    "MemristiveCell",
    "ModernHopfield",
    "NNPDA",
    "NNPDACell",
    "NTM",
    "NTMCell",
    "PeepholeLSTM",
    "PeepholeLSTMCell",
    "RMLP",
    "RMLPCell",
    "RNTN",
    "RecurrentMaxAbs",
    "Recursive",
    "SecondOrder",
    "SecondOrderCell",
    "StackedRNN",
    "StochasticBAM",
    "ZooCell",
    "ZooRNN",
    "get_layer",
    "is_stepwise",
    "list_layers",
    "zoo_layer",
]
