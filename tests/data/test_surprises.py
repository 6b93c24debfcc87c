"""Tests of rnnzoo.data.surprises ("surprises"); offline, NumPy only."""

import numpy as np
import pytest

from rnnzoo.data import describe, list_datasets, load_numpy
from rnnzoo.data.surprises import SURPRISES, surprise_sequence


def _split(split, config="t20", seed=0, **overrides):
    examples = list(SURPRISES.generate(split, SURPRISES.params(config, **overrides), seed))
    return {key: np.stack([ex[key] for ex in examples]) for key in examples[0]}


def test_registered_with_both_configs():
    assert "surprises" in list_datasets()
    assert set(describe("surprises").configs) == {"t100", "t20"}


def test_chain_is_predictable_except_at_marked_surprises():
    data = _split("train")
    tokens, surprise, label = data["inputs"], data["surprise"], data["label"]
    assert tokens.shape == (1000, 20) and tokens.dtype == np.int32
    np.testing.assert_array_equal(tokens[:, 0], 8 + label)  # the marker carries the label
    assert set(np.unique(label)) == {0, 1}
    assert surprise[:, :2].all()  # marker and chain start cannot be foreseen
    successor = (tokens[:, 1:-1] + 1) % 8
    replaced = tokens[:, 2:] != successor
    np.testing.assert_array_equal(replaced, surprise[:, 2:] == 1)
    assert ((0 <= tokens[:, 1:]) & (tokens[:, 1:] < 8)).all()
    np.testing.assert_array_equal(data["num_surprises"], surprise.sum(1))
    rate = surprise[:, 2:].mean()
    assert 0.03 < rate < 0.07  # surprise_rate 0.05 in config t20


def test_splits_differ_and_seeds_reproduce():
    a, b = _split("train", seed=3), _split("train", seed=3)
    np.testing.assert_array_equal(a["inputs"], b["inputs"])
    assert not np.array_equal(a["inputs"][:500], _split("test", seed=3)["inputs"])
    assert not np.array_equal(a["inputs"], _split("train", seed=4)["inputs"])


def test_zero_rate_means_only_two_surprises():
    tokens, label, surprise = surprise_sequence(np.random.default_rng(1), 30, 5, 0.0)
    assert surprise.tolist() == [1, 1] + [0] * 28
    assert tokens[0] == 5 + label


def test_load_numpy_reads_it():
    arrays = load_numpy("surprises", "test", config="t20")
    assert arrays["inputs"].shape == (500, 20)


@pytest.mark.parametrize("key, value", [("length", 2), ("symbols", 1), ("surprise_rate", 1.5),
                                        ("num_test", 0)])
def test_bad_parameters_raise(key, value):
    with pytest.raises(ValueError, match=key):
        list(SURPRISES.generate("test", SURPRISES.params("t20", **{key: value}), 0))
