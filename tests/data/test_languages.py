"""Formal languages: labels checked against independent, definitional checks."""

import itertools
import re
from collections import Counter

import numpy as np
import pytest

from rnnzoo.data import describe, languages, load_numpy


def _strings(data, feature="inputs"):
    """Decodes padded one-hot rows back to token tuples."""
    return [tuple(np.argmax(x[:n], axis=-1).tolist())
            for x, n in zip(data[feature], data[f"{feature}_length"])]


def _text(tokens):
    return "".join(map(str, tokens))


def _t3(s):
    """Definitional T3: no odd run of 1s anywhere later followed by an odd run of 0s."""
    runs = [(symbol, len(list(group))) for symbol, group in itertools.groupby(s)]
    odd_ones = [k for k, (symbol, n) in enumerate(runs) if symbol == "1" and n % 2]
    odd_zeros = [k for k, (symbol, n) in enumerate(runs) if symbol == "0" and n % 2]
    return not any(i < j for i in odd_ones for j in odd_zeros)


# Independent of the DFAs: regular expressions, counts and run-length definitions.
TOMITA_REFERENCE = {
    "t1": lambda s: re.fullmatch("1*", s) is not None,
    "t2": lambda s: re.fullmatch("(10)*", s) is not None,
    "t3": _t3,
    "t4": lambda s: "000" not in s,
    "t5": lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    "t6": lambda s: (s.count("0") - s.count("1")) % 3 == 0,
    "t7": lambda s: re.fullmatch("0*1*0*1*", s) is not None,
}


@pytest.mark.parametrize("grammar", sorted(TOMITA_REFERENCE))
def test_tomita_labels_agree_with_an_independent_check(grammar):
    reference = TOMITA_REFERENCE[grammar]
    train = load_numpy("tomita", "train", config=grammar)
    strings = [_text(s) for s in _strings(train)]
    # Train: every string of length 1..10 exactly once.
    everything = {"".join(bits) for n in range(1, 11) for bits in itertools.product("01",
                                                                                      repeat=n)}
    assert len(strings) == 2046 and set(strings) == everything
    assert [int(reference(s)) for s in strings] == train["label"].tolist()
    test = load_numpy("tomita", "test", config=grammar)
    strings = [_text(s) for s in _strings(test)]
    assert len(set(strings)) == len(strings)
    assert min(map(len, strings)) == 11 and max(map(len, strings)) == 20
    assert [int(reference(s)) for s in strings] == test["label"].tolist()


@pytest.mark.parametrize("grammar", sorted(TOMITA_REFERENCE))
def test_tomita_test_split_is_balanced_where_possible(grammar):
    reference = TOMITA_REFERENCE[grammar]
    k = 5
    data = load_numpy("tomita", "test", config=grammar, max_length=4, test_max_length=9,
                      test_per_class=k)
    counts = Counter((len(_text(s)), int(label))
                     for s, label in zip(_strings(data), data["label"]))
    for n in range(5, 10):
        everything = ["".join(bits) for bits in itertools.product("01", repeat=n)]
        accepted = sum(map(reference, everything))
        assert counts[(n, 1)] == min(k, accepted)
        assert counts[(n, 0)] == min(k, len(everything) - accepted)
    spec = describe("tomita")
    assert spec.splits(spec.params(grammar, max_length=4, test_max_length=9,
                                   test_per_class=k))["test"] == len(data["label"])


def test_tomita_sampling_is_uniform_over_a_class():
    dfa = languages.TOMITA_DFAS["t4"]
    table = dfa.completions(5, accept=True)
    words = dfa.all_strings(5, table)
    assert len(words) == table[5][0] == 24  # length-5 strings without 000
    rng = np.random.default_rng(0)
    draws = Counter(dfa.sample(rng, 5, table) for _ in range(4800))
    assert set(draws) == set(words)
    assert all(140 < n < 260 for n in draws.values())  # 200 expected each


def test_tomita_determinism_and_bad_arguments():
    a = load_numpy("tomita", "test", config="t5", seed=1)
    b = load_numpy("tomita", "test", config="t5", seed=1)
    c = load_numpy("tomita", "test", config="t5", seed=2)
    assert np.array_equal(a["inputs"], b["inputs"])
    assert set(_strings(a)) != set(_strings(c))
    with pytest.raises(ValueError, match=r"Unknown config 't8'.*'t1'.*'t7'"):
        load_numpy("tomita", "train", config="t8")
    with pytest.raises(ValueError, match="positive integer, got 0"):
        load_numpy("tomita", "train", max_length=0)
    with pytest.raises(ValueError, match="at most 20"):
        load_numpy("tomita", "train", max_length=25, test_max_length=30)
    with pytest.raises(ValueError, match="test_max_length"):
        load_numpy("tomita", "test", test_max_length=10)
    with pytest.raises(ValueError, match=r"Unknown split 'validation'.*\['train', 'test'\]"):
        load_numpy("tomita", "validation")


# --------------------------------------------------------------------------- a^n b^n (c^n)

def _legal_next(prefix, blocks, max_n):
    """Brute force: symbols x such that prefix + x starts some string of the language."""
    alphabet = "abc"[:blocks]
    language = ["S" + "".join(ch * n for ch in alphabet) + "T" for n in range(max_n + 1)]
    return {word[len(prefix)] for word in language
            if word.startswith(prefix) and len(word) > len(prefix)}


@pytest.mark.parametrize("name, blocks", [("anbn", 2), ("anbncn", 3)])
def test_counting_languages_are_well_formed(name, blocks):
    inputs = "Sabc"[: blocks + 1]
    outputs = "abc"[:blocks] + "T"
    for split, ns in (("train", range(1, 11)), ("test", range(11, 51))):
        data = load_numpy(name, split)
        strings = ["".join(inputs[t] for t in s) for s in _strings(data)]
        found = []
        for text, length, targets in zip(strings, data["inputs_length"], data["targets"]):
            match = re.fullmatch("S" + "".join(f"({ch}*)" for ch in "abc"[:blocks]), text)
            assert match, text
            sizes = {len(group) for group in match.groups()}
            assert len(sizes) == 1  # a^n b^n (c^n): all blocks equally long
            found.append(sizes.pop())
            for t in range(length):
                want = _legal_next(text[: t + 1], blocks, max_n=60)
                got = {outputs[j] for j in np.flatnonzero(targets[t])}
                assert got == want, (text, t)
        assert sorted(found) == list(ns)
    assert data["inputs"].shape[-1] == data["targets"].shape[-1] == blocks + 1


def test_counting_language_seed_orders_the_fixed_training_set():
    a = load_numpy("anbncn", "train", seed=0)["inputs_length"]
    b = load_numpy("anbncn", "train", seed=1)["inputs_length"]
    assert sorted(a) == sorted(b) and list(a) != list(b)
    empty = languages.counting_example(0, 3)  # S T belongs to the language
    assert empty["inputs"].tolist() == [[1, 0, 0, 0]]
    assert empty["targets"].tolist() == [[1, 0, 0, 1]]
    with pytest.raises(ValueError, match="test_max_n"):
        load_numpy("anbn", "test", test_max_n=10)
    with pytest.raises(ValueError, match="min_n"):
        load_numpy("anbn", "train", min_n=-1)


# --------------------------------------------------------------------------- Dyck

def _reduce_balanced(text):
    """Independent check: delete innermost matched pairs until nothing changes."""
    while True:
        shorter = text.replace("()", "").replace("[]", "")
        if shorter == text:
            return text == ""
        text = shorter


def _depth(text):
    depth = best = 0
    for ch in text:
        depth += 1 if ch in "([" else -1
        best = max(best, depth)
    return best


@pytest.mark.parametrize("config, types", [("dyck1", 1), ("dyck2", 2)])
def test_dyck_labels_agree_with_an_independent_check(config, types):
    symbols = "([" [:types] + ")]"[:types]
    for split, low, high in (("train", 2, 20), ("test", 22, 40)):
        data = load_numpy("dyck", split, config=config, num_train=600, num_test=300)
        strings = ["".join(symbols[t] for t in s) for s in _strings(data)]
        labels = data["label"].tolist()
        assert [int(_reduce_balanced(s)) for s in strings] == labels
        assert labels.count(1) == labels.count(0)  # exactly balanced classes
        assert all(low <= len(s) <= high and len(s) % 2 == 0 for s in strings)
        assert all(_depth(s) <= 10 for s, y in zip(strings, labels) if y)
        negatives = [s for s, y in zip(strings, labels) if not y]
        # Hard negatives: many have as many openers as closers.
        same_counts = [s for s in negatives
                       if sum(ch in "([" for ch in s) == len(s) // 2]
        assert len(same_counts) > 0.4 * len(negatives)
        if types == 2:
            assert any(set(s) == set("([)]") for s in strings)


def test_dyck_sampler_is_uniform_and_respects_depth():
    ways = languages._dyck_table(6, 1, 2)
    rng = np.random.default_rng(0)
    draws = Counter(_text(languages.sample_dyck(rng, 6, 1, 2, ways)) for _ in range(1000))
    # Balanced strings of 6 brackets with depth <= 2: 4 of the 5 (not "((()))").
    assert set(draws) == {"010101", "001101", "010011", "001011"}
    assert all(200 < n < 300 for n in draws.values())


def test_dyck_determinism_and_bad_arguments():
    a = load_numpy("dyck", "validation", num_validation=10)
    b = load_numpy("dyck", "validation", num_validation=10)
    c = load_numpy("dyck", "validation", num_validation=10, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert _strings(a) != _strings(c)
    with pytest.raises(ValueError, match="even length"):
        load_numpy("dyck", "train", max_length=21)
    with pytest.raises(ValueError, match="positive integer, got 0"):
        load_numpy("dyck", "train", max_depth=0)
    with pytest.raises(ValueError, match="test_max_length"):
        load_numpy("dyck", "test", test_max_length=20)
    with pytest.raises(ValueError, match=r"Unknown config 'dyck3'.*'dyck1', 'dyck2'"):
        load_numpy("dyck", "train", config="dyck3")
