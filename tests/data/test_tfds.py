"""TFDS builders: `tfds.load("rnnzoo_<name>/<config>")` and `rnnzoo.data.load` agree."""

import numpy as np
import pytest
import tensorflow_datasets as tfds  # a dependency (setup.cfg): a missing install must fail

import rnnzoo.data
from rnnzoo.data import describe, list_datasets, load, load_numpy, tfds_builders


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tfds"))


def _rows(dataset):
    return list(tfds.as_numpy(dataset))


def test_tfds_load_and_rnnzoo_load_give_the_same_examples(data_dir):
    # TFDS's own testing knob keeps the first examples of each split, so the
    # named config is prepared in well under a second instead of 13,560 examples.
    quick = {"download_config": tfds.download.DownloadConfig(max_examples_per_split=64)}
    by_tfds = _rows(tfds.load("rnnzoo_adding/t100", split="test", data_dir=data_dir,
                              download_and_prepare_kwargs=quick))
    by_zoo = _rows(load("adding", "test", config="t100", data_dir=data_dir))
    reference = load_numpy("adding", "test", config="t100")
    assert len(by_tfds) == len(by_zoo) == 64
    for k, (a, b) in enumerate(zip(by_tfds, by_zoo)):
        steps = reference["inputs_length"][k]
        assert a["inputs"].shape == (steps, 2) and a["inputs"].dtype == np.float32
        assert np.array_equal(a["inputs"], b["inputs"])
        assert np.array_equal(a["inputs"], reference["inputs"][k, :steps])
        assert a["target"] == b["target"] == reference["target"][k]


def test_builders_are_registered_with_their_configs():
    registered = set(tfds.core.registered.list_imported_builders())
    for name in list_datasets():
        cls = tfds_builders.builder_class(name)
        assert cls.name == f"rnnzoo_{name}" and cls.name in registered
        assert list(cls.builder_configs) == list(describe(name).configs)


@pytest.mark.parametrize("name", list_datasets())
def test_every_spec_maps_to_tfds_features(name, tmp_path):
    spec = describe(name)
    builder = tfds_builders.make_builder(name, data_dir=str(tmp_path))
    features = builder.info.features
    declared = spec.features(spec.params())
    assert set(features) == set(declared)
    for key, (shape, _) in declared.items():
        assert tuple(features[key].shape) == tuple(shape)
    assert builder.info.disable_shuffling and builder.info.citation == spec.citation


def test_builder_description_lists_features_and_splits(data_dir):
    builder = tfds.builder("rnnzoo_copy/ntm", data_dir=data_dir)
    text = builder.info.description
    assert "inputs: shape (None, 9), float32" in text and "mask: shape (None,)" in text
    assert "train 10000" in text and "test 1000" in text
    assert builder.info.citation.startswith("A. Graves")
    assert builder.info.supervised_keys == ("inputs", "targets")


def test_overrides_and_seeds_get_their_own_cached_config(data_dir):
    small = dict(config="indrnn_t100", length=6, num_train=4, num_validation=2, num_test=3)
    first = load("adding", "train", data_dir=data_dir, **small)
    again = tfds_builders.make_builder("adding", data_dir=data_dir, **small)
    assert again.builder_config.name.startswith("indrnn_t100_")
    assert again.is_prepared()  # prepared once, found again by its parameters
    other = load("adding", "train", data_dir=data_dir, seed=5, **small)
    a, b = _rows(first), _rows(other)
    assert len(a) == len(b) == 4 and a[0]["inputs"].shape == (6, 2)
    assert not np.array_equal(a[0]["inputs"], b[0]["inputs"])
    reference = load_numpy("adding", "train", seed=5, **small)
    assert np.array_equal(np.stack([row["inputs"] for row in b]), reference["inputs"])
    names = {tfds_builders.make_builder("adding", data_dir=data_dir, seed=s, **small)
             .builder_config.name for s in (0, 5)}
    assert len(names) == 2
    # A named config at seed 0 is the class's own config, not a hashed one.
    named = tfds_builders.make_builder("adding", config="t500", data_dir=data_dir)
    assert named.builder_config.name == "t500"


def test_supervised_variable_length_and_ucr(data_dir):
    pairs = _rows(load("tomita", "test", config="t4", data_dir=data_dir, as_supervised=True,
                       max_length=3, test_max_length=5, test_per_class=4))
    reference = load_numpy("tomita", "test", config="t4", max_length=3, test_max_length=5,
                           test_per_class=4)
    assert len(pairs) == len(reference["label"]) == 15  # 4 + 4 per length, 3 rejected at 4
    for (x, y), n, want in zip(pairs, reference["inputs_length"], reference["label"]):
        assert x.shape == (n, 2) and y == want
    gunpoint = _rows(load("ucr", "train", config="gunpoint", data_dir=data_dir))
    assert len(gunpoint) == 50 and gunpoint[0]["series"].shape == (150, 1)
    from rnnzoo.data.ucr import load_ucr

    assert np.array_equal(np.stack([r["label"] for r in gunpoint]),
                          load_ucr("GunPoint", "train").y)


def test_bad_arguments_fail_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown split 'dev'.*'train', 'validation', 'test'"):
        load("adding", "dev", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="positive integer, got -1"):
        load("copy", "train", data_dir=str(tmp_path), max_length=-1)
    with pytest.raises(ValueError, match="Unknown dataset"):
        load("addding", "train", data_dir=str(tmp_path))
    assert not any(tmp_path.iterdir())


def test_default_data_dir_follows_rnnzoo_home(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNZOO_HOME", str(tmp_path))
    assert tfds_builders.default_data_dir() == str(tmp_path / "tfds")
    monkeypatch.delenv("RNNZOO_HOME")
    assert tfds_builders.default_data_dir().endswith(".rnnzoo/tfds")
    assert rnnzoo.data.load.__module__ == "rnnzoo.data"


@pytest.mark.slow
@pytest.mark.parametrize("name", list_datasets())
def test_every_dataset_loads_through_tfds_load(name, tmp_path):
    """`tfds.load("rnnzoo_<name>")` prepares every split offline and yields the
    generator's own first examples (3 per split keeps the sweep quick)."""
    spec = describe(name)
    params = spec.params()
    quick = {"download_config": tfds.download.DownloadConfig(max_examples_per_split=3,
                                                              try_download_gcs=False)}
    for split in spec.splits(params):
        rows = _rows(tfds.load(f"rnnzoo_{name}/{spec.default_config}", split=split,
                               data_dir=str(tmp_path), download_and_prepare_kwargs=quick))
        expected = [example for _, example in zip(range(3), spec.generate(split, params, 0))]
        assert len(rows) == len(expected) > 0, split
        for row, example in zip(rows, expected):
            for key, value in example.items():
                got, want = row[key], np.asarray(value)
                if want.dtype.kind in "USO":  # TFDS returns text as bytes
                    got = np.asarray(got).astype(str)
                    want = want.astype(str)
                np.testing.assert_array_equal(got, want, err_msg=f"{name}/{split}/{key}")
