"""Tests of rnnzoo.data.patterns ("hopfield_patterns", "bam_pairs"); offline, NumPy only."""

import numpy as np
import pytest

from rnnzoo.data.patterns import (BAM_SPEC, HOPFIELD_SPEC, bam_probes, noisy_probes,
                                  random_patterns)


def _split(spec, split, config=None, seed=0, **overrides):
    examples = list(spec.generate(split, spec.params(config, **overrides), seed))
    return {key: np.stack([ex[key] for ex in examples]) for key in examples[0]}


def test_random_patterns_are_bipolar_balanced_and_seeded():
    p = random_patterns(50, 200, seed=3)
    assert p.shape == (50, 200) and p.dtype == np.float32
    assert set(np.unique(p).tolist()) == {-1.0, 1.0}
    assert abs(p.mean()) < 0.03  # each bit is +1 with probability 1/2
    np.testing.assert_array_equal(p, random_patterns(50, 200, seed=3))
    assert not np.array_equal(p, random_patterns(50, 200, seed=4))


@pytest.mark.parametrize("size, flip, flipped", [(100, 0.1, 10), (10, 0.25, 3), (10, 0.15, 2),
                                                 (7, 0.0, 0), (7, 1.0, 7), (200, 0.33, 66)])
def test_noisy_probes_flip_exactly_round_flip_times_size_bits(size, flip, flipped):
    patterns = random_patterns(6, size, seed=0)
    probes, origin = noisy_probes(patterns, flip, 40, seed=1)
    assert probes.shape == (40, size) and probes.dtype == np.float32
    assert origin.shape == (40,) and origin.dtype == np.int32
    assert set(np.unique(probes).tolist()) <= {-1.0, 1.0}
    assert ((0 <= origin) & (origin < 6)).all() and len(set(origin.tolist())) > 1
    np.testing.assert_array_equal((probes != patterns[origin]).sum(axis=1), flipped)


def test_probe_origin_is_the_closest_pattern_and_flips_vary():
    patterns = random_patterns(20, 300, seed=5)
    probes, origin = noisy_probes(patterns, 0.2, 100, seed=6)
    distances = (probes[:, None, :] != patterns[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(distances.argmin(axis=1), origin)
    # the flipped positions are drawn anew per probe
    flipped = probes != patterns[origin]
    assert len({row.tobytes() for row in flipped}) == 100


def test_noisy_probes_are_deterministic_per_seed():
    patterns = random_patterns(4, 30, seed=0)
    a, ia = noisy_probes(patterns, 0.2, 10, seed=7)
    b, ib = noisy_probes(patterns, 0.2, 10, seed=7)
    c, _ = noisy_probes(patterns, 0.2, 10, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ia, ib)
    assert not np.array_equal(a, c)


def _hebbian_recall(memories, probes, sweeps=8):
    """Asynchronous Hopfield updates with Hebbian weights; returns the final states."""
    n = memories.shape[1]
    weights = memories.T @ memories / n
    np.fill_diagonal(weights, 0.0)
    state = probes.copy()
    for _ in range(sweeps):
        for unit in range(n):
            state[:, unit] = np.where(state @ weights[:, unit] >= 0, 1.0, -1.0)
    return state


def test_hebbian_storage_recalls_at_low_load_and_degrades_at_high_load():
    overlaps = {}
    for config in ("n200_p10", "n200_p60"):  # load 0.05 and 0.3 (critical load 0.138)
        memories = _split(HOPFIELD_SPEC, "train", config)["pattern"]
        test = _split(HOPFIELD_SPEC, "test", config, num_probes=60)
        final = _hebbian_recall(memories, test["probe"])
        overlaps[config] = (final * test["pattern"]).mean(axis=1).mean()
        start = (test["probe"] * test["pattern"]).mean(axis=1)
        np.testing.assert_allclose(start, 0.8)  # 10% flipped: overlap 1 - 2 * 0.1
    assert overlaps["n200_p10"] > 0.97, overlaps
    assert overlaps["n200_p60"] < 0.75, overlaps
    assert overlaps["n200_p10"] - overlaps["n200_p60"] > 0.25, overlaps


def test_hopfield_dataset_splits_share_the_memories():
    params = HOPFIELD_SPEC.params("n100_p14", num_probes=30)
    assert HOPFIELD_SPEC.splits(params) == {"train": 14, "test": 30}
    train = _split(HOPFIELD_SPEC, "train", "n100_p14", seed=2)
    test = _split(HOPFIELD_SPEC, "test", "n100_p14", seed=2, num_probes=30)
    np.testing.assert_array_equal(train["probe"], train["pattern"])
    np.testing.assert_array_equal(train["pattern_index"], np.arange(14))
    np.testing.assert_array_equal(test["pattern"], train["pattern"][test["pattern_index"]])
    np.testing.assert_array_equal((test["probe"] != test["pattern"]).sum(axis=1), 10)
    other = _split(HOPFIELD_SPEC, "train", "n100_p14", seed=3)
    assert not np.array_equal(train["pattern"], other["pattern"])
    again = _split(HOPFIELD_SPEC, "test", "n100_p14", seed=2, num_probes=30)
    assert all(np.array_equal(test[k], again[k]) for k in test)
    for name, params in HOPFIELD_SPEC.configs.items():
        assert name == f"n{params['num_units']}_p{params['num_patterns']}"


def test_bam_probes_noisy_side_and_zero_side():
    x, y = random_patterns(6, 40, seed=0), random_patterns(6, 24, seed=1)
    p = bam_probes(x, y, flip=0.125, num_probes=50, seed=2)
    side, index = p["side"], p["pair_index"]
    assert set(side.tolist()) == {0, 1} and ((0 <= index) & (index < 6)).all()
    on_x, on_y = side == 0, side == 1
    assert not p["probe_y"][on_x].any() and not p["probe_x"][on_y].any()
    np.testing.assert_array_equal((p["probe_x"][on_x] != x[index[on_x]]).sum(axis=1), 5)
    np.testing.assert_array_equal((p["probe_y"][on_y] != y[index[on_y]]).sum(axis=1), 3)


def test_bam_dataset_and_one_step_recall_at_low_and_high_load():
    def recall_accuracy(config):
        train = _split(BAM_SPEC, "train", config)
        test = _split(BAM_SPEC, "test", config, num_probes=80)
        assert (train["side"] == -1).all()
        np.testing.assert_array_equal(train["probe_x"], train["x"])
        np.testing.assert_array_equal(test["x"], train["x"][test["pair_index"]])
        np.testing.assert_array_equal(test["y"], train["y"][test["pair_index"]])
        weights = train["x"].T @ train["y"]  # Kosko's correlation matrix
        on_x = test["side"] == 0
        y_hat = np.where(test["probe_x"][on_x] @ weights >= 0, 1.0, -1.0)
        x_hat = np.where(test["probe_y"][~on_x] @ weights.T >= 0, 1.0, -1.0)
        return np.mean(np.concatenate([(y_hat == test["y"][on_x]).all(axis=1),
                                       (x_hat == test["x"][~on_x]).all(axis=1)]))

    low, high = recall_accuracy("n100_m50_p5"), recall_accuracy("n100_m50_p25")
    assert low > 0.9 and high < 0.5, (low, high)


def test_dataset_examples_match_the_declared_features():
    for spec in (HOPFIELD_SPEC, BAM_SPEC):
        params = spec.params(num_probes=3)
        features = spec.features(params)
        for split in spec.splits(params):
            for ex in spec.generate(split, params, 0):
                assert set(ex) == set(features)
                for key, (shape, dtype) in features.items():
                    value = np.asarray(ex[key])
                    assert value.shape == shape and value.dtype == np.dtype(dtype), key


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: random_patterns(0, 5), "`num_patterns`"),
        (lambda: random_patterns(3, 2.5), "`size`"),
        (lambda: noisy_probes(np.zeros((2, 3)), 0.1, 2), "`patterns`"),
        (lambda: noisy_probes(np.ones(3), 0.1, 2), "`patterns`"),
        (lambda: noisy_probes(np.ones((2, 3)), 1.5, 2), "`flip`"),
        (lambda: noisy_probes(np.ones((2, 3)), 0.1, 0), "`num_probes`"),
        (lambda: bam_probes(np.ones((2, 3)), np.ones((3, 3)), 0.1, 2), "`y_patterns`"),
        (lambda: next(HOPFIELD_SPEC.generate("test", HOPFIELD_SPEC.params(flip=-0.1), 0)),
         "`flip`"),
    ],
)
def test_invalid_arguments_name_the_argument(call, fragment):
    with pytest.raises(ValueError, match="Received an invalid value") as info:
        call()
    assert fragment in str(info.value)


def test_unknown_split_lists_the_choices():
    for spec in (HOPFIELD_SPEC, BAM_SPEC):
        with pytest.raises(ValueError, match=r"Unknown split 'validation'.*\['train', 'test'\]"):
            next(spec.generate("validation", spec.params(), 0))
