"""Anomaly detection over any recurrent backbone: forecast error or reconstruction error.

Besides the task model, this module holds the NumPy helpers that turn scores
into decisions and decisions into numbers: `calibrate_threshold`, `runs`,
`point_metrics` and `window_hit_rate`.
"""

import dataclasses

import numpy as np

import keras

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks.base import ZooTask, as_layer_list, deserialize_layers, serialize_layers
from rnnzoo.tasks.forecaster import (
    FeatureScaler,
    Untracked,
    _invalid,
    as_float_array,
    check_count,
    check_dropout,
    statistics_of,
    template_clones,
)

MODES = ("forecast", "autoencoder")
RULES = ("quantile", "mean_std")


def calibrate_threshold(scores, rule="quantile", quantile=0.99, k=3.0):
    """A decision threshold from scores of normal data (NaNs ignored).

    Rules:
      - `"quantile"`: the `quantile`-quantile of the scores (NumPy's linear
        interpolation), so about `1 - quantile` of normal steps are flagged.
      - `"mean_std"`: `mean + k * std` of the scores.

    Example:

    >>> calibrate_threshold([1.0, 2.0, 3.0, 4.0, 5.0], quantile=0.5)
    3.0
    >>> round(calibrate_threshold([1.0, 3.0], rule="mean_std", k=2.0), 6)
    4.0
    """
    owner = "calibrate_threshold"
    if rule not in RULES:
        raise _invalid(owner, "rule", f"one of {list(RULES)}", rule)
    values = np.asarray(scores, dtype="float64").reshape(-1)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ValueError(f"Received no scores for {owner}: expected at least one non-NaN score.")
    if rule == "quantile":
        return float(np.quantile(values, _check_quantile(owner, quantile)))
    return float(values.mean() + _check_k(owner, k) * values.std())


def _check_quantile(owner, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise _invalid(owner, "quantile", "a number strictly between 0 and 1", value)
    return float(value)


def _check_k(owner, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise _invalid(owner, "k", "a non-negative number", value)
    return float(value)


def runs(mask):
    """Contiguous runs of True in a 1-D mask, as int32 `(k, 2)` `[start, end)` rows.

    Example:

    >>> runs([0, 1, 1, 0, 1]).tolist()
    [[1, 3], [4, 5]]
    """
    mask = np.asarray(mask).astype(bool).reshape(-1)
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return np.stack([starts, ends], axis=1).astype(np.int32).reshape(-1, 2)


def _pair(flags, labels, owner):
    flags = np.asarray(flags).astype(bool).reshape(-1)
    labels = np.asarray(labels).astype(bool).reshape(-1)
    if flags.shape != labels.shape:
        raise ValueError(
            f"Received `flags` and `labels` of different lengths for {owner}: "
            f"{flags.size} and {labels.size}."
        )
    return flags, labels


def point_metrics(flags, labels):
    """Point-wise precision, recall and F1 of flagged steps against labelled steps.

    A quantity with a zero denominator (nothing flagged, nothing labelled) is 0.

    Example:

    >>> point_metrics([1, 1, 0, 0], [0, 1, 1, 0])
    {'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    flags, labels = _pair(flags, labels, "point_metrics")
    hits = float(np.sum(flags & labels))
    precision = hits / flags.sum() if flags.any() else 0.0
    recall = hits / labels.sum() if labels.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def window_hit_rate(flags, labels, tolerance=0):
    """Share of labelled anomaly windows that contain a flagged step.

    A labelled window `[start, end)` (a contiguous run of labels) is hit when
    any step in `[start - tolerance, end + tolerance)` is flagged; `tolerance`
    allows early or late alarms. Returns 0.0 when nothing is labelled.

    Example:

    >>> window_hit_rate([0, 0, 0, 1, 0, 0], [1, 1, 0, 0, 0, 1])
    0.0
    >>> window_hit_rate([0, 0, 0, 1, 0, 0], [1, 1, 0, 0, 0, 1], tolerance=2)
    1.0
    """
    flags, labels = _pair(flags, labels, "window_hit_rate")
    tolerance = check_count("window_hit_rate", "tolerance", tolerance, minimum=0)
    windows = runs(labels)
    if len(windows) == 0:
        return 0.0
    hit = [flags[max(s - tolerance, 0) : e + tolerance].any() for s, e in windows]
    return float(np.mean(hit))


@dataclasses.dataclass
class Detection:
    """What `AnomalyDetector.detect` finds in a series.

    Attributes:
        scores: float32 `(time,)` anomaly score per step (NaN where a step has
            no score: the first `window` steps in forecast mode).
        flags: bool `(time,)`, `scores > threshold`.
        windows: int32 `(k, 2)`, the contiguous flagged runs `[start, end)`.
        threshold: float, the threshold used.
    """

    scores: np.ndarray
    flags: np.ndarray
    windows: np.ndarray
    threshold: float


@keras.saving.register_keras_serializable(package=PACKAGE)
class AnomalyDetector(ZooTask):
    """Semi-supervised anomaly detector: learns normal data, scores how far new data departs.

    Modes and scores (in units of the per-feature standard deviation, averaged
    over features):

    - `"forecast"`: a one-step forecaster; window `x[t-window:t]` predicts
      `x[t]` and the score of step `t` is `|x[t] - prediction|`. The first
      `window` steps of a series have no score (NaN).
    - `"autoencoder"`: a sequence autoencoder; the backbone encodes a window
      into its last output, the decoder (copies of the backbone, or
      `decoder`) unrolls it, repeated, back into `window` steps. Windows start
      every `stride` steps (plus one that ends on the last step); the score of
      step `t` is the mean of `|x[t] - reconstruction|` over all windows that
      cover `t`.

    Threshold: `calibrate(normal_series)` scores normal data never used for
    training and sets `threshold` by `threshold_rule`: `"quantile"` (default,
    the `quantile`-quantile of the scores, 0.99) or `"mean_std"` (mean + `k` *
    std). `detect(series)` flags steps whose score exceeds it and groups
    flags into windows (contiguous runs).

    Args:
        backbone: a recurrent layer or list of layers (templates).
        window: int >= 2 (autoencoder) or >= 1 (forecast), steps per window.
        num_features: int >= 1, features per step. Default 1.
        mode: `"forecast"` (default) or `"autoencoder"`.
        decoder: optional recurrent layer(s) for the autoencoder's decoder.
        mean, std: optional per-feature normalisation (see `adapt`).
        threshold: optional float, the decision threshold (set by `calibrate`).
        threshold_rule: `"quantile"` or `"mean_std"`.
        quantile: float in (0, 1), for the quantile rule. Default 0.99.
        k: float >= 0, for the mean_std rule. Default 3.0.
        dropout: float in [0, 1), dropout before the output head.
        name: optional model name.

    Call arguments:
        inputs: float tensor `(batch, window, num_features)`.

    Output shape: forecast mode `(batch, num_features)` (the next step);
    autoencoder mode `(batch, window, num_features)` (the reconstruction), raw units.

    Example:

    >>> import numpy as np, rnnzoo
    >>> det = AnomalyDetector(rnnzoo.layers.LSTM(8), window=16, mode="autoencoder")
    >>> det.compile()
    >>> tuple(det(np.zeros((2, 16, 1), "float32")).shape)
    (2, 16, 1)
    >>> series = np.sin(np.arange(200) / 5.0)
    >>> det.calibrate(series) > 0
    True
    >>> det.detect(series).scores.shape
    (200,)

    Reference:
        Malhotra, P., Vig, L., Shroff, G. & Agarwal, P. (2015). Long short term
        memory networks for anomaly detection in time series. ESANN.
        Malhotra, P. et al. (2016). LSTM-based encoder-decoder for multi-sensor
        anomaly detection. ICML Anomaly Detection Workshop.
    """

    def __init__(
        self,
        backbone,
        window,
        num_features=1,
        mode="forecast",
        decoder=None,
        mean=None,
        std=None,
        threshold=None,
        threshold_rule="quantile",
        quantile=0.99,
        k=3.0,
        dropout=0.0,
        name=None,
        **kwargs,
    ):
        # === Layers ===
        owner = "AnomalyDetector"
        templates = as_layer_list(backbone, owner)
        if mode not in MODES:
            raise _invalid(owner, "mode", f"one of {list(MODES)}", mode)
        window = check_count(owner, "window", window, minimum=2 if mode == "autoencoder" else 1)
        num_features = check_count(owner, "num_features", num_features)
        if threshold_rule not in RULES:
            raise _invalid(owner, "threshold_rule", f"one of {list(RULES)}", threshold_rule)
        quantile = _check_quantile(owner, quantile)
        k = _check_k(owner, k)
        dropout = check_dropout(owner, dropout)
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
                    np.isfinite(threshold)):
                raise _invalid(owner, "threshold", "a finite number or None", threshold)
            threshold = float(threshold)
        if decoder is not None and mode != "autoencoder":
            raise ValueError(
                "Received a `decoder` for AnomalyDetector in forecast mode; a decoder is "
                "used only with mode='autoencoder'."
            )
        decoder_templates = (
            templates if decoder is None else as_layer_list(decoder, owner, "decoder")
        )
        encoder = template_clones(templates, False, False, "encoder")
        decoder_layers = (
            template_clones(decoder_templates, True, False, "decoder")
            if mode == "autoencoder" else []
        )
        scaler = FeatureScaler(num_features, mean, std, name="scaler")
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(num_features, name="head")

        # === Functional model ===
        inputs = keras.Input((window, num_features), name="window")
        x = scaler(inputs)
        for layer in encoder:
            x = layer(x)
        if mode == "autoencoder":
            x = keras.layers.RepeatVector(window, name="repeat_code")(x)
            for layer in decoder_layers:
                x = layer(x)
        outputs = scaler(head(head_dropout(x)), inverse=True)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.backbone_layers = encoder
        self.decoder_layers = decoder_layers
        self.window = window
        self.num_features = num_features
        self.mode = mode
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.quantile = quantile
        self.k = k
        self.dropout = dropout
        self.scaler = scaler
        self._templates = Untracked(backbone=templates, decoder=decoder_templates,
                                    custom_decoder=decoder is not None)

    # ------------------------------------------------------------------ data

    def adapt(self, data):
        """Sets the normalisation (per-feature mean and std) from normal training data.

        Args:
            data: a series `(time, num_features)` (or `(time,)`), or windows
                `(batch, window, num_features)`. Returns `self`.
        """
        self.scaler.set_statistics(*statistics_of("AnomalyDetector", data, self.num_features))
        return self

    def _series(self, series, what="series"):
        owner = "AnomalyDetector"
        array = as_float_array(owner, series, self.num_features, what)
        needed = self.window + 1 if self.mode == "forecast" else self.window
        if array.shape[0] < needed:
            raise ValueError(
                f"The {what} given to {owner} has {array.shape[0]} steps, shorter than the "
                f"{needed} steps one {self.mode} window needs (window={self.window})."
            )
        return array

    def _starts(self, length, stride):
        if self.mode == "forecast":
            return list(range(0, length - self.window, stride))
        starts = list(range(0, length - self.window + 1, stride))
        if starts[-1] != length - self.window:
            starts.append(length - self.window)
        return starts

    def windows(self, series, stride=1):
        """Training pairs cut from a normal series.

        Forecast mode: inputs `x[s:s+window]`, targets `x[s+window]`
        `(N, num_features)`; autoencoder mode: the windows are their own targets.

        Args:
            series: array `(time, num_features)` or `(time,)`.
            stride: int, steps between window starts. Default 1.

        Returns:
            `(inputs, targets)` float32 arrays.
        """
        series = self._series(series)
        stride = check_count("AnomalyDetector.windows", "stride", stride)
        starts = self._starts(series.shape[0], stride)
        inputs = np.stack([series[s : s + self.window] for s in starts])
        if self.mode == "forecast":
            return inputs, series[[s + self.window for s in starts]]
        return inputs, inputs.copy()

    # ---------------------------------------------------------------- scoring

    def score(self, series, stride=1, batch_size=256):
        """The anomaly score of every step of a series (see the class doc).

        Args:
            series: array `(time, num_features)` or `(time,)`.
            stride: int, steps between autoencoder windows (forecast mode
                scores every step whatever `stride`). Default 1.
            batch_size: int, prediction batch size.

        Returns:
            float32 `(time,)`; NaN for the first `window` steps in forecast mode.
        """
        series = self._series(series)
        stride = check_count("AnomalyDetector.score", "stride", stride)
        length = series.shape[0]
        _, std = self.scaler.statistics()
        std = np.asarray(std, "float32")
        scores = np.full((length,), np.nan, dtype="float32")
        if self.mode == "forecast":
            inputs, targets = self.windows(series, 1)
            predicted = np.asarray(self.predict(inputs, batch_size=batch_size, verbose=0))
            scores[self.window :] = np.mean(np.abs(predicted - targets) / std, axis=-1)
            return scores
        starts = self._starts(length, stride)
        inputs = np.stack([series[s : s + self.window] for s in starts])
        rebuilt = np.asarray(self.predict(inputs, batch_size=batch_size, verbose=0))
        errors = np.mean(np.abs(rebuilt - inputs) / std, axis=-1)
        total = np.zeros((length,), "float64")
        count = np.zeros((length,), "float64")
        for start, error in zip(starts, errors):
            total[start : start + self.window] += error
            count[start : start + self.window] += 1
        return (total / count).astype("float32")

    def calibrate(self, normal_series, stride=1, batch_size=256):
        """Sets `threshold` from the scores of a normal series held out from training.

        Uses `threshold_rule` with `quantile` or `k` (see `calibrate_threshold`).

        Returns:
            float, the new threshold.
        """
        scores = self.score(normal_series, stride=stride, batch_size=batch_size)
        self.threshold = calibrate_threshold(scores, self.threshold_rule, self.quantile, self.k)
        return self.threshold

    def detect(self, series, threshold=None, stride=1, batch_size=256):
        """Scores a series and flags the steps (and runs of steps) above the threshold.

        Args:
            series: array `(time, num_features)` or `(time,)`.
            threshold: optional float overriding `self.threshold`.
            stride, batch_size: as in `score`.

        Returns:
            a `Detection` (scores, flags, windows, threshold).

        Raises:
            ValueError: when there is no threshold (call `calibrate` first).
        """
        threshold = self.threshold if threshold is None else float(threshold)
        if threshold is None:
            raise ValueError(
                "AnomalyDetector has no threshold yet: call `calibrate(normal_series)` "
                "first, or pass `threshold=`."
            )
        scores = self.score(series, stride=stride, batch_size=batch_size)
        flags = np.nan_to_num(scores, nan=-np.inf) > threshold
        return Detection(scores=scores, flags=flags, windows=runs(flags), threshold=threshold)

    # ---------------------------------------------------------------- keras

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3), mean squared error, MAE.

        `"auto"` picks the default for that argument; anything else is passed
        to Keras unchanged.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.MeanSquaredError()
        if metrics == "auto":
            metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        mean, std = self.scaler.statistics()
        kept = self._templates
        decoder = serialize_layers(kept.decoder) if kept.custom_decoder else None
        return {
            "backbone": serialize_layers(kept.backbone),
            "window": self.window,
            "num_features": self.num_features,
            "mode": self.mode,
            "decoder": decoder,
            "mean": mean,
            "std": std,
            "threshold": self.threshold,
            "threshold_rule": self.threshold_rule,
            "quantile": self.quantile,
            "k": self.k,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        decoder = config.pop("decoder", None)
        return cls(
            backbone=deserialize_layers(config.pop("backbone")),
            decoder=deserialize_layers(decoder) if decoder is not None else None,
            **config,
        )


registry.TASKS.register("anomaly_detector", AnomalyDetector)
