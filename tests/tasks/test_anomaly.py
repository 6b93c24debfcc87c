"""AnomalyDetector: both modes, per-step scores, threshold rules, metrics, plots, errors."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.data.anomalies import periodic_series
from rnnzoo.tasks import AnomalyDetector
from rnnzoo.tasks.anomaly import (
    calibrate_threshold,
    point_metrics,
    runs,
    window_hit_rate,
)


def detector(mode="forecast", window=8, features=1, **kwargs):
    return AnomalyDetector(rnnzoo.layers.GRU(4, seed=1), window=window, num_features=features,
                           mode=mode, **kwargs)


@pytest.mark.parametrize("mode", ["forecast", "autoencoder"])
def test_shapes_and_training_pairs(mode, rng):
    det = detector(mode, features=2)
    det.compile()
    series = rng.normal(size=(40, 2)).astype("float32")
    x, y = det.windows(series, stride=2)
    assert x.shape[1:] == (8, 2)
    assert y.shape == ((x.shape[0], 2) if mode == "forecast" else x.shape)
    assert tuple(det(x).shape) == y.shape
    history = det.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    scores = det.score(series)
    assert scores.shape == (40,)
    if mode == "forecast":  # the first `window` steps have no forecast
        assert np.isnan(scores[:8]).all() and np.isfinite(scores[8:]).all()
    else:
        assert np.isfinite(scores).all()


def test_forecast_scores_are_standardised_errors(rng):
    det = detector("forecast", window=5, mean=2.0, std=4.0)
    series = rng.normal(size=30).astype("float32")
    x, y = det.windows(series)
    predicted = np.asarray(det.predict(x, verbose=0))
    scores = det.score(series)
    np.testing.assert_allclose(scores[5:], np.abs(predicted - y)[:, 0] / 4.0, rtol=1e-5)


def test_autoencoder_scores_average_overlapping_windows(rng):
    det = detector("autoencoder", window=6, features=2, std=[1.0, 2.0])
    series = rng.normal(size=(17, 2)).astype("float32")
    starts = [0, 4, 8, 11]  # stride 4, plus the window that ends on the last step
    windows = np.stack([series[s : s + 6] for s in starts])
    rebuilt = np.asarray(det.predict(windows, verbose=0))
    errors = np.mean(np.abs(rebuilt - windows) / [1.0, 2.0], axis=-1)
    expected = np.zeros(17)
    for t in range(17):
        covering = [errors[i, t - s] for i, s in enumerate(starts) if s <= t < s + 6]
        expected[t] = np.mean(covering)
    np.testing.assert_allclose(det.score(series, stride=4), expected, rtol=1e-5)


def test_threshold_rules():
    assert calibrate_threshold(np.arange(101.0), quantile=0.99) == pytest.approx(99.0)
    assert calibrate_threshold([np.nan, 1.0, 3.0], rule="mean_std", k=1.0) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="argument `rule`"):
        calibrate_threshold([1.0], rule="max")
    with pytest.raises(ValueError, match="argument `quantile`"):
        calibrate_threshold([1.0], quantile=1.0)
    with pytest.raises(ValueError, match="no scores"):
        calibrate_threshold([np.nan])


@pytest.mark.parametrize("rule", ["quantile", "mean_std"])
def test_calibrate_applies_the_rule_to_normal_scores(rule, rng):
    det = detector(threshold_rule=rule, quantile=0.9, k=2.0)
    normal = np.sin(np.arange(300) / 3.0) + 0.1 * rng.normal(size=300)
    threshold = det.calibrate(normal)
    scores = det.score(normal)[8:]
    if rule == "quantile":
        assert threshold == pytest.approx(np.quantile(scores, 0.9), rel=1e-6)
        assert np.mean(det.detect(normal).flags) <= 0.1
    else:
        assert threshold == pytest.approx(scores.mean() + 2.0 * scores.std(), rel=1e-5)


def test_detects_injected_spikes_on_periodic_data():
    """Trained on normal data, calibrated on held-out normal data: both spikes are hit."""
    keras.utils.set_random_seed(0)
    normal = periodic_series(1024, seed=5).series
    spiky = periodic_series(1024, seed=5, kind="spike", spike_size=4.0, max_anomalies=2)
    assert len(spiky.windows) >= 1
    det = AnomalyDetector(rnnzoo.layers.GRU(16, seed=1), window=24, quantile=0.995)
    det.adapt(normal[:700])
    det.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = det.windows(normal[:700], stride=2)
    det.fit(x, y, epochs=10, batch_size=32, verbose=0)
    det.calibrate(normal[700 - 24 :])
    found = det.detect(spiky.series)
    assert window_hit_rate(found.flags, spiky.labels) == 1.0
    # the single most anomalous step is one of the spikes
    assert int(np.nanargmax(found.scores)) in spiky.windows[:, 0].tolist()
    assert np.array_equal(found.windows, runs(found.flags))


def test_metrics_by_hand():
    flags = np.array([0, 1, 1, 1, 0, 0, 0, 0, 0, 1], bool)
    labels = np.array([0, 0, 1, 1, 1, 0, 0, 1, 1, 0])
    # TP = 2 (steps 2, 3), flagged 4, labelled 5
    result = point_metrics(flags, labels)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.4)
    assert result["f1"] == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    # labelled windows [2, 5) (hit) and [7, 9) (missed; a flag at 9 is one step late)
    assert window_hit_rate(flags, labels) == 0.5
    assert window_hit_rate(flags, labels, tolerance=1) == 1.0
    assert point_metrics(np.zeros(4), np.zeros(4)) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert runs(np.zeros(3)).shape == (0, 2)
    assert runs([1, 1, 1]).tolist() == [[0, 3]]
    with pytest.raises(ValueError, match="different lengths"):
        point_metrics([1, 0], [1])


@pytest.mark.parametrize("mode", ["forecast", "autoencoder"])
def test_config_round_trip(mode, tmp_path, rng):
    decoder = rnnzoo.layers.Elman(3, seed=4) if mode == "autoencoder" else None
    det = AnomalyDetector([rnnzoo.layers.LSTM(4, seed=1), rnnzoo.layers.IndRNN(3, seed=2)],
                          window=7, num_features=2, mode=mode, decoder=decoder,
                          mean=[1.0, 2.0], std=[3.0, 4.0], threshold_rule="mean_std", k=2.5)
    series = rng.normal(size=(60, 2)).astype("float32")
    det.calibrate(series)
    config = json.loads(json.dumps(det.get_config()))
    assert config["threshold"] == det.threshold
    clone = AnomalyDetector.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    det.compile()
    det.save(tmp_path / "d.keras")
    loaded = keras.saving.load_model(tmp_path / "d.keras", safe_mode=True)
    assert loaded.threshold == det.threshold
    np.testing.assert_allclose(loaded.detect(series).scores, det.detect(series).scores,
                               rtol=1e-5, equal_nan=True)


def test_validation_errors(rng):
    det = detector("forecast", window=8, features=2)
    with pytest.raises(ValueError, match="8 steps, shorter than the 9 steps"):
        det.score(np.zeros((8, 2)))
    with pytest.raises(ValueError, match="empty"):
        det.score(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"shape \(time, 2\)"):
        det.score(np.zeros((30, 3)))
    with pytest.raises(ValueError, match="NaN"):
        det.score(np.full((30, 2), np.nan))
    with pytest.raises(ValueError, match="no threshold"):
        det.detect(np.zeros((30, 2)))
    ae = detector("autoencoder", window=8)
    with pytest.raises(ValueError, match="shorter than the 8 steps"):
        ae.windows(np.zeros(7))
    layer = rnnzoo.layers.GRU(3)
    with pytest.raises(ValueError, match="argument `mode`"):
        AnomalyDetector(layer, window=8, mode="vae")
    with pytest.raises(ValueError, match="argument `window`"):
        AnomalyDetector(layer, window=1, mode="autoencoder")
    with pytest.raises(ValueError, match="decoder"):
        AnomalyDetector(layer, window=8, decoder=rnnzoo.layers.GRU(3))
    with pytest.raises(ValueError, match="argument `quantile`"):
        AnomalyDetector(layer, window=8, quantile=0.0)
    with pytest.raises(ValueError, match="argument `threshold_rule`"):
        AnomalyDetector(layer, window=8, threshold_rule="iqr")
    with pytest.raises(ValueError, match="argument `threshold`"):
        AnomalyDetector(layer, window=8, threshold=float("nan"))


def test_plot_detection_writes_a_png(tmp_path):
    from rnnzoo.tasks.plotting import plot_detection  # matplotlib: a test dependency

    series = np.sin(np.arange(200) / 5.0)
    scores = np.abs(np.diff(series, prepend=np.nan))
    flags = np.zeros(200, bool)
    flags[50:55] = True
    labels = np.zeros(200, int)
    labels[52:60] = 1
    path = tmp_path / "detection.png"
    figure = plot_detection(series, scores, flags, labels=labels, path=path, threshold=0.15)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figure.axes) == 2
    with pytest.raises(ValueError, match="different lengths"):
        plot_detection(series, scores[:10], flags)


def test_task_modules_work_without_matplotlib():
    """matplotlib is imported only inside plot_detection (Keras may import it on its own,
    so the check blocks it instead of looking at sys.modules)."""
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import rnnzoo.tasks, rnnzoo.tasks.plotting\n"
        "try:\n"
        "    rnnzoo.tasks.plotting.plot_detection([1.0, 2.0], [0.0, 1.0], [0, 1])\n"
        "except ImportError as error:\n"
        "    print('needs matplotlib' in str(error))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_recipe_baseline_scores_by_hand():
    from rnnzoo.presets.recipes.anomaly import baseline_scores

    values = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 5.0])
    # window 2: residuals x[t] - mean(x[t-2:t]) = nan, nan, 1.5, 1.5, 7.5, -1.5;
    # fitted on the first 4 steps (mean 1.5, std 0): std falls back to 1
    scores = baseline_scores(values, window=2, fit_end=4)
    assert np.isnan(scores[:2]).all()
    np.testing.assert_allclose(scores[2:], [0.0, 0.0, 6.0, 3.0])
