"""Tests of rnnzoo.data.anomalies ("periodic_anomalies"); offline, NumPy only."""

import numpy as np
import pytest

from rnnzoo.data import anomalies
from rnnzoo.data.anomalies import CONFIG_KINDS, KINDS, SPEC, periodic_series

SEEDS = range(25)


def _examples(split, config="mixed", seed=0, **overrides):
    params = SPEC.params(config, **overrides)
    return list(SPEC.generate(split, params, seed))


@pytest.mark.parametrize("kind", CONFIG_KINDS)
def test_labels_mark_exactly_the_points_that_differ_from_the_normal_series(kind):
    for seed in SEEDS:
        anomalous = periodic_series(256, seed=seed, kind=kind)
        normal = periodic_series(256, seed=seed)
        assert normal.windows.shape == (0, 2) and not normal.labels.any()
        changed = anomalous.series != normal.series
        np.testing.assert_array_equal(changed, anomalous.labels == 1)
        # the labels are the union of the windows, which are ordered and apart
        from_windows = np.zeros(256, dtype=np.int32)
        for start, end in anomalous.windows:
            from_windows[start:end] = 1
        np.testing.assert_array_equal(from_windows, anomalous.labels)
        starts, ends = anomalous.windows[:, 0], anomalous.windows[:, 1]
        assert 1 <= len(starts) <= 2 and starts[0] >= 256 // 8 and ends[-1] <= 256
        assert (starts[1:] > ends[:-1]).all()
        widths = ends - starts
        is_spike = anomalous.window_kinds == KINDS.index("spike")
        assert (widths[is_spike] == 1).all()
        assert ((widths[~is_spike] >= 48) & (widths[~is_spike] <= 96)).all()
        if kind != "mixed":
            assert (anomalous.window_kinds == KINDS.index(kind)).all()


def test_normal_series_is_a_sum_of_sines_with_the_documented_components():
    s = periodic_series(512, seed=4, noise_std=0.0)
    assert s.amplitudes[0] == 1.0 and ((s.amplitudes[1:] >= 0.1) & (s.amplitudes[1:] <= 0.5)).all()
    assert ((s.periods >= 16) & (s.periods <= 48)).all()
    # without noise, the dominant component's period shows in the spectrum
    spectrum = np.abs(np.fft.rfft(s.series - s.series.mean()))
    assert abs(512 / (spectrum[1:].argmax() + 1) - s.periods[0]) < 0.1 * s.periods[0]


def test_spike_adds_spike_size_at_one_point():
    for seed in SEEDS:
        a = periodic_series(seed=seed, kind="spike", spike_size=5.0)
        n = periodic_series(seed=seed)
        delta = (a.series - n.series)[a.labels == 1]
        np.testing.assert_allclose(np.abs(delta), 5.0, rtol=1e-5)


def test_level_shift_moves_the_local_mean_by_shift_size():
    signs = set()
    for seed in SEEDS:
        a = periodic_series(seed=seed, kind="level_shift", shift_size=1.5)
        n = periodic_series(seed=seed)
        for start, end in a.windows:
            moved = a.series[start:end].mean() - n.series[start:end].mean()
            np.testing.assert_allclose(abs(moved), 1.5, rtol=1e-5)
            signs.add(np.sign(moved))
            # just outside the window the two series agree
            assert a.series[start - 1] == n.series[start - 1]
            if end < len(a.series):
                assert a.series[end] == n.series[end]
    assert signs == {-1.0, 1.0}


def _dominant_bin(window):
    spectrum = np.abs(np.fft.rfft(window - window.mean()))
    return int(spectrum[1:].argmax()) + 1


def test_frequency_change_multiplies_the_dominant_fft_frequency():
    near, total = 0, 0
    for seed in range(40):
        a = periodic_series(seed=seed, kind="frequency_change")
        n = periodic_series(seed=seed)
        for start, end in a.windows:
            width = end - start
            changed, normal = _dominant_bin(a.series[start:end]), _dominant_bin(n.series[start:end])
            assert changed > 1.5 * normal, (seed, changed, normal)
            expected = 3.0 * width / a.periods[0]  # frequency_factor / dominant period, in bins
            near += abs(changed - expected) <= 1 and abs(normal - width / a.periods[0]) <= 1
            total += 1
    assert near >= 0.9 * total, (near, total)


def test_dataset_train_is_normal_and_test_has_the_documented_rate():
    train = _examples("train", num_train=40)
    assert len(train) == 40
    for ex in train:
        assert ex["is_anomalous"] == 0 and not ex["labels"].any()
        assert ex["windows"].shape == (0, 2) and ex["window_kinds"].shape == (0,)
    for split, n, rate in (("test", 20, 0.5), ("validation", 10, 0.3), ("test", 7, 0.5)):
        examples = _examples(split, num_test=n, num_validation=n, anomaly_rate=rate)
        flags = np.array([ex["is_anomalous"] for ex in examples])
        assert len(examples) == n and flags.sum() == int(np.floor(rate * n + 0.5))
        for ex in examples:
            assert bool(ex["labels"].any()) == bool(ex["is_anomalous"])
            assert len(ex["windows"]) == len(ex["window_kinds"])
    kinds = np.concatenate([ex["window_kinds"] for ex in _examples("test", num_test=60)])
    assert set(kinds.tolist()) == {0, 1, 2}  # "mixed" draws every kind


def test_dataset_examples_match_the_declared_features():
    params = SPEC.params("frequency_change", length=128, min_window=16, max_window=32,
                         num_test=6)
    features = SPEC.features(params)
    for ex in SPEC.generate("test", params, 3):
        assert set(ex) == set(features)
        for key, (shape, dtype) in features.items():
            value = np.asarray(ex[key])
            assert value.dtype == np.dtype(dtype), key
            assert len(value.shape) == len(shape)
            assert all(w is None or g == w for g, w in zip(value.shape, shape)), key
        assert (ex["window_kinds"] == KINDS.index("frequency_change")).all()
    assert SPEC.splits(params) == {"train": 1000, "validation": 200, "test": 6}
    assert list(SPEC.configs) == ["mixed", "spike", "level_shift", "frequency_change"]


def test_generation_is_deterministic_and_splits_and_seeds_differ():
    def stack(examples):
        return np.stack([ex["series"] for ex in examples])

    a = stack(_examples("test", seed=5, num_test=8))
    b = stack(_examples("test", seed=5, num_test=8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, stack(_examples("test", seed=6, num_test=8)))
    assert not np.array_equal(a, stack(_examples("validation", seed=5, num_validation=8)))
    np.testing.assert_array_equal(periodic_series(seed=9, kind="spike").series,
                                  periodic_series(seed=9, kind="spike").series)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"kind": "dip"}, "`kind`"),
        ({"length": 0}, "`length`"),
        ({"max_window": 200}, "`max_window`"),
        ({"min_window": 50, "max_window": 40}, "`max_window`"),
        ({"frequency_factor": 9.0}, "`frequency_factor`"),
        ({"frequency_factor": 1.0}, "`frequency_factor`"),
        ({"noise_std": -1.0}, "`noise_std`"),
        ({"min_period": 2}, "`min_period`"),
        ({"spike_size": "big"}, "`spike_size`"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, fragment):
    with pytest.raises(ValueError, match="Received an invalid value") as info:
        periodic_series(**kwargs)
    assert fragment in str(info.value)


def test_unknown_option_kind_and_split_list_the_choices():
    with pytest.raises(ValueError, match="Unknown option.*'spike_size'"):
        periodic_series(spike_height=3.0)
    with pytest.raises(ValueError, match="level_shift.*frequency_change.*mixed"):
        periodic_series(kind="shift")
    with pytest.raises(ValueError, match=r"Unknown split 'dev'.*\['train', 'validation', 'test'\]"):
        next(SPEC.generate("dev", SPEC.params(), 0))
    with pytest.raises(ValueError, match="`anomaly_rate`"):
        next(SPEC.generate("test", SPEC.params(anomaly_rate=1.5), 0))
    assert anomalies.SPEC is SPEC
