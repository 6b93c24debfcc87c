"""Recursive network and RNTN: values against an independent NumPy recursion.

The reference walks the nested tuple expression itself (not the encoding), so
it checks both the composition equations and that the layer visits children
before parents with the right child in the right slot.
"""

import keras
import numpy as np
import pytest

from rnnzoo.data import tree_encoding
from rnnzoo.layers import RNTN, Recursive

pytestmark = pytest.mark.usefixtures("keras_seed")

VOCAB = len(tree_encoding.VOCABULARY)
TREES = ["(and T (not F))", "(xor (or F T) (and (not T) F))", "T",
         "(+ (* 2 3) (- 9 4))", "(not (not (xor T F)))"]
UNITS = 3


def token_id(symbol):
    if isinstance(symbol, (bool, np.bool_)):
        symbol = "T" if symbol else "F"
    return tree_encoding.VOCABULARY.index(str(symbol))


def reference(tree, weights, tensor):
    """h(leaf) = E[tok]; h(node) = tanh([a;b]^T V [a;b] + W [a;b] + b + E[op])."""
    embeddings, kernel, bias = weights[:3]
    if not isinstance(tree, tuple):
        return embeddings[token_id(tree)]
    children = [reference(child, weights, tensor) for child in tree[1:]]
    if len(children) == 1:
        children.append(np.zeros(UNITS))
    x = np.concatenate(children)
    pre = x @ kernel + bias + embeddings[token_id(tree[0])]
    if tensor:
        v = weights[3]
        pre = pre + np.array([x @ v[:, :, k] @ x for k in range(UNITS)])
    return np.tanh(pre)


def random_weights(layer, seed):
    rng = np.random.default_rng(seed)
    values = [rng.normal(0, 0.7, w.shape) for w in layer.get_weights()]
    layer.set_weights([v.astype("float32") for v in values])
    return [v.astype("float64") for v in values]


@pytest.mark.parametrize("cls", [Recursive, RNTN])
def test_values_and_order_match_numpy_recursion(cls):
    enc = tree_encoding.encode_trees(TREES, max_nodes=12)
    layer = cls(UNITS, vocabulary_size=VOCAB, return_nodes=True)
    layer(enc)
    weights = random_weights(layer, 3)
    nodes, root = (np.asarray(t) for t in layer(enc))
    for b, text in enumerate(TREES):
        tree = tree_encoding.parse_bracketed(text)
        expected = reference(tree, weights, cls is RNTN)
        np.testing.assert_allclose(root[b], expected, atol=1e-5)
        # every node's state equals the reference of its subtree
        for i in range(int(enc["num_nodes"][b])):
            sub = tree_encoding.decode_tree({**enc, "root": np.full(len(TREES), i)}, b)
            np.testing.assert_allclose(nodes[b, i], reference(sub, weights, cls is RNTN),
                                       atol=1e-5)
        np.testing.assert_array_equal(nodes[b, int(enc["num_nodes"][b]):], 0.0)


@pytest.mark.parametrize("cls", [Recursive, RNTN])
def test_swapping_children_changes_the_root(cls):
    layer = cls(UNITS, vocabulary_size=VOCAB, seed=2)
    a = np.asarray(layer(tree_encoding.encode_trees(["(- 7 (* 2 3))"])))
    b = np.asarray(layer(tree_encoding.encode_trees(["(- (* 2 3) 7)"])))
    assert np.max(np.abs(a - b)) > 1e-4


@pytest.mark.parametrize("cls", [Recursive, RNTN])
def test_padding_nodes_do_not_affect_the_root(cls):
    layer = cls(UNITS, vocabulary_size=VOCAB, seed=1)
    short = tree_encoding.encode_trees(TREES)
    padded = tree_encoding.encode_trees(TREES, max_nodes=20)
    base = np.asarray(layer(short))
    # garbage in the padding positions: tokens and (self-consistent) children
    rng = np.random.default_rng(0)
    noisy = {k: v.copy() for k, v in padded.items()}
    pad = ~noisy["node_mask"]
    noisy["tokens"][pad] = rng.integers(1, VOCAB, pad.sum())
    noisy["left"][pad] = 0
    for parts in (padded, noisy, [padded[k] for k in ("tokens", "left", "right",
                                                     "node_mask")]):
        np.testing.assert_allclose(layer(parts), base, atol=1e-6)


def test_without_mask_every_node_is_real_and_the_root_is_last():
    layer = Recursive(UNITS, vocabulary_size=VOCAB, seed=0)
    enc = tree_encoding.encode_trees(["(or T F)"])
    with_mask = layer(enc)
    np.testing.assert_allclose(layer([enc["tokens"], enc["left"], enc["right"]]), with_mask)


def test_config_and_seed():
    layer = RNTN(UNITS, vocabulary_size=VOCAB, seed=5, activation="relu", return_nodes=True)
    clone = RNTN.from_config(layer.get_config())
    enc = tree_encoding.encode_trees(TREES)
    for a, b in zip(layer(enc), clone(enc)):
        np.testing.assert_array_equal(a, b)
    assert clone.get_config() == layer.get_config()
    other = RNTN(UNITS, vocabulary_size=VOCAB, seed=6)
    other(enc)
    assert not np.array_equal(other.get_weights()[3], layer.get_weights()[3])


@pytest.mark.parametrize("argument,value", [("units", 0), ("vocabulary_size", -1),
                                            ("seed", 1.5)])
def test_bad_arguments(argument, value):
    kwargs = {"units": 2, "vocabulary_size": 4, argument: value}
    with pytest.raises(ValueError, match=f"`{argument}` of Recursive"):
        Recursive(**kwargs)


def _bad_inputs():
    enc = tree_encoding.encode_trees(["(and T F)", "(not T)"], max_nodes=4)
    parts = [enc[k] for k in ("tokens", "left", "right", "node_mask")]

    def edit(index, row, col, value):
        copy = [p.copy() for p in parts]
        copy[index][row, col] = value
        return copy

    return {
        "child indices in [-1, 2)": edit(1, 0, 2, 2),          # a node is its own child
        "children come before": edit(2, 0, 2, 3),               # child after its parent
        "got -2": edit(1, 1, 1, -2),                            # below -1
        "vocabulary_size": edit(0, 0, 0, VOCAB),               # token out of range
        "prefix": edit(3, 1, 3, True),                          # mask not a prefix
        "integer dtype": [parts[0].astype("float32")] + parts[1:],
        "2-D": [parts[0][..., None]] + parts[1:],
        "share one shape": [parts[0][:, :3]] + parts[1:],
        "or a dict": parts[:2],
        "unknown ['children']": {"tokens": parts[0], "left": parts[1], "right": parts[2],
                                 "children": parts[1]},
    }


@pytest.mark.parametrize("cls", [Recursive, RNTN])
def test_bad_inputs_name_the_layer(cls):
    layer = cls(UNITS, vocabulary_size=VOCAB, name="tree_layer")
    for text, value in _bad_inputs().items():
        with pytest.raises(ValueError) as info:
            layer(value)
        message = str(info.value)
        assert "tree_layer" in message and cls.__name__ in message, message
        assert text in message, (text, message)


@pytest.mark.parametrize("cls", [Recursive, RNTN])
def test_learns_boolean_truth_with_fit(cls):
    trees = ["(and T T)", "(and T F)", "(or F F)", "(or T F)", "(not T)", "(not F)",
             "(xor T T)", "(xor F T)"]
    enc = tree_encoding.encode_trees(trees)
    y = np.array([tree_encoding.evaluate(tree_encoding.parse_bracketed(t)) for t in trees],
                 "int32")
    inputs = [keras.Input((enc["tokens"].shape[1],), dtype="int32") for _ in range(4)]
    outputs = keras.layers.Dense(2)(cls(8, vocabulary_size=VOCAB, seed=0)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x = [enc[k].astype("int32") for k in ("tokens", "left", "right", "node_mask")]
    history = model.fit(x, y, epochs=40, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
