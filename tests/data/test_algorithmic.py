"""The adding problem and the NTM tasks: layouts checked against the papers' rules."""

import numpy as np
import pytest

from rnnzoo.data import algorithmic, describe, load_numpy


def _examples(name, split, config=None, seed=0, **overrides):
    spec = describe(name)
    return list(spec.generate(split, spec.params(config, **overrides), seed))


# --------------------------------------------------------------------------- adding

def test_adding_configs_cover_both_settings_and_all_lengths():
    spec = describe("adding")
    for length in (100, 500, 1000, 5000):
        assert spec.configs[f"t{length}"]["setting"] == "hochreiter1997"
        assert spec.configs[f"indrnn_t{length}"] == {**spec.configs[f"t{length}"],
                                                     "setting": "indrnn"}
        assert spec.configs[f"t{length}"]["length"] == length
    assert spec.splits(spec.params("t100")) == {"train": 10000, "validation": 1000,
                                                "test": 2560}


def test_adding_hochreiter1997_follows_the_paper():
    T = 40
    lengths, marked_positions = set(), set()
    for ex in _examples("adding", "train", "t100", length=T, num_train=400):
        values, markers = ex["inputs"][:, 0], ex["inputs"][:, 1]
        steps = len(values)
        lengths.add(steps)
        assert T <= steps <= T + T // 10
        assert np.all((values >= -1) & (values <= 1))
        marked = np.flatnonzero(markers == 1.0)
        assert len(marked) == 2
        first, second = marked  # one marker among the first ten, one in the first half
        assert first < 10 and second < T // 2
        marked_positions.update(marked.tolist())
        others = np.setdiff1d(np.arange(steps), marked)
        ends = [p for p in (0, steps - 1) if p not in marked]
        assert np.all(markers[ends] == -1.0)
        assert np.all(markers[np.setdiff1d(others, [0, steps - 1])] == 0.0)
        if 0 in marked:
            assert values[0] == 0.0
        expected = 0.5 + (values[first] + values[second]) / 4.0
        assert ex["target"] == pytest.approx(expected, abs=1e-6)
        assert 0.0 <= ex["target"] <= 1.0
    assert lengths == set(range(T, T + T // 10 + 1))
    assert marked_positions == set(range(T // 2))  # the whole first half is reachable


def test_adding_indrnn_follows_li_et_al():
    examples = _examples("adding", "test", "indrnn_t100", length=50, num_test=2560)
    data = np.stack([ex["inputs"] for ex in examples])
    targets = np.array([ex["target"] for ex in examples])
    assert data.shape == (2560, 50, 2) and data.dtype == np.float32
    values, markers = data[..., 0], data[..., 1]
    assert np.all((values > 0) & (values < 1))
    assert np.all(markers[:, :25].sum(axis=1) == 1) and np.all(markers[:, 25:].sum(axis=1) == 1)
    assert np.allclose(targets, (values * markers).sum(axis=1), atol=1e-6)
    # Always predicting 1 scores the variance of a sum of two U(0, 1): 1/6.
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.015)


def test_adding_is_deterministic_and_splits_differ():
    a = load_numpy("adding", "test", "indrnn_t100", num_test=5)
    b = load_numpy("adding", "test", "indrnn_t100", num_test=5)
    c = load_numpy("adding", "test", "indrnn_t100", num_test=5, seed=7)
    train = load_numpy("adding", "train", "indrnn_t100", num_train=5)
    assert np.array_equal(a["inputs"], b["inputs"])
    assert not np.array_equal(a["inputs"], c["inputs"])
    assert not np.array_equal(a["inputs"], train["inputs"])


@pytest.mark.parametrize("override, message", [
    ({"length": 0}, "positive integer, got 0"),
    ({"length": -5}, "positive integer, got -5"),
    ({"length": 3}, "integer >= 4"),
    ({"setting": "lstm"}, r"expected one of \['hochreiter1997', 'indrnn'\]"),
    ({"num_test": 0}, "num_test"),
])
def test_adding_bad_arguments(override, message):
    with pytest.raises(ValueError, match=message):
        load_numpy("adding", "test", **override)


# --------------------------------------------------------------------------- copy

def test_copy_target_is_the_input_sequence():
    for ex in _examples("copy", "train", num_train=50):
        steps = len(ex["mask"])
        length = (steps - 1) // 2
        assert 1 <= length <= 20 and steps == 2 * length + 1
        inputs, targets, mask = ex["inputs"], ex["targets"], ex["mask"]
        assert inputs.shape == (steps, 9) and targets.shape == (steps, 8)
        assert set(np.unique(inputs[:length, :8])) <= {0.0, 1.0}
        assert np.array_equal(targets[mask == 1], inputs[:length, :8])
        assert np.array_equal(np.flatnonzero(inputs[:, 8]), [length])
        assert not inputs[length + 1:].any()  # no help while answering
        assert np.array_equal(np.flatnonzero(mask), np.arange(length + 1, steps))


def test_copy_test_split_is_longer_than_training():
    train = [(len(ex["mask"]) - 1) // 2 for ex in _examples("copy", "train", num_train=300)]
    test = [(len(ex["mask"]) - 1) // 2 for ex in _examples("copy", "test", num_test=300)]
    assert min(train) == 1 and max(train) == 20
    assert min(test) > 20 and max(test) <= 120


# --------------------------------------------------------------------------- repeat copy

def test_repeat_copy_targets_tile_the_sequence_then_stop():
    # Repeats are uniform in 1..10: mean 5.5, variance (10^2 - 1) / 12.
    mean, std = 5.5, np.sqrt((10 ** 2 - 1) / 12)
    counts = []
    for ex in _examples("repeat_copy", "train", num_train=200):
        inputs, targets, mask = ex["inputs"], ex["targets"], ex["mask"]
        length = int(np.flatnonzero(inputs[:, 8])[0])
        count = int(round(inputs[length, 9] * std + mean))
        assert algorithmic.normalised_repeats(count, 1, 10) == pytest.approx(inputs[length, 9])
        counts.append(count)
        steps = length + 1 + length * count + 1
        assert len(mask) == steps and 1 <= length <= 10 and 1 <= count <= 10
        sequence = inputs[:length, :8]
        scored = targets[mask == 1]
        assert np.array_equal(scored[:-1, :8], np.tile(sequence, (count, 1)))
        assert not scored[:-1, 8].any() and scored[-1, 8] == 1.0 and not scored[-1, :8].any()
        assert not inputs[length + 1:].any()
    values = algorithmic.normalised_repeats(np.array(counts), 1, 10)
    assert abs(values.mean()) < 0.2 and abs(values.std() - 1.0) < 0.15


def test_repeat_copy_test_split_leaves_the_training_range():
    for ex in _examples("repeat_copy", "test", num_test=100):
        length = int(np.flatnonzero(ex["inputs"][:, 8])[0])
        count = (len(ex["mask"]) - length - 2) // length
        assert length > 10 or count > 10
        assert length <= 20 and count <= 20


# --------------------------------------------------------------------------- associative recall

def _parse_recall(inputs, num_bits=6, item_length=3):
    """Reads an episode back: its items, the query, by scanning delimiter flags."""
    item_starts = np.flatnonzero(inputs[:, num_bits])
    query_flags = np.flatnonzero(inputs[:, num_bits + 1])
    assert len(query_flags) == 2 and query_flags[1] - query_flags[0] == item_length + 1
    items = [inputs[s + 1:s + 1 + item_length, :num_bits] for s in item_starts]
    query = inputs[query_flags[0] + 1:query_flags[1], :num_bits]
    return items, query


def test_associative_recall_answer_follows_the_query():
    for split, low, high in (("train", 2, 6), ("test", 7, 12)):
        for ex in _examples("associative_recall", split, num_train=100, num_test=100):
            items, query = _parse_recall(ex["inputs"])
            assert low <= len(items) <= high
            assert len({item.tobytes() for item in items}) == len(items)  # unique answer
            matches = [k for k, item in enumerate(items) if np.array_equal(item, query)]
            assert len(matches) == 1 and matches[0] < len(items) - 1
            answer = ex["targets"][ex["mask"] == 1]
            assert np.array_equal(answer, items[matches[0] + 1])
            assert not ex["inputs"][-3:].any()
            assert ex["inputs"].shape == (len(ex["mask"]), 8) and ex["targets"].shape[1] == 6


@pytest.mark.parametrize("name, override, message", [
    ("copy", {"num_bits": 0}, "num_bits"),
    ("copy", {"min_length": 5, "max_length": 4}, "max_length"),
    ("copy", {"test_max_length": 20}, "test_max_length"),
    ("repeat_copy", {"max_repeats": 0}, "max_repeats"),
    ("repeat_copy", {"test_max_length": 10, "test_max_repeats": 10}, "at least one above"),
    ("associative_recall", {"min_items": 1}, "min_items"),
    ("associative_recall", {"num_bits": 1, "item_length": 2}, "distinct items"),
])
def test_ntm_bad_arguments(name, override, message):
    with pytest.raises(ValueError, match=message):
        load_numpy(name, "train", **override)


@pytest.mark.parametrize("name", ["copy", "repeat_copy", "associative_recall"])
def test_ntm_determinism(name):
    a = load_numpy(name, "validation", num_validation=4)
    b = load_numpy(name, "validation", num_validation=4)
    c = load_numpy(name, "validation", num_validation=4, seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(a[k].shape != c[k].shape or not np.array_equal(a[k], c[k]) for k in a)
