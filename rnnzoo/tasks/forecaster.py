"""Multi-step forecasting over any recurrent backbone: direct and autoregressive.

Also home of `FeatureScaler`, the per-feature standardisation that the
forecaster and the anomaly detector keep inside the model (so a saved or
exported model takes raw values), and of `forecast_metrics` (MAE, RMSE, NRMSE).
"""

import numpy as np

import keras
from keras import ops

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks.base import (
    ZooTask,
    as_layer_list,
    clone_layer,
    deserialize_layers,
    serialize_layers,
)

MODES = ("direct", "autoregressive")


def _invalid(owner, argument, expected, value):
    return ValueError(
        f"Received an invalid value for argument `{argument}` of {owner}, expected "
        f"{expected}, got {value!r}."
    )


def check_count(owner, argument, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _invalid(owner, argument, f"an integer >= {minimum}", value)
    return int(value)


def check_dropout(owner, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise _invalid(owner, "dropout", "a float in [0, 1)", value)
    return float(value)


def feature_vector(owner, argument, value, num_features, default):
    """`value` (None, a number or a sequence) as a float list of length `num_features`."""
    if value is None:
        return [float(default)] * num_features
    array = np.asarray(value, dtype="float64").reshape(-1)
    if array.size == 1:
        array = np.repeat(array, num_features)
    if array.size != num_features or not np.all(np.isfinite(array)):
        raise _invalid(owner, argument, f"a finite number or {num_features} finite numbers", value)
    if argument == "std" and np.any(array <= 0):
        raise _invalid(owner, argument, "positive standard deviations", value)
    return [float(v) for v in array]


def template_clones(layers, return_sequences_last, return_state, prefix):
    """Fresh copies of template layers: all but the last return sequences.

    Layers without a `return_sequences` argument (e.g. a `Bidirectional`
    wrapper) are used as given.
    """
    clones = []
    for i, layer in enumerate(layers):
        if "return_sequences" not in layer.get_config():
            clones.append(layer)
            continue
        flags = {"return_sequences": True if i < len(layers) - 1 else return_sequences_last}
        if return_state is not None:
            flags["return_state"] = return_state
        clones.append(clone_layer(layer, name=f"{prefix}_{i}", **flags))
    return clones


def as_float_array(owner, values, num_features, what="series"):
    """A series as float32 (time, features): accepts (time,) when there is one feature."""
    array = np.asarray(values, dtype="float32")
    if array.ndim == 1 and num_features == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[-1] != num_features:
        raise ValueError(
            f"The {what} given to {owner} must have shape (time, {num_features})"
            f"{' or (time,)' if num_features == 1 else ''}, got shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"The {what} given to {owner} is empty; expected at least one step.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The {what} given to {owner} holds NaN or infinite values.")
    return array


def check_windows(owner, inputs, window, num_features):
    """A batch of windows as float32 (batch, window, features), or a clear ValueError."""
    array = np.asarray(inputs, dtype="float32")
    if array.ndim != 3:
        raise ValueError(
            f"Input of {owner} must be a 3-D array (batch, window, features), got "
            f"shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"Input of {owner} is an empty batch (shape {array.shape}).")
    if array.shape[1] != window:
        relation = "shorter" if array.shape[1] < window else "longer"
        raise ValueError(
            f"Input of {owner} has windows of {array.shape[1]} steps, {relation} than the "
            f"model's window of {window} steps; got shape {array.shape}."
        )
    if array.shape[2] != num_features:
        raise ValueError(
            f"Input of {owner} must have {num_features} features (last axis), got shape "
            f"{array.shape}."
        )
    return array


@keras.saving.register_keras_serializable(package=PACKAGE)
class FeatureScaler(keras.layers.Layer):
    """Per-feature standardisation `(x - mean) / std`, or its inverse.

    `mean` and `std` are non-trainable weights, so they are saved, loaded and
    exported with the model; `set_statistics` (or a task's `adapt`) changes them.

    Args:
        num_features: int, size of the last axis.
        mean, std: optional number or `num_features` numbers (default 0 and 1).

    Call arguments:
        inputs: float tensor `(..., num_features)`.
        inverse: bool, compute `x * std + mean` instead. Default False.

    Example:

    >>> import numpy as np
    >>> scaler = FeatureScaler(1, mean=10.0, std=2.0)
    >>> np.asarray(scaler(np.array([[12.0]]))).tolist()
    [[1.0]]
    """

    def __init__(self, num_features, mean=None, std=None, **kwargs):
        super().__init__(**kwargs)
        self.num_features = check_count("FeatureScaler", "num_features", num_features)
        self._initial_mean = feature_vector("FeatureScaler", "mean", mean, self.num_features, 0.0)
        self._initial_std = feature_vector("FeatureScaler", "std", std, self.num_features, 1.0)
        self.mean = self.add_weight(
            shape=(self.num_features,), name="mean", trainable=False,
            initializer=keras.initializers.Constant(self._initial_mean),
        )
        self.std = self.add_weight(
            shape=(self.num_features,), name="std", trainable=False,
            initializer=keras.initializers.Constant(self._initial_std),
        )

    def set_statistics(self, mean, std):
        mean = feature_vector("FeatureScaler", "mean", mean, self.num_features, 0.0)
        std = feature_vector("FeatureScaler", "std", std, self.num_features, 1.0)
        self.mean.assign(np.asarray(mean, "float32"))
        self.std.assign(np.asarray(std, "float32"))

    def statistics(self):
        """(mean, std) as lists of Python floats."""
        return (
            [float(v) for v in np.asarray(self.mean.numpy())],
            [float(v) for v in np.asarray(self.std.numpy())],
        )

    def call(self, inputs, inverse=False):
        mean = ops.cast(self.mean, inputs.dtype)
        std = ops.cast(self.std, inputs.dtype)
        return inputs * std + mean if inverse else (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        mean, std = self.statistics()
        config.update({"num_features": self.num_features, "mean": mean, "std": std})
        return config


def statistics_of(owner, data, num_features):
    """Per-feature mean and std of a series (time, F), (time,) or windows (N, W, F)."""
    array = np.asarray(data, dtype="float64")
    if array.ndim == 1 and num_features == 1:
        array = array[:, None]
    if array.ndim not in (2, 3) or array.shape[-1] != num_features or array.size == 0:
        raise ValueError(
            f"Received invalid data for `adapt` of {owner}: expected a non-empty series "
            f"(time, {num_features}) or windows (batch, window, {num_features}), got shape "
            f"{array.shape}."
        )
    flat = array.reshape(-1, num_features)
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"Received data with NaN or infinite values for `adapt` of {owner}.")
    std = flat.std(axis=0)
    return flat.mean(axis=0).tolist(), np.where(std > 0, std, 1.0).tolist()


def forecast_metrics(y_true, y_pred, scale=None):
    """MAE, RMSE and NRMSE of forecasts (all steps and features pooled).

    NRMSE is RMSE divided by a scale: by default the (population) standard
    deviation of `y_true`, so predicting the mean of the targets scores
    about 1.0 and a perfect forecast 0.0; pass `scale` (e.g. the standard
    deviation of the whole series, as Jaeger 2001 does for NRMSE84) to use
    another one.

    Args:
        y_true, y_pred: arrays of the same shape.
        scale: optional positive number.

    Returns:
        dict with `mae`, `rmse` and `nrmse` (floats).

    Example:

    >>> forecast_metrics([0.0, 2.0], [1.0, 1.0])
    {'mae': 1.0, 'rmse': 1.0, 'nrmse': 1.0}
    """
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            "Received invalid arrays for forecast_metrics: expected non-empty `y_true` and "
            f"`y_pred` of the same shape, got {y_true.shape} and {y_pred.shape}."
        )
    error = y_pred - y_true
    rmse = float(np.sqrt(np.mean(error**2)))
    if scale is None:
        scale = float(np.std(y_true))
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"Received an invalid NRMSE scale {scale!r} for forecast_metrics: expected a "
            "positive number (the targets are constant; pass `scale`)."
        )
    return {"mae": float(np.mean(np.abs(error))), "rmse": rmse, "nrmse": rmse / float(scale)}


def run_stack(layers, inputs, states=None):
    """Applies RNN layers built with `return_state=True`; returns (output, states per layer)."""
    x, new_states = inputs, []
    for i, layer in enumerate(layers):
        kwargs = {} if states is None else {"initial_state": states[i]}
        outputs = layer(x, **kwargs)
        x, layer_states = outputs[0], list(outputs[1:])
        new_states.append(layer_states)
    return x, new_states


@keras.saving.register_keras_serializable(package=PACKAGE)
class Forecaster(ZooTask):
    """Multi-step forecaster: a window of past values in, the next `horizon` values out.

    Two modes:

    - `"direct"`: the backbone summarises the window into one vector and a
      dense head emits all `horizon` future steps at once.
    - `"autoregressive"`: the model predicts one step ahead and is rolled out
      `horizon` times, each prediction fed back as the next input. Inside the
      Keras model the roll-out is unrolled, so `fit` trains on the whole
      `horizon`-step forecast (errors of fed-back predictions included).
      `forecast(x, horizon=n)` runs the same roll-out as a loop over the step
      model of `export_model()` for any `n`.

    Every feature is forecast (the output has the input's features), so one
    univariate series gives `(batch, horizon, 1)`.

    Normalisation: the model standardises its inputs with a per-feature
    `mean` and `std` kept inside it (non-trainable weights, saved and
    exported) and maps its outputs back, so it takes and returns raw values.
    Give them as arguments or compute them from training data with
    `adapt(series_or_windows)` before `fit`; the default (0, 1) is identity.

    With `residual=True` the head predicts changes from the last observed
    (or fed-back) value instead of the values themselves.

    Args:
        backbone: a recurrent layer or list of layers (templates: the task
            makes copies with the `return_sequences`/`return_state` it needs;
            autoregressive mode needs `keras.layers.RNN` layers).
        window: int >= 1, number of past steps the model reads.
        horizon: int >= 1, number of future steps it predicts.
        num_features: int >= 1, features per step. Default 1.
        mode: `"direct"` (default) or `"autoregressive"`.
        mean, std: optional per-feature statistics (a number or
            `num_features` numbers) for the input normalisation.
        residual: bool, predict changes from the last value. Default False.
        dropout: float in [0, 1), dropout before the head.
        name: optional model name.

    Call arguments:
        inputs: float tensor `(batch, window, num_features)`.

    Output shape: `(batch, horizon, num_features)`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = Forecaster(rnnzoo.layers.GRU(8), window=12, horizon=3, mode="autoregressive")
    >>> model.compile()
    >>> tuple(model(np.zeros((2, 12, 1), "float32")).shape)
    (2, 3, 1)
    >>> model.forecast(np.zeros((2, 12, 1)), horizon=5).shape
    (2, 5, 1)

    Reference:
        Ben Taieb, S., Bontempi, G., Atiya, A. F. & Sorjamaa, A. (2012). A review
        and comparison of strategies for multi-step ahead time series forecasting
        based on the NN5 forecasting competition. Expert Systems with Applications.
    """

    def __init__(
        self,
        backbone,
        window,
        horizon,
        num_features=1,
        mode="direct",
        mean=None,
        std=None,
        residual=False,
        dropout=0.0,
        name=None,
        **kwargs,
    ):
        # === Layers ===
        owner = "Forecaster"
        templates = as_layer_list(backbone, owner)
        window = check_count(owner, "window", window)
        horizon = check_count(owner, "horizon", horizon)
        num_features = check_count(owner, "num_features", num_features)
        if mode not in MODES:
            raise _invalid(owner, "mode", f"one of {list(MODES)}", mode)
        dropout = check_dropout(owner, dropout)
        autoregressive = mode == "autoregressive"
        if autoregressive and not all(isinstance(t, keras.layers.RNN) for t in templates):
            raise ValueError(
                "The backbone of Forecaster in autoregressive mode must be keras.layers.RNN "
                "layers (they are stepped with explicit states), got "
                f"{[type(t).__name__ for t in templates]}."
            )
        layers = template_clones(templates, False, True if autoregressive else False, "backbone")
        scaler = FeatureScaler(num_features, mean, std, name="scaler")
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        units = num_features if autoregressive else horizon * num_features
        head = keras.layers.Dense(units, name="head")
        to_step = keras.layers.Reshape((1, num_features), name="to_step")
        to_horizon = keras.layers.Reshape((horizon, num_features), name="to_horizon")

        # === Functional model ===
        inputs = keras.Input((window, num_features), name="window")
        x = scaler(inputs)
        last = x[:, -1, :]
        if autoregressive:
            h, states = run_stack(layers, x)
            steps = []
            for step in range(horizon):
                if step:
                    h, states = run_stack(layers, to_step(last), states)
                y = head(head_dropout(h))
                last = y + last if residual else y
                steps.append(last)
            y = ops.stack(steps, axis=1) if horizon > 1 else to_step(steps[0])
        else:
            h = x
            for layer in layers:
                h = layer(h)
            y = to_horizon(head(head_dropout(h)))
            if residual:
                # Same shapes on purpose: keras.ops.add (TF backend) mistakes a
                # (batch, 1, 1) operand for a channel bias when batch == horizon.
                y = y + keras.layers.RepeatVector(horizon, name="repeat_last")(last)
        outputs = scaler(y, inverse=True)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.backbone_layers = layers
        self.window = window
        self.horizon = horizon
        self.num_features = num_features
        self.mode = mode
        self.residual = bool(residual)
        self.dropout = dropout
        self.scaler = scaler
        self._parts = Untracked(templates=templates, head=head, head_dropout=head_dropout,
                                to_step=to_step, prefix=None, step=None)

    # ------------------------------------------------------------------ data

    def adapt(self, data):
        """Sets the input normalisation from training data; returns `self`.

        Args:
            data: the training series `(time, num_features)` (or `(time,)`
                for one feature), or training windows `(batch, window,
                num_features)`; mean and std are taken per feature over all
                steps (a constant feature gets std 1).
        """
        self.scaler.set_statistics(*statistics_of("Forecaster", data, self.num_features))
        return self

    def windows(self, series, stride=1):
        """Training pairs cut from a series: inputs `(N, window, F)`, targets `(N, horizon, F)`.

        Args:
            series: array `(time, num_features)` or `(time,)` for one feature.
            stride: int, steps between window starts. Default 1.
        """
        series = as_float_array("Forecaster.windows", series, self.num_features)
        stride = check_count("Forecaster.windows", "stride", stride)
        span = self.window + self.horizon
        if series.shape[0] < span:
            raise ValueError(
                f"The series given to Forecaster.windows has {series.shape[0]} steps, too "
                f"short for one window of {self.window} steps plus {self.horizon} targets."
            )
        starts = range(0, series.shape[0] - span + 1, stride)
        inputs = np.stack([series[s : s + self.window] for s in starts])
        targets = np.stack([series[s + self.window : s + span] for s in starts])
        return inputs, targets

    # --------------------------------------------------------------- forecast

    def forecast(self, inputs, horizon=None, batch_size=256):
        """Forecasts `horizon` steps after each window (raw values).

        Direct mode predicts exactly `self.horizon` steps. Autoregressive mode
        runs the window through the backbone once, then loops the step model of
        `export_model()` (state in, state out) for any `horizon`.

        Args:
            inputs: array `(batch, window, num_features)`.
            horizon: optional int, default `self.horizon`.
            batch_size: int, batch size of the direct-mode prediction.

        Returns:
            float32 array `(batch, horizon, num_features)`.
        """
        owner = "Forecaster.forecast"
        inputs = check_windows(owner, inputs, self.window, self.num_features)
        horizon = self.horizon if horizon is None else check_count(owner, "horizon", horizon)
        if self.mode == "direct":
            if horizon != self.horizon:
                raise ValueError(
                    f"Forecaster in direct mode predicts exactly horizon={self.horizon} "
                    f"steps; got horizon={horizon}. Use mode='autoregressive' to roll out "
                    "any horizon."
                )
            return np.asarray(self.predict(inputs, batch_size=batch_size, verbose=0))
        prefix, step = self._prefix_model(), self.export_model()
        value, *states = (np.asarray(t) for t in prefix(inputs, training=False))
        out = [value]
        for _ in range(horizon - 1):
            value, *states = (np.asarray(t) for t in step([value, *states], training=False))
            out.append(value)
        return np.stack(out, axis=1).astype("float32")

    def initial_states(self, batch_size):
        """The backbone's start states for `export_model()`, one array per state input."""
        states = []
        for layer in self.backbone_layers:
            for s in layer.cell.get_initial_state(batch_size=batch_size):
                states.append(np.asarray(s, dtype="float32"))
        return states

    def _state_inputs(self):
        inputs, grouped = [], []
        for i, layer in enumerate(self.backbone_layers):
            sizes = layer.cell.state_size
            sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
            group = [keras.Input((int(s),), name=f"state_{i}_{j}") for j, s in enumerate(sizes)]
            inputs.extend(group)
            grouped.append(group)
        return inputs, grouped

    def _next_value(self, h, last_scaled):
        y = self._parts.head(self._parts.head_dropout(h))
        y = y + last_scaled if self.residual else y
        return self.scaler(y, inverse=True)

    def _prefix_model(self):
        """window -> [first forecast (raw), *states after the window] (autoregressive)."""
        if self._parts.prefix is None:
            inputs = keras.Input((self.window, self.num_features), name="window")
            x = self.scaler(inputs)
            h, states = run_stack(self.backbone_layers, x)
            value = self._next_value(h, x[:, -1, :])
            flat = [s for group in states for s in group]
            self._parts.prefix = keras.Model(inputs, [value, *flat], name="forecaster_prefix")
        return self._parts.prefix

    def export_model(self):
        """The model to export: direct mode the model itself; autoregressive one step.

        The step model maps `[value (batch, F), *states]` to
        `[next value (batch, F), *new states]` in raw units (the normalisation
        is inside). To forecast on a device: start from `initial_states(1)`,
        feed the window's values one by one (the last output is the first
        forecast), then feed each forecast back.

        Outputs are in raw units, so float32 rounding alone differs by about
        1e-7 of the values' magnitude between Keras and TFLite: for series of
        large values (e.g. sunspot counts near 100) give `rnnzoo.export` a
        `tolerance` on that scale (1e-4) instead of its absolute default.
        """
        if self.mode == "direct":
            return self
        if self._parts.step is None:
            value = keras.Input((self.num_features,), name="value")
            state_inputs, grouped = self._state_inputs()
            x = self.scaler(value)
            h, states = run_stack(self.backbone_layers, self._parts.to_step(x), grouped)
            flat = [s for group in states for s in group]
            self._parts.step = keras.Model(
                [value, *state_inputs], [self._next_value(h, x), *flat], name="forecaster_step"
            )
        return self._parts.step

    # ---------------------------------------------------------------- keras

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3), mean squared error, MAE and RMSE.

        `"auto"` picks the default for that argument; anything else is passed
        to Keras unchanged. Losses and metrics are in raw units.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.MeanSquaredError()
        if metrics == "auto":
            metrics = [
                keras.metrics.MeanAbsoluteError(name="mae"),
                keras.metrics.RootMeanSquaredError(name="rmse"),
            ]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        mean, std = self.scaler.statistics()
        return {
            "backbone": serialize_layers(self._parts.templates),
            "window": self.window,
            "horizon": self.horizon,
            "num_features": self.num_features,
            "mode": self.mode,
            "mean": mean,
            "std": std,
            "residual": self.residual,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(backbone=deserialize_layers(config.pop("backbone")), **config)


class Untracked:
    """Plain holder for objects Keras must not track nor save (templates, helper models)."""

    def __init__(self, **items):
        self.__dict__.update(items)


registry.TASKS.register("forecaster", Forecaster)
