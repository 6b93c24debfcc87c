"""Registry-wide checks of the dataset catalog: every registered spec is tested here.

A dataset registered by any module of `rnnzoo.data` is picked up by the
parametrized tests below without anyone writing a new test for it.
"""

import subprocess
import sys

import numpy as np
import pytest

import rnnzoo.data
from rnnzoo import registry
from rnnzoo.data import DATASETS, catalog, describe, list_datasets, load_numpy

NAMES = list_datasets()


def test_list_datasets_covers_the_registry_in_natural_order():
    assert NAMES == DATASETS.names() and len(NAMES) == len(DATASETS)
    assert NAMES == sorted(NAMES, key=registry.natural_key)
    # The datasets written in this package's own modules are all there.
    assert {"adding", "copy", "repeat_copy", "associative_recall", "tomita", "anbn",
            "anbncn", "dyck", "ucr"} <= set(NAMES)
    assert list_datasets("*copy") == ["copy", "repeat_copy"]
    assert list_datasets("no_such*") == []
    with pytest.raises(ValueError, match="pattern"):
        list_datasets(3)


def test_describe_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Unknown dataset 'tomitta'.*Did you mean 'tomita'"):
        describe("tomitta")


def test_every_data_module_is_imported_and_registers():
    import pathlib

    folder = pathlib.Path(rnnzoo.data.__file__).parent
    helpers = {"__init__", "catalog", "tfds_builders", "tree_encoding", "ucr"}
    for path in folder.glob("*.py"):
        if path.stem not in helpers:
            module = sys.modules.get(f"rnnzoo.data.{path.stem}")
            assert module is not None, f"rnnzoo.data does not import {path.stem}"
            assert any(spec.generate.__module__ == module.__name__
                       for spec in (describe(n) for n in list_datasets())), path.stem


def test_importing_the_package_does_not_import_tensorflow():
    code = (
        "import sys, rnnzoo.data\n"
        "assert rnnzoo.data.list_datasets()\n"
        "bad = [m for m in ('tensorflow', 'tensorflow_datasets', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_documented(name):
    spec = describe(name)
    assert spec.name == name
    assert spec.description.strip() and "\n" not in spec.description
    assert len(spec.citation.strip()) > 10
    assert spec.configs, "a spec needs at least one named config"
    for config in spec.configs:
        registry.check_name(config)
    keys = spec.supervised_keys
    features = spec.features(spec.params())
    if keys is not None:
        assert len(keys) == 2 and set(keys) <= set(features)


@pytest.mark.parametrize("name", NAMES)
def test_default_config_generates_the_declared_features(name):
    spec = describe(name)
    params = spec.params()
    sizes = spec.splits(params)
    assert sizes and all(isinstance(n, int) and n > 0 for n in sizes.values()), sizes
    features = spec.features(params)
    split = next(iter(sizes))
    example = next(iter(spec.generate(split, params, 0)))
    assert set(example) == set(features)
    for key, (shape, dtype) in features.items():
        value = np.asarray(example[key])
        assert value.ndim == len(shape), (key, value.shape, shape)
        for got, want in zip(value.shape, shape):
            assert want is None or got == want, (key, value.shape, shape)
        if dtype not in ("string", "str"):
            assert value.dtype == np.dtype(dtype), (key, value.dtype, dtype)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_config_split_and_parameter_list_the_choices(name):
    spec = describe(name)
    with pytest.raises(ValueError, match="expected one of") as info:
        spec.params("no_such_config")
    assert spec.default_config in str(info.value)
    splits = list(spec.splits(spec.params()))
    with pytest.raises(ValueError, match="Unknown split 'no_such_split'") as info:
        load_numpy(name, "no_such_split")
    assert all(split in str(info.value) for split in splits)
    with pytest.raises(ValueError, match="Unknown parameter"):
        load_numpy(name, splits[0], no_such_parameter=1)


def test_load_numpy_pads_variable_lengths_and_reports_them():
    data = load_numpy("copy", "train", num_train=6, min_length=1, max_length=5)
    lengths = data["inputs_length"]
    assert lengths.dtype == np.int32 and lengths.shape == (6,)
    assert data["inputs"].shape == (6, lengths.max(), 9)
    assert np.array_equal(lengths, data["targets_length"])
    for k, steps in enumerate(lengths):
        assert not data["inputs"][k, steps:].any() and not data["mask"][k, steps:].any()
        assert data["inputs"][k, (steps - 1) // 2, 8] == 1.0  # the delimiter step
    fixed = load_numpy("adding", "test", config="indrnn_t100", num_test=3, length=8)
    assert set(fixed) == {"inputs", "target"} and fixed["inputs"].shape == (3, 8, 2)


def test_load_numpy_is_deterministic_per_seed():
    a = load_numpy("dyck", "train", config="dyck2", num_train=20)
    b = load_numpy("dyck", "train", config="dyck2", num_train=20)
    c = load_numpy("dyck", "train", config="dyck2", num_train=20, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(a[k].shape != c[k].shape or not np.array_equal(a[k], c[k]) for k in a)


def test_check_example_rejects_a_generator_that_breaks_its_declaration():
    spec = describe("adding")
    features = spec.features(spec.params("indrnn_t100"))
    good = {"inputs": np.zeros((100, 2), np.float32), "target": np.float32(0)}
    rnnzoo.data.check_example(spec, features, good)
    with pytest.raises(ValueError, match="shape"):
        rnnzoo.data.check_example(spec, features, {**good, "inputs": np.zeros((99, 2),
                                                                               np.float32)})
    with pytest.raises(ValueError, match="dtype"):
        rnnzoo.data.check_example(spec, features, {**good, "target": np.float64(0)})
    with pytest.raises(ValueError, match="features"):
        rnnzoo.data.check_example(spec, features, {"inputs": good["inputs"]})
    with pytest.raises(ValueError, match="generated 2 examples .* declares 3"):
        rnnzoo.data.check_count(spec, "train", 2, 3)


def test_split_seeds_differ_per_split_and_seed():
    seeds = {catalog.split_seed(s, split) for s in (0, 1) for split in
             ("train", "validation", "test", "extra")}
    assert len(seeds) == 8


def test_ucr_spec_matches_the_archive_files():
    from rnnzoo.data.ucr import UCR_DATASETS, load_ucr

    spec = describe("ucr")
    assert set(spec.configs) == {name.lower() for name in UCR_DATASETS}
    data = load_numpy("ucr", "train", config="italypowerdemand")
    reference = load_ucr("ItalyPowerDemand", "train")
    assert data["series"].shape == (67, 24, 1) and data["label"].dtype == np.int32
    assert np.array_equal(data["series"], reference.x)
    assert np.array_equal(data["label"], reference.y)
    assert spec.splits(spec.params("italypowerdemand")) == {"train": 67, "test": 1029}
