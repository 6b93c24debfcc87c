"""Tests of rnnzoo.data.tree_encoding (values, text forms, batched encodings); NumPy only."""

import numpy as np
import pytest

from rnnzoo.data import tree_encoding
from rnnzoo.data.tree_encoding import (VOCABULARY, decode_tree, encode_sequences, encode_trees,
                                       evaluate, flatten, parse_bracketed, to_bracketed, to_infix)
from rnnzoo.data.trees import random_expression


def _python_value(tree):
    value = eval(to_infix(tree))  # noqa: S307 - our own generated arithmetic/boolean text
    return value % 10 if isinstance(value, int) and not isinstance(value, bool) else int(value)


def _sample(grammar, count=60, max_depth=7, seed=0):
    return [random_expression(k % (max_depth + 1), grammar, seed=[seed, k])
            for k in range(count)]


@pytest.mark.parametrize("grammar", ["arithmetic", "boolean"])
def test_values_equal_python_eval_of_the_infix_string(grammar):
    for tree in _sample(grammar, count=120, max_depth=9):
        assert tree_encoding.grammar_of(tree) == grammar
        expected = _python_value(tree)
        got = evaluate(tree)
        assert int(got) == expected, to_bracketed(tree)
        if grammar == "arithmetic":
            assert evaluate(tree, modulus=None) == eval(to_infix(tree))
            assert 0 <= got < 10


def test_hand_checked_examples():
    assert evaluate(parse_bracketed("(+ (* 2 3) 4)")) == 0
    assert evaluate(parse_bracketed("(- 3 (* 9 9))")) == (3 - 81) % 10 == 2
    assert evaluate(parse_bracketed("(* 7 8)"), modulus=None) == 56
    assert evaluate(parse_bracketed("(and T (not F))")) is True
    assert evaluate(parse_bracketed("(xor (or F F) (xor T T))")) is False
    assert to_infix(parse_bracketed("(not (xor T F))")) == "(not (True ^ False))"
    assert evaluate(5) == 5 and evaluate(False) is False


@pytest.mark.parametrize("grammar", ["arithmetic", "boolean"])
def test_round_trips_tuple_bracket_string_and_encoding(grammar):
    sample = _sample(grammar, count=80, max_depth=8, seed=1)
    for tree in sample:
        text = to_bracketed(tree)
        assert parse_bracketed(text) == tree
        assert text.count("(") == text.count(")") == tree_encoding.num_nodes(tree) - len(
            [t for t in flatten(tree, "prefix") if t not in tree_encoding.ARITY])
    encoded = encode_trees(sample)
    from_text = encode_trees([to_bracketed(t) for t in sample])
    assert all(np.array_equal(encoded[k], from_text[k]) for k in encoded)
    for b, tree in enumerate(sample):
        assert decode_tree(encoded, b) == tree
        assert to_bracketed(decode_tree(from_text, b)) == to_bracketed(tree)
        one = {k: v[b] for k, v in encoded.items()}  # unbatched, as in a dataset example
        assert decode_tree(one) == tree


def test_encode_sequences_infix_and_prefix():
    ids, lengths = encode_sequences(["(+ (* 2 3) 4)", "(not T)"], order="prefix")
    assert [[VOCABULARY[i] for i in row[:n]] for row, n in zip(ids, lengths)] == [
        ["+", "*", "2", "3", "4"], ["not", "T"]]
    ids, lengths = encode_sequences(["(not T)"], max_length=6)
    assert ids.tolist() == [[1, VOCABULARY.index("not"), VOCABULARY.index("T"), 2, 0, 0]]
    assert lengths.tolist() == [4]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("(+ 2 3", "ends before a ')' closes '+'"),
        ("(+ 2 3 4)", "close '+'"),
        ("(+ 2)", "token 4 ')' is not an operand"),
        ("(2 3)", "operator"),
        ("(+ 12 3)", "token 3 '12' is not an operand"),
        ("(+ 2 3) 4", "after the expression"),
        ("(and T 3)", "mix of grammars"),
        ("", "ends early"),
    ],
)
def test_parse_errors_say_what_was_expected(text, fragment):
    with pytest.raises(ValueError, match="Received an invalid value for `text`|`tree`") as info:
        parse_bracketed(text)
    assert fragment in str(info.value)


def test_bad_trees_and_encodings_are_rejected():
    with pytest.raises(ValueError, match="`tree`"):
        evaluate(("+", 2))
    with pytest.raises(ValueError, match="`tree`"):
        to_bracketed(("^", True, False))
    with pytest.raises(ValueError, match="`tree`"):
        evaluate(12)
    with pytest.raises(ValueError, match="`max_nodes`.*at least 5"):
        encode_trees(["(+ (* 2 3) 4)"], max_nodes=4)
    with pytest.raises(ValueError, match="`max_nodes`.*at least 9"):
        random_expression(4, max_nodes=8)
    with pytest.raises(ValueError, match=r"`grammar`.*\['arithmetic', 'boolean'\]"):
        random_expression(2, grammar="logic")
    with pytest.raises(ValueError, match="`order`"):
        flatten(3, order="postfix")
    broken = encode_trees(["(+ 2 3)"])
    broken["left"][0, 2] = 2  # a node that is its own child: not topological
    with pytest.raises(ValueError, match="below its own"):
        decode_tree(broken, 0)
    with pytest.raises(ValueError, match="`index`"):
        decode_tree(encode_trees(["4"]))
