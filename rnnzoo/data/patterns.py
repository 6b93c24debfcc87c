"""Random bipolar patterns and noisy probes for associative memories.

Two datasets:

- "hopfield_patterns": `num_patterns` random +-1 patterns of `num_units` units
  (the memories of a Hopfield network, Hopfield 1982) and noisy probes, each a
  stored pattern with exactly `round(flip * num_units)` of its bits flipped. The
  configs are named by size and number of patterns, `n<N>_p<P>`, and span the load
  P/N on both sides of the critical load 0.138 of Hebbian storage (Amit,
  Gutfreund & Sompolinsky 1985): n100_p5 (0.05), n100_p10 (0.1), n100_p14 (0.14),
  n100_p30 (0.3), n200_p10 (0.05), n200_p60 (0.3).
- "bam_pairs": `num_pairs` random bipolar pairs (x of `num_units_x`, y of
  `num_units_y` units) for a bidirectional associative memory (Kosko 1988), and
  noisy probes of either side: the probed side holds the stored vector with
  `round(flip * size)` bits flipped, the other side is all zeros (unknown), and
  the memory must recall both. Configs `n<N>_m<M>_p<P>`.

Splits: ``train`` is the memory itself (one example per stored pattern or pair,
probe equal to the clean pattern); ``test`` holds `num_probes` noisy probes.
The stored patterns come from the seed alone, so both splits share them; the
probes come from `catalog.split_seed(seed, "test")`.

References:
    Hopfield, J. J. (1982). Neural networks and physical systems with emergent
    collective computational abilities. PNAS 79(8), 2554-2558.
    Amit, D. J., Gutfreund, H., Sompolinsky, H. (1985). Storing infinite numbers of
    patterns in a spin-glass model of neural networks. Phys. Rev. Lett. 55(14),
    1530-1533.
    Kosko, B. (1988). Bidirectional associative memories. IEEE Trans. Systems, Man,
    and Cybernetics 18(1), 49-60.

This module uses only numpy and the standard library (no tensorflow / keras).

Example:
    >>> from rnnzoo.data.patterns import random_patterns, noisy_probes
    >>> memories = random_patterns(5, 100, seed=0)
    >>> probes, origin = noisy_probes(memories, flip=0.1, num_probes=3, seed=1)
    >>> probes.shape, origin.shape
    ((3, 100), (3,))
    >>> (probes != memories[origin]).sum(axis=1).tolist()
    [10, 10, 10]
"""

import math

import numpy as np

from rnnzoo.data import catalog

__all__ = ["random_patterns", "noisy_probes", "bam_probes", "HOPFIELD_SPEC", "BAM_SPEC"]


def _invalid(owner, argument, expected, value, described=False):
    got = value if described else repr(value)
    return ValueError(
        f"Received an invalid value for `{argument}` of {owner}, expected {expected}, "
        f"got {got}."
    )


def _check_flip(owner, flip):
    if (isinstance(flip, bool) or not isinstance(flip, (int, float, np.integer, np.floating))
            or not 0 <= flip <= 1):
        raise _invalid(owner, "flip", "a fraction between 0 and 1", flip)
    return float(flip)


def _flip_count(flip, size):
    """`round(flip * size)`, rounding halves up (Python's round rounds to even)."""
    return int(math.floor(flip * size + 0.5))


def _check_bipolar(owner, argument, patterns):
    arr = np.asarray(patterns)
    expected = "a non-empty 2-D array (num_patterns, size) of -1 and +1 values"
    if arr.ndim != 2 or 0 in arr.shape:
        raise _invalid(owner, argument, expected, f"an array of shape {arr.shape}", True)
    if not np.isin(arr, (-1, 1)).all():
        raise _invalid(owner, argument, expected, "values other than -1 and +1", True)
    return arr.astype(np.float32)


def random_patterns(num_patterns, size, seed=None):
    """Draws random bipolar patterns, each bit -1 or +1 with probability 1/2.

    Args:
        num_patterns: int, number of patterns P.
        size: int, number of units N.
        seed: int, sequence of ints or `numpy.random.Generator` (default None:
            fresh entropy).

    Returns:
        float32 array (num_patterns, size) of -1.0 and +1.0.

    Raises:
        ValueError: if `num_patterns` or `size` is not a positive integer.

    Example:
        >>> p = random_patterns(2, 4, seed=0)
        >>> p.shape, p.dtype.name, sorted(set(p.ravel().tolist()))
        ((2, 4), 'float32', [-1.0, 1.0])
    """
    num_patterns = catalog.check_positive("random_patterns", "num_patterns", num_patterns)
    size = catalog.check_positive("random_patterns", "size", size)
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(num_patterns, size)) - 1).astype(np.float32)


def _flip_rows(rows, count, rng):
    """Flips `count` distinct, uniformly chosen bits of every row (in place)."""
    if count:
        where = np.argsort(rng.random(rows.shape), axis=1)[:, :count]
        np.put_along_axis(rows, where, -np.take_along_axis(rows, where, axis=1), axis=1)
    return rows


def noisy_probes(patterns, flip, num_probes, seed=None):
    """Makes probes: stored patterns with a fixed fraction of their bits flipped.

    Each probe picks its pattern uniformly at random and flips exactly
    `round(flip * size)` distinct bits of it (halves round up), chosen uniformly.

    Args:
        patterns: array (num_patterns, size) of -1/+1, the stored patterns.
        flip: float in [0, 1], fraction of bits to flip.
        num_probes: int, number of probes.
        seed: int, sequence of ints or `numpy.random.Generator` (default None).

    Returns:
        `(probes, origin)`: float32 (num_probes, size) of -1/+1, and int32
        (num_probes,) the index of the pattern each probe was made from.

    Raises:
        ValueError: if `patterns` is not a 2-D -1/+1 array, `flip` is not in
            [0, 1] or `num_probes` is not a positive integer.

    Example:
        >>> p = random_patterns(3, 10, seed=0)
        >>> probes, origin = noisy_probes(p, flip=0.25, num_probes=2, seed=0)
        >>> (probes != p[origin]).sum(axis=1).tolist()   # round(2.5) = 3, halves up
        [3, 3]
    """
    owner = "noisy_probes"
    patterns = _check_bipolar(owner, "patterns", patterns)
    flip = _check_flip(owner, flip)
    num_probes = catalog.check_positive(owner, "num_probes", num_probes)
    rng = np.random.default_rng(seed)
    origin = rng.integers(0, patterns.shape[0], size=num_probes).astype(np.int32)
    probes = _flip_rows(patterns[origin].copy(), _flip_count(flip, patterns.shape[1]), rng)
    return probes, origin


def bam_probes(x_patterns, y_patterns, flip, num_probes, seed=None):
    """Makes noisy probes of either side of stored bipolar pairs (for a BAM).

    Each probe picks a pair uniformly at random and a side uniformly at random
    (0: x, 1: y); that side gets the stored vector with exactly
    `round(flip * size_of_that_side)` bits flipped, the other side is all zeros.

    Args:
        x_patterns: array (num_pairs, N) of -1/+1.
        y_patterns: array (num_pairs, M) of -1/+1, paired row by row with x.
        flip: float in [0, 1], fraction of bits to flip on the probed side.
        num_probes: int, number of probes.
        seed: int, sequence of ints or `numpy.random.Generator` (default None).

    Returns:
        A dict of NumPy arrays: "probe_x" float32 (num_probes, N), "probe_y"
        float32 (num_probes, M), "side" int32 (num_probes,), "pair_index" int32
        (num_probes,).

    Raises:
        ValueError: for non-bipolar or unpaired inputs, `flip` outside [0, 1] or a
            non-positive `num_probes`.

    Example:
        >>> x, y = random_patterns(4, 8, seed=0), random_patterns(4, 6, seed=1)
        >>> p = bam_probes(x, y, flip=0.25, num_probes=5, seed=2)
        >>> p["probe_x"].shape, p["probe_y"].shape, p["side"].shape
        ((5, 8), (5, 6), (5,))
        >>> bool(((p["side"] == 0) == (p["probe_y"] == 0).all(axis=1)).all())  # y unknown
        True
    """
    owner = "bam_probes"
    x_patterns = _check_bipolar(owner, "x_patterns", x_patterns)
    y_patterns = _check_bipolar(owner, "y_patterns", y_patterns)
    if x_patterns.shape[0] != y_patterns.shape[0]:
        raise _invalid(owner, "y_patterns",
                       f"as many rows as x_patterns ({x_patterns.shape[0]})",
                       f"{y_patterns.shape[0]} rows", True)
    flip = _check_flip(owner, flip)
    num_probes = catalog.check_positive(owner, "num_probes", num_probes)
    rng = np.random.default_rng(seed)
    pair_index = rng.integers(0, x_patterns.shape[0], size=num_probes).astype(np.int32)
    side = rng.integers(0, 2, size=num_probes).astype(np.int32)
    probe_x = np.where(side[:, None] == 0, x_patterns[pair_index], 0).astype(np.float32)
    probe_y = np.where(side[:, None] == 1, y_patterns[pair_index], 0).astype(np.float32)
    on_x, on_y = side == 0, side == 1
    probe_x[on_x] = _flip_rows(probe_x[on_x], _flip_count(flip, x_patterns.shape[1]), rng)
    probe_y[on_y] = _flip_rows(probe_y[on_y], _flip_count(flip, y_patterns.shape[1]), rng)
    return {"probe_x": probe_x, "probe_y": probe_y, "side": side, "pair_index": pair_index}


# --------------------------------------------------------------------------- catalog


def _check_split(name, split, sizes):
    if split not in sizes:
        raise ValueError(
            f"Unknown split {split!r} of dataset {name!r}; expected one of {list(sizes)}.")
    return sizes[split]


def _hopfield_checked(params):
    owner = "dataset 'hopfield_patterns'"
    p = {k: catalog.check_positive(owner, k, params[k])
         for k in ("num_units", "num_patterns", "num_probes")}
    p["flip"] = _check_flip(owner, params["flip"])
    return p


def _hopfield_splits(params):
    p = _hopfield_checked(params)
    return {"train": p["num_patterns"], "test": p["num_probes"]}


def _hopfield_features(params):
    n = _hopfield_checked(params)["num_units"]
    return {"probe": ((n,), "float32"), "pattern": ((n,), "float32"),
            "pattern_index": ((), "int32")}


def _hopfield_generate(split, params, seed):
    p = _hopfield_checked(params)
    _check_split("hopfield_patterns", split, _hopfield_splits(params))
    memories = random_patterns(p["num_patterns"], p["num_units"], seed=int(seed))
    if split == "train":
        probes, origin = memories, np.arange(p["num_patterns"], dtype=np.int32)
    else:
        probes, origin = noisy_probes(memories, p["flip"], p["num_probes"],
                                      seed=catalog.split_seed(seed, split))
    for probe, index in zip(probes, origin):
        yield {"probe": probe, "pattern": memories[index],
               "pattern_index": np.asarray(index, dtype=np.int32)}


def _hopfield_config(n, p):
    return {"num_units": n, "num_patterns": p, "flip": 0.1, "num_probes": 500}


#: Catalog entry "hopfield_patterns"; configs named n<N>_p<P> (load P/N).
HOPFIELD_SPEC = catalog.register_dataset(catalog.DatasetSpec(
    name="hopfield_patterns",
    description="Random +-1 patterns at a chosen load P/N with noisy probes for Hopfield "
                "networks.",
    citation="Hopfield (1982), PNAS 79(8):2554-2558; capacity of Hebbian storage: Amit, "
             "Gutfreund, Sompolinsky (1985), Phys. Rev. Lett. 55(14):1530-1533.",
    configs={f"n{n}_p{p}": _hopfield_config(n, p)
             for n, p in ((100, 5), (100, 10), (100, 14), (100, 30), (200, 10), (200, 60))},
    splits=_hopfield_splits,
    features=_hopfield_features,
    generate=_hopfield_generate,
    supervised_keys=("probe", "pattern"),
))


def _bam_checked(params):
    owner = "dataset 'bam_pairs'"
    p = {k: catalog.check_positive(owner, k, params[k])
         for k in ("num_units_x", "num_units_y", "num_pairs", "num_probes")}
    p["flip"] = _check_flip(owner, params["flip"])
    return p


def _bam_splits(params):
    p = _bam_checked(params)
    return {"train": p["num_pairs"], "test": p["num_probes"]}


def _bam_features(params):
    p = _bam_checked(params)
    n, m = p["num_units_x"], p["num_units_y"]
    return {"x": ((n,), "float32"), "y": ((m,), "float32"),
            "probe_x": ((n,), "float32"), "probe_y": ((m,), "float32"),
            "side": ((), "int32"), "pair_index": ((), "int32")}


def _bam_generate(split, params, seed):
    p = _bam_checked(params)
    _check_split("bam_pairs", split, _bam_splits(params))
    rng = np.random.default_rng(int(seed))
    xs = random_patterns(p["num_pairs"], p["num_units_x"], seed=rng)
    ys = random_patterns(p["num_pairs"], p["num_units_y"], seed=rng)
    if split == "train":
        count = p["num_pairs"]
        probes = {"probe_x": xs, "probe_y": ys, "side": np.full(count, -1, dtype=np.int32),
                  "pair_index": np.arange(count, dtype=np.int32)}
    else:
        probes = bam_probes(xs, ys, p["flip"], p["num_probes"],
                            seed=catalog.split_seed(seed, split))
    for k in range(len(probes["side"])):
        index = probes["pair_index"][k]
        yield {"x": xs[index], "y": ys[index],
               "probe_x": probes["probe_x"][k], "probe_y": probes["probe_y"][k],
               "side": np.asarray(probes["side"][k], dtype=np.int32),
               "pair_index": np.asarray(index, dtype=np.int32)}


def _bam_config(n, m, p):
    return {"num_units_x": n, "num_units_y": m, "num_pairs": p, "flip": 0.1,
            "num_probes": 500}


#: Catalog entry "bam_pairs"; configs named n<N>_m<M>_p<P>.
BAM_SPEC = catalog.register_dataset(catalog.DatasetSpec(
    name="bam_pairs",
    description="Random bipolar pattern pairs with noisy probes of either side for "
                "bidirectional associative memories.",
    citation="Kosko (1988), Bidirectional associative memories, IEEE Trans. Systems, Man, "
             "and Cybernetics 18(1):49-60.",
    configs={f"n{n}_m{m}_p{p}": _bam_config(n, m, p)
             for n, m, p in ((100, 50, 5), (64, 32, 4), (100, 50, 25))},
    splits=_bam_splits,
    features=_bam_features,
    generate=_bam_generate,
    supervised_keys=None,
))
