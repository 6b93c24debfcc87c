"""The number-words translation data: words, vocabularies, disjoint splits."""

import numpy as np
import pytest

from rnnzoo.data import describe, load_numpy
from rnnzoo.data import translation as tr


@pytest.mark.parametrize("n, words", [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (40, "forty"), (99, "ninety nine"),
    (100, "one hundred"), (101, "one hundred and one"), (350, "three hundred and fifty"),
    (1000, "one thousand"), (1005, "one thousand and five"),
    (1100, "one thousand one hundred"), (20019, "twenty thousand and nineteen"),
    (312005, "three hundred and twelve thousand and five"),
    (999999, "nine hundred and ninety nine thousand nine hundred and ninety nine"),
])
def test_number_to_words(n, words):
    assert tr.number_to_words(n) == words


def test_words_are_unique_and_lengths_bounded():
    numbers = np.arange(0, 1_000_000, 37)
    texts = [tr.number_to_words(int(n)) for n in numbers]
    assert len(set(texts)) == len(texts)
    longest = max(len(t.split()) for t in texts)
    assert longest <= tr.max_source_length(6) == 11
    assert len(tr.number_to_words(777777).split()) == 11
    with pytest.raises(ValueError, match=r"\[0, 999999\]"):
        tr.number_to_words(1_000_000)


def test_encoding_round_trips_and_refuses_unknown_words():
    ids = tr.encode_words("two hundred and six")
    assert [tr.SOURCE_VOCAB[i] for i in ids] == ["two", "hundred", "and", "six"]
    target = tr.encode_digits("206")
    assert target[0] == tr.START_ID and target[-1] == tr.END_ID
    assert tr.decode_digits(np.concatenate([target[1:], [0, 0]])) == "206"
    with pytest.raises(ValueError, match="unknown words \\['million'\\]"):
        tr.encode_words("one million")
    with pytest.raises(ValueError, match="digits"):
        tr.encode_digits("2a")


def test_splits_hold_different_numbers():
    every = np.arange(1_000_000)
    split = tr.split_of(every)
    assert (split[:100] == "train").all()
    fractions = {name: np.mean(split[100:] == name) for name in ("validation", "test")}
    assert fractions["validation"] == pytest.approx(0.05, abs=0.002)
    assert fractions["test"] == pytest.approx(0.15, abs=0.002)
    train = load_numpy("number_words", "train", num_train=3000)["value"]
    test = load_numpy("number_words", "test", num_test=500)["value"]
    validation = load_numpy("number_words", "validation", num_validation=300)["value"]
    assert not set(train) & set(test) and not set(test) & set(validation)
    assert not set(train) & set(validation)
    assert (tr.split_of(test) == "test").all() and test.min() >= 100


def test_examples_are_consistent_and_lengths_follow_the_config():
    data = load_numpy("number_words", "test", config="longer", num_test=200)
    digits = np.array([len(d) for d in data["digits"]])
    assert set(digits) == {5, 6}
    for k in range(5):
        n = int(data["value"][k])
        assert data["words"][k] == tr.number_to_words(n) and data["digits"][k] == str(n)
        length = data["source_length"][k]
        np.testing.assert_array_equal(data["source"][k, :length], tr.encode_words(data["words"][k]))
        assert tr.decode_digits(data["target"][k, 1:]) == str(n)
    train = load_numpy("number_words", "train", config="longer", num_train=500)
    assert max(len(d) for d in train["digits"]) <= 4


def test_bad_parameters_are_refused():
    spec = describe("number_words")
    with pytest.raises(ValueError, match="test_min_digits"):
        spec.splits(spec.params(test_min_digits=2))
    with pytest.raises(ValueError, match="max_digits"):
        spec.splits(spec.params(max_digits=7))
