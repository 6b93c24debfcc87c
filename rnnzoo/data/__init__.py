"""Datasets for rnnzoo: synthetic benchmarks and offline real data, by name.

    import rnnzoo.data
    rnnzoo.data.list_datasets("*copy*")           # ['copy', 'repeat_copy']
    rnnzoo.data.describe("adding").configs         # named configs and their parameters
    arrays = rnnzoo.data.load_numpy("tomita", "train", config="t4")   # dict of arrays
    ds = rnnzoo.data.load("adding", "train", config="t100")           # tf.data.Dataset

Every dataset is a `catalog.DatasetSpec` registered by the module that defines
it. `load` prepares it once with a TFDS builder (cached under `data_dir`) and
returns a `tf.data.Dataset`; the same builders answer
`tfds.load("rnnzoo_<name>/<config>")` after `import rnnzoo.data.tfds_builders`.

Importing this package needs only NumPy: TensorFlow and TFDS are imported by
`load` and by `rnnzoo.data.tfds_builders`, so `rnnzoo list datasets` is fast.
"""

import numpy as np

from rnnzoo.data import ucr
from rnnzoo.data.catalog import DATASETS, DatasetSpec, register_dataset

# Every module that registers datasets, imported so that their specs exist as
# soon as `rnnzoo.data` is imported (each calls `register_dataset` at import).
from rnnzoo.data import (  # noqa: E402,F401
    algorithmic,
    anomalies,
    anomaly_series,
    digits,
    dynamics,
    languages,
    patterns,
    series,
    surprises,
    text,
    translation,
    trees,
)

__all__ = ["DATASETS", "DatasetSpec", "describe", "list_datasets", "load", "load_numpy",
           "register_dataset"]


# --------------------------------------------------------------------------- UCR / UEA

# Shapes and split sizes of the known archives (from the .ts headers), so that a
# spec answers without reading a file. `None` marks JapaneseVowels' unequal lengths.
_UCR_SHAPES = {
    "GunPoint": ((150, 1), 50, 150),
    "ItalyPowerDemand": ((24, 1), 67, 1029),
    "ArrowHead": ((251, 1), 36, 175),
    "OSULeaf": ((427, 1), 200, 242),
    "BasicMotions": ((100, 6), 40, 40),
    "JapaneseVowels": ((None, 12), 270, 370),
    "UnitTest": ((24, 1), 20, 22),
}


def _ucr_dataset(params):
    name = params["dataset"]
    if name not in _UCR_SHAPES:
        raise ValueError(f"Received an invalid value for `dataset` of dataset 'ucr', expected "
                         f"one of {sorted(_UCR_SHAPES)}, got {name!r}.")
    return _UCR_SHAPES[name]


def _ucr_features(params):
    shape, _, _ = _ucr_dataset(params)
    return {"series": (shape, "float32"), "label": ((), "int32")}


def _ucr_splits(params):
    _, train, test = _ucr_dataset(params)
    return {"train": train, "test": test}


def _ucr_generate(split, params, seed):
    # The archive fixes both splits and their order; `seed` has nothing to draw.
    _ucr_dataset(params)
    data = ucr.load_ucr(params["dataset"], split)
    for k in range(len(data)):
        yield {"series": data.x[k, : data.lengths[k]], "label": np.int32(data.y[k])}


UCR = register_dataset(DatasetSpec(
    name="ucr",
    description="UCR/UEA time-series classification archives (GunPoint, JapaneseVowels, ...).",
    citation=(
        "H. A. Dau et al. The UCR time series archive. IEEE/CAA J. Autom. Sinica 6(6), 2019; "
        "A. Bagnall et al. The UEA multivariate time series classification archive, 2018. "
        "arXiv:1811.00075."
    ),
    configs={name.lower(): {"dataset": name} for name in ucr.UCR_DATASETS
             if name in _UCR_SHAPES},
    splits=_ucr_splits,
    features=_ucr_features,
    generate=_ucr_generate,
    supervised_keys=("series", "label"),
))


# --------------------------------------------------------------------------- public API

def list_datasets(pattern="*"):
    """Registered dataset names matching an fnmatch `pattern`, in natural order."""
    return DATASETS.names(pattern)


def describe(name):
    """The `DatasetSpec` registered under `name` (ValueError with suggestions if unknown)."""
    return DATASETS.get(name)


def _resolve(name, split, config, overrides):
    """(spec, params, size): everything checked before any example is made."""
    spec = describe(name)
    params = spec.params(config, **overrides)
    size = spec.check_split(split, params)
    return spec, params, size


def check_example(spec, features, example):
    """Raises ValueError unless `example` matches the declared `features`."""
    if set(example) != set(features):
        raise ValueError(f"Dataset {spec.name!r} yielded features {sorted(example)}, "
                         f"expected {sorted(features)}.")
    for key, (shape, dtype) in features.items():
        value = np.asarray(example[key])
        if value.ndim != len(shape) or any(
                want is not None and got != want for got, want in zip(value.shape, shape)):
            raise ValueError(f"Dataset {spec.name!r} yielded {key!r} of shape "
                             f"{value.shape}, expected {tuple(shape)}.")
        if dtype not in ("string", "str") and value.dtype != np.dtype(dtype):
            raise ValueError(f"Dataset {spec.name!r} yielded {key!r} of dtype "
                             f"{value.dtype}, expected {dtype}.")


def check_count(spec, split, count, size):
    """Raises ValueError when a split's generator disagrees with its declared size."""
    if count != size:
        raise ValueError(f"Dataset {spec.name!r} generated {count} examples for split "
                         f"{split!r}, but its spec declares {size}.")


def _stack(values, shape, dtype):
    """Stacks one feature; variable axes are zero-padded to the longest example."""
    arrays = [np.asarray(v) for v in values]
    if not arrays:
        return np.zeros((0,) + tuple(0 if d is None else d for d in shape), dtype=dtype), None
    if None not in shape:
        return np.stack(arrays), None
    full = tuple(max(a.shape[axis] for a in arrays) for axis in range(len(shape)))
    out = np.zeros((len(arrays),) + full, dtype=arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[(k,) + tuple(slice(0, n) for n in a.shape)] = a
    axis = shape.index(None)  # the length reported is that of the first variable axis
    return out, np.array([a.shape[axis] for a in arrays], dtype=np.int32)


def load_numpy(name, split, config=None, seed=0, **overrides):
    """One split as NumPy arrays, straight from the generator (for small splits).

    Args:
        name: a registered dataset name (see `list_datasets()`).
        split: e.g. "train", "validation", "test" (the spec lists its splits).
        config: a named config (default: the spec's first config).
        seed: int, default 0; the split's examples are a function of it.
        **overrides: parameters replacing those of the config, e.g. `length=50`.

    Returns:
        dict of arrays with a leading example axis. A feature of variable length
        is zero-padded to the longest example and comes with an int32
        `<feature>_length` array.

    Raises:
        ValueError: unknown dataset, config, parameter or split, or a bad value.

    Example:
        >>> data = load_numpy("copy", "train", num_train=3, max_length=5)
        >>> tuple(data["inputs"].shape[::2]), tuple(data["inputs_length"].shape)
        ((3, 9), (3,))
    """
    spec, params, size = _resolve(name, split, config, overrides)
    features = spec.features(params)
    columns = {key: [] for key in features}
    for example in spec.generate(split, params, seed):
        check_example(spec, features, example)
        for key in features:
            columns[key].append(example[key])
    check_count(spec, split, len(columns[next(iter(features))]), size)
    out = {}
    for key, (shape, dtype) in features.items():
        dtype = object if dtype in ("string", "str") else np.dtype(dtype)
        out[key], lengths = _stack(columns.pop(key), tuple(shape), dtype)
        if lengths is not None:
            out[f"{key}_length"] = lengths
    return out


def load(name, split, config=None, seed=0, data_dir=None, as_supervised=False, **overrides):
    """One split as a `tf.data.Dataset`, prepared once by a TFDS builder.

    The first call writes the split under `data_dir` (TFRecords, generated
    example by example); later calls read it back. Named configs with seed 0
    are the TFDS configs `rnnzoo_<name>/<config>`; other seeds or overrides get
    a config named after the config and a hash of the parameters, so each
    parameter set is prepared once.

    Args:
        name, split, config, seed, **overrides: as in `load_numpy`.
        data_dir: TFDS data folder (default `$RNNZOO_HOME/tfds`, else
            `~/.rnnzoo/tfds`).
        as_supervised: bool, default False; yield `(input, target)` tuples
            using the spec's `supervised_keys`.

    Returns:
        A `tf.data.Dataset` of dicts (or tuples) of unbatched examples, in
        generation order.

    Raises:
        ValueError: as `load_numpy`, or `as_supervised=True` for a dataset
            without supervised keys.

    Example:
        ```python
        ds = load("adding", "train", config="t100", as_supervised=True)
        ds = ds.padded_batch(32)   # inputs (32, None, 2), target (32,)
        ```
    """
    spec, _, _ = _resolve(name, split, config, overrides)
    if as_supervised and not spec.supervised_keys:
        raise ValueError(f"Dataset {name!r} has no supervised keys; use as_supervised=False.")
    from rnnzoo.data import tfds_builders

    builder = tfds_builders.make_builder(name, config=config, seed=seed, data_dir=data_dir,
                                         **overrides)
    tfds_builders.prepare(builder)
    return builder.as_dataset(split=split, as_supervised=as_supervised, shuffle_files=False)
