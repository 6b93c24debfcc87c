"""Forecaster: both modes, the step model, normalisation, metrics, config, errors."""

import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import Forecaster
from rnnzoo.tasks.forecaster import FeatureScaler, forecast_metrics


def windows(rng, batch=3, window=10, features=1):
    return rng.normal(size=(batch, window, features)).astype("float32")


def zero_head(model):
    head = model.get_layer("head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])


@pytest.mark.parametrize("mode", ["direct", "autoregressive"])
def test_shapes_both_modes(mode, rng):
    model = Forecaster(rnnzoo.layers.GRU(6, seed=1), window=10, horizon=4, num_features=2,
                       mode=mode)
    model.compile()
    x = windows(rng, features=2)
    assert tuple(model(x).shape) == (3, 4, 2)
    assert model.forecast(x).shape == (3, 4, 2)
    history = model.fit(x, rng.normal(size=(3, 4, 2)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("layer", ["lstm", "elman", "ctrnn"])
def test_autoregressive_rollout_equals_step_loop(layer, rng):
    """The unrolled Keras graph, forecast() and the exported step model agree."""
    backbone = [rnnzoo.get_layer(layer)(5, seed=1), rnnzoo.get_layer(layer)(4, seed=2)]
    model = Forecaster(backbone, window=7, horizon=3, mode="autoregressive", residual=True,
                       mean=0.5, std=2.0)
    x = windows(rng, window=7)
    graph = np.asarray(model(x))
    np.testing.assert_allclose(model.forecast(x), graph, atol=1e-5)
    # On a device: feed the window step by step from the start states, then feed back.
    step = model.export_model()
    states = model.initial_states(3)
    for t in range(7):
        value, *states = (np.asarray(o) for o in step([x[:, t], *states]))
    out = [value]
    for _ in range(4):
        value, *states = (np.asarray(o) for o in step([value, *states]))
        out.append(value)
    rolled = np.stack(out, axis=1)
    np.testing.assert_allclose(rolled[:, :3], graph, atol=1e-5)
    # Autoregressive forecasts go past the trained horizon.
    np.testing.assert_allclose(model.forecast(x, horizon=5), rolled, atol=1e-5)
    assert len(step.inputs) == 1 + 2 * (2 if layer == "lstm" else 1)


@pytest.mark.parametrize("mode", ["direct", "autoregressive"])
def test_residual_with_zero_head_is_persistence(mode, rng):
    """Hand-set model: a zero head predicts no change, i.e. repeats the last value."""
    model = Forecaster(rnnzoo.layers.Elman(4, seed=1), window=5, horizon=3, mode=mode,
                       residual=True, mean=3.0, std=0.5)
    zero_head(model)
    x = windows(rng, window=5)
    expected = np.repeat(x[:, -1:, :], 3, axis=1)
    np.testing.assert_allclose(np.asarray(model(x)), expected, atol=1e-5)
    np.testing.assert_allclose(model.forecast(x), expected, atol=1e-5)


def test_zero_head_without_residual_predicts_the_mean(rng):
    model = Forecaster(rnnzoo.layers.Elman(4, seed=1), window=5, horizon=2, num_features=2,
                       mean=[1.0, -2.0], std=[3.0, 4.0])
    zero_head(model)
    out = np.asarray(model(windows(rng, window=5, features=2)))
    np.testing.assert_allclose(out, np.broadcast_to([1.0, -2.0], (3, 2, 2)), atol=1e-6)


def test_normalisation_round_trip(rng, tmp_path):
    series = (rng.normal(size=(200, 2)) * [5.0, 0.1] + [100.0, -3.0]).astype("float32")
    model = Forecaster(rnnzoo.layers.LSTM(4, seed=1), window=8, horizon=2, num_features=2)
    model.adapt(series)
    mean, std = model.scaler.statistics()
    np.testing.assert_allclose(mean, series.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std, series.std(axis=0), rtol=1e-5)
    x, _ = model.windows(series)
    scaled = model.scaler(x)
    assert abs(float(np.mean(scaled))) < 0.5
    np.testing.assert_allclose(np.asarray(model.scaler(scaled, inverse=True)), x, rtol=1e-5)
    # the statistics are saved: in the config and in the weights
    assert model.get_config()["mean"] == mean
    model.compile()
    model.save(tmp_path / "f.keras")
    loaded = keras.saving.load_model(tmp_path / "f.keras")
    assert loaded.scaler.statistics() == (mean, std)
    np.testing.assert_allclose(np.asarray(loaded(x[:4])), np.asarray(model(x[:4])), atol=1e-6)


def test_adapt_on_windows_and_constant_feature():
    data = np.stack([np.arange(6.0), np.full(6, 7.0)], axis=-1).reshape(2, 3, 2)
    model = Forecaster(rnnzoo.layers.Elman(2), window=3, horizon=1, num_features=2)
    model.adapt(data)
    mean, std = model.scaler.statistics()
    assert mean == pytest.approx([2.5, 7.0])
    assert std == pytest.approx([np.std(np.arange(6.0)), 1.0])  # constant feature: std 1


def test_windows_cut_the_series():
    model = Forecaster(rnnzoo.layers.Elman(2), window=3, horizon=2)
    x, y = model.windows(np.arange(8.0), stride=2)
    assert x[:, :, 0].tolist() == [[0, 1, 2], [2, 3, 4]]
    assert y[:, :, 0].tolist() == [[3, 4], [5, 6]]


def test_metrics_by_hand():
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_pred = np.array([[1.0, 3.0], [1.0, 4.0]])
    result = forecast_metrics(y_true, y_pred)
    # errors 0, 1, -2, 0: MAE 3/4, RMSE sqrt(5/4); std of 1, 2, 3, 4 is sqrt(1.25)
    assert result["mae"] == pytest.approx(0.75)
    assert result["rmse"] == pytest.approx(np.sqrt(1.25))
    assert result["nrmse"] == pytest.approx(1.0)
    assert forecast_metrics(y_true, y_pred, scale=2.0)["nrmse"] == pytest.approx(np.sqrt(1.25) / 2)
    with pytest.raises(ValueError, match="same shape"):
        forecast_metrics([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="scale"):
        forecast_metrics([1.0, 1.0], [1.0, 2.0])


def test_autoregressive_learns_a_sine():
    keras.utils.set_random_seed(0)
    series = np.sin(np.arange(400) * 2 * np.pi / 25).astype("float32")
    model = Forecaster(rnnzoo.layers.GRU(16, seed=1), window=20, horizon=3,
                       mode="autoregressive")
    model.adapt(series)
    x, y = model.windows(series[:300], stride=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    xt, yt = model.windows(series[300:])
    assert forecast_metrics(yt, model.forecast(xt))["nrmse"] < 0.3


@pytest.mark.parametrize("mode", ["direct", "autoregressive"])
def test_config_round_trip(mode, tmp_path, rng):
    model = Forecaster([rnnzoo.layers.IndRNN(4, seed=1), rnnzoo.layers.GRU(3, seed=2)],
                       window=6, horizon=2, mode=mode, mean=2.0, std=3.0, residual=True,
                       dropout=0.1)
    config = json.loads(json.dumps(model.get_config()))
    clone = Forecaster.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    model.compile()
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = windows(rng, window=6)
    np.testing.assert_allclose(loaded.forecast(x, horizon=2), model.forecast(x), atol=1e-6)


def test_direct_export_model_is_the_model():
    model = Forecaster(rnnzoo.layers.Elman(3), window=4, horizon=2)
    assert model.export_model() is model


def test_validation_errors(rng):
    model = Forecaster(rnnzoo.layers.Elman(3), window=6, horizon=2, num_features=2)
    with pytest.raises(ValueError, match="shorter than the model's window of 6"):
        model.forecast(np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="longer than the model's window of 6"):
        model.forecast(np.zeros((2, 9, 2)))
    with pytest.raises(ValueError, match="empty batch"):
        model.forecast(np.zeros((0, 6, 2)))
    with pytest.raises(ValueError, match="must have 2 features"):
        model.forecast(np.zeros((2, 6, 3)))
    with pytest.raises(ValueError, match="3-D"):
        model.forecast(np.zeros((6, 2)))
    with pytest.raises(ValueError, match="direct mode predicts exactly horizon=2"):
        model.forecast(np.zeros((1, 6, 2)), horizon=3)
    with pytest.raises(ValueError, match="too short"):
        model.windows(np.zeros((7, 2)))
    with pytest.raises(ValueError, match=r"shape \(time, 2\)"):
        model.windows(np.zeros((20, 3)))
    with pytest.raises(ValueError, match="adapt"):
        model.adapt(np.zeros((0, 2)))
    layer = rnnzoo.layers.Elman(3)
    with pytest.raises(ValueError, match="argument `mode`"):
        Forecaster(layer, window=6, horizon=2, mode="recursive")
    with pytest.raises(ValueError, match="argument `horizon`"):
        Forecaster(layer, window=6, horizon=0)
    with pytest.raises(ValueError, match="argument `window`"):
        Forecaster(layer, window=-1, horizon=2)
    with pytest.raises(ValueError, match="argument `std`"):
        Forecaster(layer, window=6, horizon=2, std=0.0)
    with pytest.raises(ValueError, match="argument `mean`"):
        Forecaster(layer, window=6, horizon=2, num_features=2, mean=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="keras.layers.RNN"):
        Forecaster(keras.layers.Dense(3), window=6, horizon=2, mode="autoregressive")
    with pytest.raises(ValueError, match="backbone"):
        Forecaster([], window=6, horizon=2)


def test_feature_scaler_config():
    scaler = FeatureScaler(2, mean=[1.0, 2.0], std=4.0)
    clone = FeatureScaler.from_config(scaler.get_config())
    assert clone.statistics() == ([1.0, 2.0], [4.0, 4.0])
