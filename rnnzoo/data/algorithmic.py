"""Algorithmic sequence tasks: the adding problem, copy, repeat copy, associative recall.

Pure NumPy generators registered in the dataset catalog at import. Every example
is drawn from `numpy.random.default_rng(split_seed(seed, split))`, so a split is
the same for the same seed and never shares its random stream with another split.

Datasets (see each generator's docstring for the exact layout):

- `adding`: configs `t100`, `t500`, `t1000`, `t5000` follow Hochreiter &
  Schmidhuber (1997), experiment 4 (variable length T..T+T/10, `inputs`
  (None, 2)); `indrnn_t100` ... `indrnn_t5000` follow Li et al. (2018) (fixed
  length T, `inputs` (T, 2)). Features `inputs` and `target` (scalar).
- `copy`, `repeat_copy`, `associative_recall`: the Neural Turing Machine tasks
  of Graves, Wayne & Danihelka (2014). Features `inputs`, `targets` and `mask`
  (1.0 on the steps whose output is scored); the `test` split holds longer
  sequences (more repeats, more items) than training ever shows.

Splits are `train`, `validation` and `test`; their sizes are parameters
(`num_train`, `num_validation`, `num_test`; the adding problem's test size
defaults to the 2,560 sequences of the 1997 paper; at T = 5000 a 10,000-example
train split takes about 400 MB once prepared by TFDS).

Example:
    >>> from rnnzoo.data import load_numpy
    >>> data = load_numpy("adding", "test", config="indrnn_t100", num_test=4)
    >>> tuple(data["inputs"].shape), tuple(data["target"].shape)
    ((4, 100, 2), (4,))
"""

import numpy as np

from rnnzoo.data.catalog import DatasetSpec, check_positive, register_dataset, split_seed

HOCHREITER_CITATION = (
    "S. Hochreiter and J. Schmidhuber. Long short-term memory. Neural Computation "
    "9(8):1735-1780, 1997 (experiment 4, the adding problem)."
)
INDRNN_CITATION = (
    "S. Li, W. Li, C. Cook, C. Zhu and Y. Gao. Independently recurrent neural network "
    "(IndRNN): building a longer and deeper RNN. CVPR 2018."
)
NTM_CITATION = (
    "A. Graves, G. Wayne and I. Danihelka. Neural Turing Machines. arXiv:1410.5401, 2014."
)

_SPLITS = ("train", "validation", "test")


def _check_choice(owner, argument, value, choices):
    if value not in choices:
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected one of "
            f"{list(choices)}, got {value!r}."
        )
    return value


def _check_at_least(owner, argument, value, minimum, what):
    """An integer parameter that must reach `minimum` (`what` names the bound)."""
    value = check_positive(owner, argument, value)
    if value < minimum:
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected an "
            f"integer >= {minimum} ({what}), got {value!r}."
        )
    return value


def _sizes(params):
    return {split: params[f"num_{split}"] for split in _SPLITS}


def _check_sizes(owner, params):
    for split in _SPLITS:
        check_positive(owner, f"num_{split}", params[f"num_{split}"])


def _random_bits(rng, shape):
    return (rng.random(shape) < 0.5).astype(np.float32)


# --------------------------------------------------------------------------- adding

ADDING_SETTINGS = ("hochreiter1997", "indrnn")


def _adding_check(params):
    owner = "dataset 'adding'"
    _check_choice(owner, "setting", params["setting"], ADDING_SETTINGS)
    # 1997: the second marker goes among the first T/2 - 1 unmarked pairs, so T >= 4;
    # IndRNN: one marker per half, so T >= 2.
    minimum = 4 if params["setting"] == "hochreiter1997" else 2
    _check_at_least(owner, "length", params["length"], minimum, "at least one candidate "
                    "position per marker")
    _check_sizes(owner, params)


def _adding_features(params):
    _adding_check(params)
    steps = None if params["setting"] == "hochreiter1997" else params["length"]
    return {"inputs": ((steps, 2), "float32"), "target": ((), "float32")}


def _adding_splits(params):
    _adding_check(params)
    return _sizes(params)


def adding_hochreiter1997(rng, length):
    """One adding-problem sequence in the setting of Hochreiter & Schmidhuber (1997).

    The sequence length is drawn uniformly from `[T, T + T // 10]`. Each step is
    a pair (value, marker): values are uniform in [-1, 1]; the marker is 1.0 on
    exactly two steps: one among the first ten (value X1) and one among the
    first `T/2 - 1` still unmarked steps (value X2). Every other marker is 0.0
    except the first and the last step, whose markers are -1.0 (unless marked).
    When the first step is marked its value is set to zero, as in the paper.
    The target, given at the end, is `0.5 + (X1 + X2) / 4`; a prediction counts
    as correct when its absolute error is below 0.04.

    Args:
        rng: a `numpy.random.Generator`.
        length: int, the minimal sequence length T (>= 4).

    Returns:
        `(inputs, target)`: float32 arrays of shapes `(T', 2)` and `()`.
    """
    steps = length + int(rng.integers(0, length // 10 + 1))
    values = rng.uniform(-1.0, 1.0, size=steps)
    markers = np.zeros(steps)
    markers[0] = markers[-1] = -1.0
    first = int(rng.integers(0, min(10, steps)))
    # "one of the first T/2 - 1 still unmarked pairs": the c-th unmarked step
    # is c itself before the first marker and c + 1 after it.
    rank = int(rng.integers(0, length // 2 - 1))
    second = rank if rank < first else rank + 1
    markers[[first, second]] = 1.0
    if markers[0] == 1.0:
        values[0] = 0.0
    target = 0.5 + (values[first] + values[second]) / 4.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    return inputs, np.float32(target)


def adding_indrnn(rng, length):
    """One adding-problem sequence in the IndRNN setting (Li et al. 2018).

    Values are uniform in (0, 1); the marker (0 or 1) selects one step in the
    first half and one in the second half of a sequence of exactly `length`
    steps; the target is the sum of the two marked values (trained with MSE;
    always predicting 1 scores an MSE of about 0.167).

    Returns:
        `(inputs, target)`: float32 arrays of shapes `(length, 2)` and `()`.
    """
    half = length // 2
    values = rng.uniform(0.0, 1.0, size=length)
    markers = np.zeros(length)
    first = int(rng.integers(0, half))
    second = int(rng.integers(half, length))
    markers[[first, second]] = 1.0
    inputs = np.stack([values, markers], axis=-1).astype(np.float32)
    return inputs, np.float32(values[first] + values[second])


def _adding_generate(split, params, seed):
    _adding_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    make = adding_hochreiter1997 if params["setting"] == "hochreiter1997" else adding_indrnn
    for _ in range(params[f"num_{split}"]):
        inputs, target = make(rng, params["length"])
        yield {"inputs": inputs, "target": target}


def _adding_configs():
    sizes = {"num_train": 10000, "num_validation": 1000, "num_test": 2560}
    configs = {}
    for setting, prefix in (("hochreiter1997", ""), ("indrnn", "indrnn_")):
        for length in (100, 500, 1000, 5000):
            configs[f"{prefix}t{length}"] = {"setting": setting, "length": length, **sizes}
    return configs


ADDING = register_dataset(DatasetSpec(
    name="adding",
    description="Adding problem: output the sum of two marked values of a long sequence.",
    citation=HOCHREITER_CITATION + " " + INDRNN_CITATION,
    configs=_adding_configs(),
    splits=_adding_splits,
    features=_adding_features,
    generate=_adding_generate,
    supervised_keys=("inputs", "target"),
))


# --------------------------------------------------------------------------- copy

def _copy_check(params):
    owner = "dataset 'copy'"
    check_positive(owner, "num_bits", params["num_bits"])
    low = check_positive(owner, "min_length", params["min_length"])
    high = _check_at_least(owner, "max_length", params["max_length"], low, "min_length")
    _check_at_least(owner, "test_max_length", params["test_max_length"], high + 1,
                    "longer than max_length")
    _check_sizes(owner, params)


def _copy_features(params):
    _copy_check(params)
    bits = params["num_bits"]
    return {"inputs": ((None, bits + 1), "float32"), "targets": ((None, bits), "float32"),
            "mask": ((None,), "float32")}


def _copy_splits(params):
    _copy_check(params)
    return _sizes(params)


def copy_example(rng, length, num_bits):
    """One NTM copy episode (Graves et al. 2014, section 4.1).

    `length` random binary vectors of `num_bits` bits are shown one per step;
    then one step carries only the delimiter flag (the extra input channel);
    then the inputs are zero for `length` steps while the targets replay the
    vectors. Total steps: `2 * length + 1`.

    Returns:
        dict with `inputs` (steps, num_bits + 1), `targets` (steps, num_bits)
        and `mask` (steps,): 1.0 where the output is scored.
    """
    steps = 2 * length + 1
    vectors = _random_bits(rng, (length, num_bits))
    inputs = np.zeros((steps, num_bits + 1), np.float32)
    inputs[:length, :num_bits] = vectors
    inputs[length, num_bits] = 1.0
    targets = np.zeros((steps, num_bits), np.float32)
    targets[length + 1:] = vectors
    mask = np.zeros(steps, np.float32)
    mask[length + 1:] = 1.0
    return {"inputs": inputs, "targets": targets, "mask": mask}


def _copy_generate(split, params, seed):
    _copy_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    if split == "test":  # generalisation: strictly longer than any training sequence
        low, high = params["max_length"] + 1, params["test_max_length"]
    else:
        low, high = params["min_length"], params["max_length"]
    for _ in range(params[f"num_{split}"]):
        yield copy_example(rng, int(rng.integers(low, high + 1)), params["num_bits"])


COPY = register_dataset(DatasetSpec(
    name="copy",
    description="NTM copy task: read random 8-bit vectors, then write them back.",
    citation=NTM_CITATION,
    configs={
        "ntm": {"num_bits": 8, "min_length": 1, "max_length": 20, "test_max_length": 120,
                "num_train": 10000, "num_validation": 1000, "num_test": 1000},
        "short": {"num_bits": 8, "min_length": 1, "max_length": 10, "test_max_length": 20,
                  "num_train": 10000, "num_validation": 1000, "num_test": 1000},
    },
    splits=_copy_splits,
    features=_copy_features,
    generate=_copy_generate,
    supervised_keys=("inputs", "targets"),
))


# --------------------------------------------------------------------------- repeat copy

def _repeat_check(params):
    owner = "dataset 'repeat_copy'"
    check_positive(owner, "num_bits", params["num_bits"])
    low = check_positive(owner, "min_length", params["min_length"])
    high = _check_at_least(owner, "max_length", params["max_length"], low, "min_length")
    _check_at_least(owner, "test_max_length", params["test_max_length"], high, "max_length")
    low = check_positive(owner, "min_repeats", params["min_repeats"])
    high = _check_at_least(owner, "max_repeats", params["max_repeats"], low, "min_repeats")
    _check_at_least(owner, "test_max_repeats", params["test_max_repeats"], high,
                    "max_repeats")
    if (params["test_max_length"], params["test_max_repeats"]) == (
            params["max_length"], params["max_repeats"]):
        raise ValueError(
            "Received invalid values for `test_max_length` and `test_max_repeats` of "
            "dataset 'repeat_copy', expected at least one above its training maximum "
            f"(max_length={params['max_length']}, max_repeats={params['max_repeats']}), "
            f"got {params['test_max_length']} and {params['test_max_repeats']}."
        )
    _check_sizes(owner, params)


def _repeat_features(params):
    _repeat_check(params)
    bits = params["num_bits"]
    return {"inputs": ((None, bits + 2), "float32"), "targets": ((None, bits + 1), "float32"),
            "mask": ((None,), "float32")}


def _repeat_splits(params):
    _repeat_check(params)
    return _sizes(params)


def normalised_repeats(repeats, min_repeats, max_repeats):
    """The repeat count scaled to zero mean and unit variance over the training range.

    Training counts are uniform integers in `[min_repeats, max_repeats]`; their
    mean is the midpoint and their variance `((n)^2 - 1) / 12` for `n` values.
    """
    count = max_repeats - min_repeats + 1
    std = np.sqrt((count * count - 1) / 12.0) if count > 1 else 1.0
    return (repeats - 0.5 * (min_repeats + max_repeats)) / std


def repeat_copy_example(rng, length, repeats, num_bits, min_repeats, max_repeats):
    """One NTM repeat-copy episode (Graves et al. 2014, section 4.2).

    `length` random binary vectors are shown; the next step carries the
    delimiter flag (channel `num_bits`) and, on its own channel
    (`num_bits + 1`), the repeat count normalised to zero mean and unit
    variance over the training range. The network must then write the
    sequence `repeats` times and finally raise the end marker (the extra
    target channel). Total steps: `length + 1 + length * repeats + 1`.

    Returns:
        dict with `inputs` (steps, num_bits + 2), `targets` (steps, num_bits + 1)
        and `mask` (steps,): 1.0 on the `length * repeats + 1` output steps.
    """
    start = length + 1
    steps = start + length * repeats + 1
    vectors = _random_bits(rng, (length, num_bits))
    inputs = np.zeros((steps, num_bits + 2), np.float32)
    inputs[:length, :num_bits] = vectors
    inputs[length, num_bits] = 1.0
    inputs[length, num_bits + 1] = normalised_repeats(repeats, min_repeats, max_repeats)
    targets = np.zeros((steps, num_bits + 1), np.float32)
    targets[start:steps - 1, :num_bits] = np.tile(vectors, (repeats, 1))
    targets[steps - 1, num_bits] = 1.0
    mask = np.zeros(steps, np.float32)
    mask[start:] = 1.0
    return {"inputs": inputs, "targets": targets, "mask": mask}


def _repeat_generate(split, params, seed):
    _repeat_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    p = params
    for _ in range(p[f"num_{split}"]):
        if split == "test":
            # Generalisation: longer sequences and/or more repeats than training,
            # never both inside the training ranges.
            while True:
                length = int(rng.integers(p["min_length"], p["test_max_length"] + 1))
                repeats = int(rng.integers(p["min_repeats"], p["test_max_repeats"] + 1))
                if length > p["max_length"] or repeats > p["max_repeats"]:
                    break
        else:
            length = int(rng.integers(p["min_length"], p["max_length"] + 1))
            repeats = int(rng.integers(p["min_repeats"], p["max_repeats"] + 1))
        yield repeat_copy_example(rng, length, repeats, p["num_bits"], p["min_repeats"],
                                  p["max_repeats"])


REPEAT_COPY = register_dataset(DatasetSpec(
    name="repeat_copy",
    description="NTM repeat copy: write a sequence back a given number of times, then stop.",
    citation=NTM_CITATION,
    configs={
        "ntm": {"num_bits": 8, "min_length": 1, "max_length": 10, "test_max_length": 20,
                "min_repeats": 1, "max_repeats": 10, "test_max_repeats": 20,
                "num_train": 10000, "num_validation": 1000, "num_test": 1000},
    },
    splits=_repeat_splits,
    features=_repeat_features,
    generate=_repeat_generate,
    supervised_keys=("inputs", "targets"),
))


# --------------------------------------------------------------------------- associative recall

def _recall_check(params):
    owner = "dataset 'associative_recall'"
    bits = check_positive(owner, "num_bits", params["num_bits"])
    size = check_positive(owner, "item_length", params["item_length"])
    low = _check_at_least(owner, "min_items", params["min_items"], 2,
                          "a query needs an item after it")
    high = _check_at_least(owner, "max_items", params["max_items"], low, "min_items")
    test_high = _check_at_least(owner, "test_max_items", params["test_max_items"], high + 1,
                                "more items than training")
    if 2 ** (bits * size) < test_high:
        raise ValueError(
            f"Received invalid values for `num_bits` and `item_length` of {owner}: "
            f"{bits} x {size} bits give only {2 ** (bits * size)} distinct items, "
            f"fewer than test_max_items={test_high}."
        )
    _check_sizes(owner, params)


def _recall_features(params):
    _recall_check(params)
    bits = params["num_bits"]
    return {"inputs": ((None, bits + 2), "float32"), "targets": ((None, bits), "float32"),
            "mask": ((None,), "float32")}


def _recall_splits(params):
    _recall_check(params)
    return _sizes(params)


def associative_recall_example(rng, num_items, num_bits, item_length):
    """One NTM associative-recall episode (Graves et al. 2014, section 4.3).

    Each item is `item_length` random binary vectors of `num_bits` bits, shown
    after one step with the item-delimiter flag (channel `num_bits`). Then a
    query: a step with the query-delimiter flag (channel `num_bits + 1`), a
    copy of one item (never the last), and the query flag again. During the
    final `item_length` steps the inputs are zero and the target is the item
    that followed the queried one. Items within an episode are distinct, so
    the answer is unique. Total steps: `(num_items + 2) * (item_length + 1)`.

    Returns:
        dict with `inputs` (steps, num_bits + 2), `targets` (steps, num_bits)
        and `mask` (steps,): 1.0 on the answer steps.
    """
    items = _random_bits(rng, (num_items, item_length, num_bits))
    # Redraw repeated items: a repeated query would have two valid answers.
    while len({item.tobytes() for item in items}) < num_items:
        seen = set()
        for k in range(num_items):
            while items[k].tobytes() in seen:
                items[k] = _random_bits(rng, (item_length, num_bits))
            seen.add(items[k].tobytes())
    query = int(rng.integers(0, num_items - 1))
    block = item_length + 1
    steps = (num_items + 2) * block
    inputs = np.zeros((steps, num_bits + 2), np.float32)
    for k in range(num_items):
        inputs[k * block, num_bits] = 1.0
        inputs[k * block + 1:(k + 1) * block, :num_bits] = items[k]
    start = num_items * block
    inputs[start, num_bits + 1] = 1.0
    inputs[start + 1:start + block, :num_bits] = items[query]
    inputs[start + block, num_bits + 1] = 1.0
    targets = np.zeros((steps, num_bits), np.float32)
    targets[steps - item_length:] = items[query + 1]
    mask = np.zeros(steps, np.float32)
    mask[steps - item_length:] = 1.0
    return {"inputs": inputs, "targets": targets, "mask": mask}


def _recall_generate(split, params, seed):
    _recall_check(params)
    rng = np.random.default_rng(split_seed(seed, split))
    p = params
    if split == "test":  # generalisation: more items than any training episode
        low, high = p["max_items"] + 1, p["test_max_items"]
    else:
        low, high = p["min_items"], p["max_items"]
    for _ in range(p[f"num_{split}"]):
        yield associative_recall_example(rng, int(rng.integers(low, high + 1)),
                                         p["num_bits"], p["item_length"])


ASSOCIATIVE_RECALL = register_dataset(DatasetSpec(
    name="associative_recall",
    description="NTM associative recall: given a query item, output the item that followed it.",
    citation=NTM_CITATION,
    configs={
        "ntm": {"num_bits": 6, "item_length": 3, "min_items": 2, "max_items": 6,
                "test_max_items": 12, "num_train": 10000, "num_validation": 1000,
                "num_test": 1000},
    },
    splits=_recall_splits,
    features=_recall_features,
    generate=_recall_generate,
    supervised_keys=("inputs", "targets"),
))
