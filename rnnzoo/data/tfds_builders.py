"""TFDS builders for the rnnzoo dataset catalog.

Importing this module defines one `tfds.core.GeneratorBasedBuilder` subclass per
registered `DatasetSpec`, named `rnnzoo_<name>`, whose BuilderConfigs are the
spec's named configs (seed 0). After the import, TFDS finds them by name:

    import tensorflow_datasets as tfds
    import rnnzoo.data.tfds_builders  # noqa: F401  (registers rnnzoo_* with TFDS)

    ds = tfds.load("rnnzoo_adding/t100", split="test", data_dir="/tmp/tfds")
    ds = tfds.load("rnnzoo_tomita/t3", split="train", data_dir="/tmp/tfds")

`rnnzoo.data.load` uses the same builders and adds seeds and parameter
overrides (a config made on the fly, named `<config>_<hash>`). Examples are
written in generation order (`disable_shuffling`), each split streamed from the
spec's generator, so `tfds.load` and `rnnzoo.data.load` give the same examples
in the same order. Every builder's description lists its features, shapes,
dtypes and split sizes.

This is the only rnnzoo.data module that imports TensorFlow Datasets.
"""

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds

from rnnzoo.data import DATASETS, check_count, check_example, describe

BUILDER_PREFIX = "rnnzoo_"


def default_data_dir():
    """`$RNNZOO_HOME/tfds` when RNNZOO_HOME is set, else `~/.rnnzoo/tfds`."""
    home = os.environ.get("RNNZOO_HOME")
    return str(Path(home) / "tfds" if home else Path.home() / ".rnnzoo" / "tfds")


@dataclasses.dataclass(eq=False)
class ZooConfig(tfds.core.BuilderConfig):
    """A BuilderConfig carrying the generator's parameters and seed."""

    params: dict = dataclasses.field(default_factory=dict)
    seed: int = 0

    def __repr__(self):  # TFDS logs custom configs; the full description is noise there
        return f"ZooConfig(name={self.name!r}, params={self.params!r}, seed={self.seed})"


def _tfds_feature(shape, dtype):
    shape = tuple(shape)
    if dtype in ("string", "str"):
        return tfds.features.Tensor(shape=shape, dtype=np.object_)
    # TFDS stores one unknown axis as is; several need a serialized encoding.
    encoding = (tfds.features.Encoding.ZLIB if shape.count(None) > 1
                else tfds.features.Encoding.NONE)
    return tfds.features.Tensor(shape=shape, dtype=np.dtype(dtype), encoding=encoding)


def _describe_config(spec, params, seed):
    features = spec.features(params)
    sizes = spec.splits(params)
    lines = [spec.description, "", "Features (per example; None = variable length):"]
    lines += [f"  {key}: shape {tuple(shape)}, {dtype}" for key, (shape, dtype) in
              features.items()]
    lines.append("Splits: " + ", ".join(f"{split} {size}" for split, size in sizes.items()))
    lines.append("Parameters: " + ", ".join(f"{k}={v!r}" for k, v in params.items())
                 + f"; seed {seed}.")
    return "\n".join(lines)


class ZooBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of the generated builders: everything comes from `self.spec`."""

    spec = None

    def _info(self):
        config = self.builder_config
        features = self.spec.features(config.params)
        return tfds.core.DatasetInfo(
            builder=self,
            description=_describe_config(self.spec, config.params, config.seed),
            features=tfds.features.FeaturesDict(
                {key: _tfds_feature(shape, dtype) for key, (shape, dtype) in features.items()}
            ),
            supervised_keys=self.spec.supervised_keys,
            citation=self.spec.citation,
            # The generators already randomise; keeping their order makes TFDS
            # output identical to `load_numpy` and independent of key hashing.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # everything is generated locally
        sizes = self.spec.splits(self.builder_config.params)
        return {split: self._generate_examples(split) for split in sizes}

    def _generate_examples(self, split):
        config = self.builder_config
        features = self.spec.features(config.params)
        count = 0
        for count, example in enumerate(self.spec.generate(split, config.params, config.seed),
                                        start=1):
            check_example(self.spec, features, example)
            yield count - 1, example
        check_count(self.spec, split, count, self.spec.splits(config.params)[split])


_BUILDERS = {}


def _class_name(name):
    return "Rnnzoo" + "".join(part.capitalize() for part in name.split("_"))


def builder_class(name):
    """The TFDS builder class of a registered dataset (created on first use)."""
    spec = describe(name)
    if spec.name not in _BUILDERS:
        version = tfds.core.Version(spec.version)
        _BUILDERS[spec.name] = type(_class_name(spec.name), (ZooBuilder,), {
            "__module__": __name__,
            "__doc__": f"TFDS builder for rnnzoo dataset {spec.name!r}: {spec.description}",
            "name": BUILDER_PREFIX + spec.name,
            "spec": spec,
            "VERSION": version,
            "RELEASE_NOTES": {str(version): "As generated by rnnzoo."},
            "BUILDER_CONFIGS": [
                ZooConfig(name=config, description=_describe_config(spec, params, 0),
                          params=dict(params), seed=0)
                for config, params in spec.configs.items()
            ],
        })
    return _BUILDERS[spec.name]


def _digest(config, params, seed):
    def plain(value):  # NumPy scalars hash like the Python numbers they equal
        return value.item() if isinstance(value, np.generic) else str(value)

    text = json.dumps({"config": config, "params": params, "seed": int(seed)},
                      sort_keys=True, default=plain)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def make_builder(name, config=None, seed=0, data_dir=None, **overrides):
    """A builder instance for a dataset, config, seed and parameter overrides.

    A named config with seed 0 and no effective override is the class's own
    BuilderConfig (the one `tfds.load("rnnzoo_<name>/<config>")` uses); any
    other combination gets a config named `<config>_<hash of params and seed>`.
    """
    spec = describe(name)
    params = spec.params(config, **overrides)
    config = spec.default_config if config is None else config
    seed = int(seed)
    if seed == 0 and params == dict(spec.configs[config]):
        chosen = config
    else:
        chosen = ZooConfig(name=f"{config}_{_digest(config, params, seed)}",
                           description=_describe_config(spec, params, seed),
                           params=params, seed=seed)
    cls = builder_class(spec.name)
    return cls(config=chosen, data_dir=data_dir or default_data_dir())


def prepare(builder):
    """Generates and writes the builder's splits unless already on disk (offline)."""
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder


for _name in DATASETS.names():
    builder_class(_name)
del _name
