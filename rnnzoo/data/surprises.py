"""Predictable symbol chains with rare surprises and a long-lag label.

The dataset of the history-compression experiments (after Schmidhuber 1992):
most of each sequence is predictable from the previous symbol, a few symbols
are not, and the label depends on the very first symbol, so a predictor that
passes only its surprises upward turns the long time lag into a short one.

A sequence of length `length` over `symbols + 2` tokens:

- step 0: a marker, token `symbols + label` (label 0 or 1, drawn uniformly);
- step 1: a chain symbol drawn uniformly from `0 .. symbols - 1`;
- steps t >= 2: the successor `(s_{t-1} + 1) mod symbols`, except that with
  probability `surprise_rate` it is replaced by a symbol drawn uniformly from
  the other `symbols - 1` (a surprise).

Features: `inputs` (length,) int32 tokens, `label` int32 (the marker's class),
`surprise` (length,) int32 (1 at the steps no predictor can foresee: the
marker, the chain start and every replaced successor) and `num_surprises`.

Example:
    >>> from rnnzoo.data.surprises import surprise_sequence
    >>> import numpy as np
    >>> tokens, label, surprise = surprise_sequence(np.random.default_rng(0), 12, 4, 0.0)
    >>> int(tokens[0]) == 4 + label, surprise.tolist()[:3], int(surprise.sum())
    (True, [1, 1, 0], 2)
"""

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, register_dataset, split_seed

__all__ = ["SURPRISES", "surprise_sequence"]

_OWNER = "dataset 'surprises'"


def _check(params):
    check_positive(_OWNER, "length", params["length"])
    if params["length"] < 3:
        raise ValueError(f"Received an invalid value for `length` of {_OWNER}, expected an "
                         f"integer >= 3, got {params['length']!r}.")
    symbols = check_positive(_OWNER, "symbols", params["symbols"])
    if symbols < 2:
        raise ValueError(f"Received an invalid value for `symbols` of {_OWNER}, expected an "
                         f"integer >= 2, got {symbols!r}.")
    rate = params["surprise_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(f"Received an invalid value for `surprise_rate` of {_OWNER}, "
                         f"expected a float in [0, 1], got {rate!r}.")
    for split in ("train", "test"):
        check_positive(_OWNER, f"num_{split}", params[f"num_{split}"])


def surprise_sequence(rng, length, symbols, surprise_rate):
    """One sequence: `(tokens int32 (length,), label int, surprise int32 (length,))`."""
    label = int(rng.integers(0, 2))
    tokens = np.empty(length, np.int32)
    surprise = np.zeros(length, np.int32)
    tokens[0], surprise[0] = symbols + label, 1
    tokens[1], surprise[1] = rng.integers(0, symbols), 1
    for t in range(2, length):
        successor = (tokens[t - 1] + 1) % symbols
        if rng.random() < surprise_rate:
            other = int(rng.integers(0, symbols - 1))
            tokens[t] = other + (other >= successor)  # any symbol but the successor
            surprise[t] = 1
        else:
            tokens[t] = successor
    return tokens, label, surprise


def _features(params):
    _check(params)
    length = params["length"]
    return {"inputs": ((length,), "int32"), "label": ((), "int32"),
            "surprise": ((length,), "int32"), "num_surprises": ((), "int32")}


def _splits(params):
    _check(params)
    return {"train": params["num_train"], "test": params["num_test"]}


def _generate(split, params, seed):
    _check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    for _ in range(params[f"num_{split}"]):
        tokens, label, surprise = surprise_sequence(rng, params["length"], params["symbols"],
                                                    params["surprise_rate"])
        yield {"inputs": tokens, "label": np.int32(label), "surprise": surprise,
               "num_surprises": np.int32(surprise.sum())}


SURPRISES = register_dataset(DatasetSpec(
    name="surprises",
    description="Predictable symbol chains with rare surprises; the label is the first "
                "symbol (long time lag, history compression).",
    citation="J. Schmidhuber. Learning complex, extended sequences using the principle of "
             "history compression. Neural Computation 4(2):234-242, 1992.",
    configs={
        "t100": {"length": 100, "symbols": 8, "surprise_rate": 0.03,
                 "num_train": 1000, "num_test": 500},
        "t20": {"length": 20, "symbols": 8, "surprise_rate": 0.05,
                "num_train": 1000, "num_test": 500},
    },
    splits=_splits,
    features=_features,
    generate=_generate,
    supervised_keys=("inputs", "label"),
))
