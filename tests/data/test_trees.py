"""Tests of rnnzoo.data.trees ("arithmetic_trees", "boolean_trees"); offline, NumPy only."""

import numpy as np
import pytest

from rnnzoo.data import trees
from rnnzoo.data.trees import (ARITHMETIC_SPEC, BOOLEAN_SPEC, PAD_ID, VOCABULARY, decode_tree,
                               flatten, random_expression, to_bracketed, to_infix)

SPECS = {"arithmetic": ARITHMETIC_SPEC, "boolean": BOOLEAN_SPEC}
# symbols of the flattened sequence, spelled for Python's eval
PYTHON_WORDS = {"T": "True", "F": "False", "xor": "^"}


def _python_value(tree):
    value = eval(to_infix(tree))  # noqa: S307 - our own generated arithmetic/boolean text
    return value % 10 if isinstance(value, int) and not isinstance(value, bool) else int(value)


def _examples(grammar, split, config="d4", seed=0, **overrides):
    spec = SPECS[grammar]
    sizes = {"num_train": 150, "num_validation": 20, "num_test": 150}
    return list(spec.generate(split, spec.params(config, **{**sizes, **overrides}), seed))


def _check_topological_tree(tokens, left, right, mask, root, count):
    assert mask[:count].all() and not mask[count:].any()
    assert root == count - 1
    children = []
    for i in range(count):
        symbol = VOCABULARY[tokens[i]]
        kids = [k for k in (left[i], right[i]) if k != -1]
        assert all(0 <= k < i for k in kids), (i, kids)  # children before parents
        assert len(kids) == trees.ARITY.get(symbol, 0), (i, symbol, kids)
        if trees.ARITY.get(symbol) == 1:
            assert right[i] == -1 and left[i] != -1
        children += kids
    # every node except the root is the child of exactly one parent
    assert sorted(children) == [i for i in range(count) if i != root]


@pytest.mark.parametrize("grammar", ["arithmetic", "boolean"])
def test_dataset_encoding_is_topological_and_padded_consistently(grammar):
    spec = SPECS[grammar]
    features = spec.features(spec.params("d3"))
    width = features["tokens"][0][0]
    for ex in _examples(grammar, "test", config="d3", num_test=80):
        assert set(ex) == set(features)
        for key, (shape, dtype) in features.items():
            assert ex[key].shape == shape and ex[key].dtype == np.dtype(dtype), key
        count = int(ex["num_nodes"])
        _check_topological_tree(ex["tokens"], ex["left"], ex["right"], ex["node_mask"],
                                int(ex["root"]), count)
        assert 1 <= count <= width
        assert (ex["tokens"][count:] == PAD_ID).all() and (ex["tokens"][:count] != PAD_ID).all()
        assert (ex["left"][count:] == -1).all() and (ex["right"][count:] == -1).all()
        assert not ex["node_values"][count:].any()
        length = int(ex["sequence_length"])
        assert (ex["sequence"][length:] == PAD_ID).all()
        assert (ex["sequence"][:length] != PAD_ID).all()


@pytest.mark.parametrize("grammar", ["arithmetic", "boolean"])
def test_dataset_values_sequences_and_node_values_agree_with_python(grammar):
    for ex in _examples(grammar, "train", num_train=60):
        tree = decode_tree(ex)
        assert trees.depth(tree) == ex["depth"] and trees.num_nodes(tree) == ex["num_nodes"]
        assert ex["value"] == _python_value(tree)
        # the flattened sequence, read back as text, evaluates to the same value
        words = [VOCABULARY[i] for i in ex["sequence"][:ex["sequence_length"]]]
        assert words == flatten(tree)
        text = " ".join(PYTHON_WORDS.get(w, w) for w in words)
        python = eval(text)  # noqa: S307
        assert (python % 10 if grammar == "arithmetic" else int(python)) == ex["value"]
        # every node's value is its own subtree's value
        for i in range(int(ex["num_nodes"])):
            subtree = decode_tree({**ex, "root": np.int32(i)})
            assert ex["node_values"][i] == _python_value(subtree), (i, to_bracketed(subtree))


@pytest.mark.parametrize("grammar", ["arithmetic", "boolean"])
@pytest.mark.parametrize("config", ["d3", "d4"])
def test_depths_cover_the_documented_ranges(grammar, config):
    train_depth = {"d3": 3, "d4": 4}[config]
    params = SPECS[grammar].params(config)
    assert (params["min_depth"], params["max_depth"]) == (1, train_depth)
    assert (params["test_min_depth"], params["test_max_depth"]) == (train_depth + 1,
                                                                      2 * train_depth)
    for split, low, high in (("train", 1, train_depth), ("validation", 1, train_depth),
                             ("test", train_depth + 1, 2 * train_depth)):
        examples = _examples(grammar, split, config=config, num_validation=150)
        depths = np.array([ex["depth"] for ex in examples])
        assert set(depths.tolist()) == set(range(low, high + 1)), (split, np.bincount(depths))
        # drawn uniformly: no depth is starved
        assert np.bincount(depths)[low:].min() >= len(depths) / (high - low + 1) / 2
        assert all(trees.depth(decode_tree(ex)) == ex["depth"] for ex in examples)


def test_random_expression_has_exact_depth_within_the_node_budget():
    for d in range(0, 9):
        for grammar, smallest in (("arithmetic", 2 * d + 1), ("boolean", d + 1)):
            for seed in range(5):
                tree = random_expression(d, grammar, seed=seed, max_nodes=smallest + seed)
                assert trees.depth(tree) == d
                assert trees.num_nodes(tree) <= smallest + seed
            tight = random_expression(d, grammar, seed=0, max_nodes=smallest)
            assert trees.num_nodes(tight) == smallest
    big = [trees.num_nodes(random_expression(8, seed=s)) for s in range(30)]
    assert max(big) > 40  # without a budget the trees are not all minimal


def test_generation_is_deterministic_and_splits_and_seeds_differ():
    def texts(examples):
        return [to_bracketed(decode_tree(ex)) for ex in examples]

    a = texts(_examples("arithmetic", "train", seed=4, num_train=30))
    assert a == texts(_examples("arithmetic", "train", seed=4, num_train=30))
    assert a != texts(_examples("arithmetic", "train", seed=5, num_train=30))
    assert a != texts(_examples("arithmetic", "validation", seed=4, num_validation=30))
    assert random_expression(5, seed=3) == random_expression(5, seed=3)


def test_config_validation_and_unknown_split():
    with pytest.raises(ValueError, match="`max_nodes`"):
        next(ARITHMETIC_SPEC.generate("train", ARITHMETIC_SPEC.params(max_nodes=10), 0))
    with pytest.raises(ValueError, match="`test_max_depth`"):
        ARITHMETIC_SPEC.splits(ARITHMETIC_SPEC.params(test_min_depth=6, test_max_depth=5))
    with pytest.raises(ValueError, match=r"Unknown split 'dev'.*\['train', 'validation', 'test'\]"):
        next(BOOLEAN_SPEC.generate("dev", BOOLEAN_SPEC.params(), 0))
    assert list(ARITHMETIC_SPEC.configs) == ["d4", "d3", "d6"]
    assert "modulus" not in BOOLEAN_SPEC.params() and ARITHMETIC_SPEC.params()["modulus"] == 10
