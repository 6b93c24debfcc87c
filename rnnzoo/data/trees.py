"""Expression trees of controlled depth for recursive networks.

Two datasets, "arithmetic_trees" and "boolean_trees", of random expressions with
their values. Each example holds the expression in both encodings of
`rnnzoo.data.tree_encoding` (which defines the grammars, the values, the text
forms and the vocabulary): the post-ordered tree encoding a Keras recursive
layer consumes in one pass, and the flattened, fully bracketed infix token
sequence for sequence baselines. The arithmetic value is taken modulo 10, the
boolean value is 0 or 1.

Depth counts operator levels on the longest root-to-leaf path (a literal has depth
0, `(+ 2 3)` depth 1). Each example's depth is drawn uniformly from the split's
range and is exact: the root's operator is applied to one child of depth d - 1
and, for binary operators, one child of a uniformly drawn smaller depth, within
a node budget of `max_nodes`. ``train`` and ``validation`` use depths
`min_depth..max_depth`; ``test`` uses the deeper `test_min_depth..test_max_depth`,
to measure generalisation to deeper trees (Bowman, Manning & Potts 2015).
Configs, by training depth: ``d3`` (train 1-3, test 4-6, max_nodes 64), ``d4``
(the default; train 1-4, test 5-8, max_nodes 128) and ``d6`` (train 1-6, test
7-10, max_nodes 256); without a budget at most about 4% of the trees of the
deepest test depth would be larger, so the budget shapes only a few trees.
Splits hold 10,000 / 1,000 / 1,000 examples; every parameter can be overridden.

The public names of `rnnzoo.data.tree_encoding` are importable from here too.

References:
    Pollack, J. B. (1990). Recursive distributed representations. Artificial
    Intelligence 46(1-2), 77-105.
    Bowman, S. R., Manning, C. D., Potts, C. (2015). Tree-structured composition in
    neural networks without tree-structured architectures. CoCo workshop, NIPS 2015.
    Zaremba, W., Sutskever, I. (2014). Learning to execute. arXiv:1410.4615.

This module uses only numpy and the standard library (no tensorflow / keras).

Example:
    >>> from rnnzoo.data import trees
    >>> tree = trees.random_expression(2, seed=0)
    >>> trees.depth(tree), trees.evaluate(tree) == eval(trees.to_infix(tree)) % 10
    (2, True)
    >>> params = trees.ARITHMETIC_SPEC.params("d3", num_test=1)
    >>> example = next(trees.ARITHMETIC_SPEC.generate("test", params, 0))
    >>> int(example["depth"]) in (4, 5, 6), example["tokens"].shape
    (True, (64,))
"""

import math

import numpy as np

from rnnzoo.data import catalog
from rnnzoo.data.tree_encoding import (ARITY, GRAMMARS, PAD_ID, VOCABULARY, _invalid, decode_tree,
                                       depth, encode_sequences, encode_trees, evaluate, flatten,
                                       grammar_of, num_nodes, parse_bracketed, to_bracketed,
                                       to_infix)

__all__ = [
    "VOCABULARY", "PAD_ID", "ARITY", "GRAMMARS", "grammar_of", "depth", "num_nodes",
    "evaluate", "to_bracketed", "parse_bracketed", "to_infix", "flatten",
    "random_expression", "encode_trees", "decode_tree", "encode_sequences",
    "ARITHMETIC_SPEC", "BOOLEAN_SPEC",
]


def _min_nodes(grammar, d):
    """Fewest nodes of a tree of depth exactly d."""
    return d + 1 if grammar == "boolean" else 2 * d + 1


def _grow(grammar, d, budget, rng):
    """A random tree of depth exactly d with at most `budget` nodes."""
    spec = GRAMMARS[grammar]
    if d == 0:
        return spec["leaves"][int(rng.integers(len(spec["leaves"])))]
    spine_min = _min_nodes(grammar, d - 1)
    # an operator fits if its spine child and its smallest extra child fit
    ops = [op for op in spec["operators"]
           if 1 + spine_min + (ARITY[op] - 1) <= budget]
    op = ops[int(rng.integers(len(ops)))]
    if ARITY[op] == 1:
        return (op, _grow(grammar, d - 1, budget - 1, rng))
    spare = budget - 1 - spine_min  # nodes the other child may use
    depths = [k for k in range(d) if _min_nodes(grammar, k) <= spare]
    other = _grow(grammar, depths[int(rng.integers(len(depths)))], spare, rng)
    spine = _grow(grammar, d - 1, budget - 1 - num_nodes(other), rng)
    return (op, spine, other) if rng.random() < 0.5 else (op, other, spine)


def _check_grammar(owner, grammar):
    if grammar not in GRAMMARS:
        raise ValueError(f"Received an invalid value for `grammar` of {owner}, expected "
                         f"one of {list(GRAMMARS)}, got {grammar!r}.")
    return grammar


def random_expression(depth, grammar="arithmetic", seed=None, max_nodes=None):
    """Draws a random expression of exactly the given depth.

    The root's operator (uniform among those that fit the budget) gets one child
    of depth `depth - 1` and, if binary, one child of a depth drawn uniformly from
    the smaller depths that fit, placed left or right at random; leaves are
    uniform over the grammar's literals.

    Args:
        depth: int >= 0.
        grammar: "arithmetic" (default) or "boolean".
        seed: int, sequence of ints or `numpy.random.Generator` (default None).
        max_nodes: int or None (default), the largest number of nodes allowed.

    Returns:
        A nested tuple expression with `depth(tree) == depth`.

    Raises:
        ValueError: for an unknown grammar, a negative depth, or a `max_nodes`
            below the smallest tree of that depth (2 * depth + 1 nodes for
            arithmetic, depth + 1 for boolean).

    Example:
        >>> t = random_expression(3, "boolean", seed=0)
        >>> depth(t), grammar_of(t)
        (3, 'boolean')
    """
    owner = "random_expression"
    _check_grammar(owner, grammar)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise _invalid(owner, "depth", "a non-negative integer", repr(depth))
    budget = math.inf
    if max_nodes is not None:
        smallest = _min_nodes(grammar, int(depth))
        budget = catalog.check_positive(owner, "max_nodes", max_nodes)
        if budget < smallest:
            raise _invalid(owner, "max_nodes",
                           f"at least {smallest} (the smallest {grammar} tree of depth "
                           f"{depth})", repr(max_nodes))
    return _grow(grammar, int(depth), budget, np.random.default_rng(seed))


# --------------------------------------------------------------------------- catalog


def _max_tokens(grammar, max_nodes):
    # infix adds two brackets per operator: binary trees have (n - 1) / 2 operators,
    # boolean trees at most n - 1 (a chain of `not`s).
    return 2 * max_nodes - 1 if grammar == "arithmetic" else 3 * max_nodes - 2


def _checked(name, grammar, params):
    owner = f"dataset {name!r}"
    keys = ["min_depth", "max_depth", "test_min_depth", "test_max_depth", "max_nodes",
            "num_train", "num_validation", "num_test"]
    if grammar == "arithmetic":
        keys.append("modulus")
    p = {k: catalog.check_positive(owner, k, params[k]) for k in keys}
    for low, high in (("min_depth", "max_depth"), ("test_min_depth", "test_max_depth")):
        if p[high] < p[low]:
            raise _invalid(owner, high, f"an integer >= {low}={p[low]}", repr(params[high]))
    smallest = _min_nodes(grammar, max(p["max_depth"], p["test_max_depth"]))
    if p["max_nodes"] < smallest:
        raise _invalid(owner, "max_nodes", f"at least {smallest} (the smallest tree of the "
                       "deepest configured depth)", repr(params["max_nodes"]))
    return p


def _make_spec(name, grammar, description, configs):
    def splits(params):
        p = _checked(name, grammar, params)
        return {"train": p["num_train"], "validation": p["num_validation"],
                "test": p["num_test"]}

    def features(params):
        m = _checked(name, grammar, params)["max_nodes"]
        return {
            "tokens": ((m,), "int32"), "left": ((m,), "int32"), "right": ((m,), "int32"),
            "node_mask": ((m,), "bool"), "node_values": ((m,), "int32"),
            "root": ((), "int32"), "num_nodes": ((), "int32"), "depth": ((), "int32"),
            "value": ((), "int32"),
            "sequence": ((_max_tokens(grammar, m),), "int32"),
            "sequence_length": ((), "int32"),
        }

    def generate(split, params, seed):
        p = _checked(name, grammar, params)
        sizes = splits(params)
        if split not in sizes:
            raise ValueError(
                f"Unknown split {split!r} of dataset {name!r}; expected one of {list(sizes)}.")
        low, high = ((p["test_min_depth"], p["test_max_depth"]) if split == "test"
                     else (p["min_depth"], p["max_depth"]))
        modulus = p.get("modulus", 10)
        width, length = p["max_nodes"], _max_tokens(grammar, p["max_nodes"])
        base = catalog.split_seed(seed, split)
        for index in range(sizes[split]):
            rng = np.random.default_rng([base, index])
            d = int(rng.integers(low, high + 1))
            tree = _grow(grammar, d, width, rng)
            enc = encode_trees([tree], max_nodes=width, modulus=modulus)
            ids, lengths = encode_sequences([tree], max_length=length)
            example = {k: v[0] for k, v in enc.items()}
            example.update({
                "depth": np.asarray(d, dtype=np.int32),
                "value": np.asarray(example["node_values"][example["root"]], dtype=np.int32),
                "sequence": ids[0], "sequence_length": lengths[0],
            })
            yield example

    return catalog.register_dataset(catalog.DatasetSpec(
        name=name,
        description=description,
        citation="Pollack (1990), Recursive distributed representations, Artificial "
                 "Intelligence 46; depth generalisation after Bowman, Manning, Potts (2015), "
                 "Tree-structured composition in neural networks without tree-structured "
                 "architectures; sequence baseline after Zaremba & Sutskever (2014), "
                 "Learning to execute, arXiv:1410.4615.",
        configs=configs,
        splits=splits,
        features=features,
        generate=generate,
        supervised_keys=("sequence", "value"),
    ))


def _depth_config(train_depth, test_depth, max_nodes, arithmetic):
    config = {"min_depth": 1, "max_depth": train_depth, "test_min_depth": train_depth + 1,
              "test_max_depth": test_depth, "max_nodes": max_nodes,
              "num_train": 10000, "num_validation": 1000, "num_test": 1000}
    if arithmetic:
        config["modulus"] = 10
    return config


# name: (train depths 1..D, test depths D+1..test_max_depth, max_nodes)
_DEPTH_CONFIGS = {"d4": (4, 8, 128), "d3": (3, 6, 64), "d6": (6, 10, 256)}

#: Catalog entry "arithmetic_trees"; configs d3, d4 (default), d6 by train depth.
ARITHMETIC_SPEC = _make_spec(
    "arithmetic_trees", "arithmetic",
    "Arithmetic expression trees over digits with + - *, valued mod 10, depth-controlled "
    "(test deeper than train).",
    {k: _depth_config(*v, arithmetic=True) for k, v in _DEPTH_CONFIGS.items()})

#: Catalog entry "boolean_trees"; configs d3, d4 (default), d6 by train depth.
BOOLEAN_SPEC = _make_spec(
    "boolean_trees", "boolean",
    "Boolean formula trees over T/F with and, or, xor, not and their truth value, "
    "depth-controlled (test deeper than train).",
    {k: _depth_config(*v, arithmetic=False) for k, v in _DEPTH_CONFIGS.items()})
