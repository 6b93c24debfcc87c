"""Recipe handler of `forecaster`: a real series (sunspots) or Mackey-Glass, with naive baselines.

Two data sources:

- `series`: a series of `rnnzoo.data.series` (e.g. `sunspots`) cut by time
  (`test_fraction`), sliding windows of `window` inputs and `horizon` targets
  (`forecast_windows`: test targets lie after the cut, their inputs may reach
  back before it). Metrics MAE, RMSE and NRMSE (RMSE / std of the test
  targets) over all test windows and horizon steps, in the series' units.
  Baselines on the same windows: `persistence` (the last value repeated) and,
  with `season: m`, `seasonal_naive` (`y[t + h] = y[t + h - m]`).
- `mackey_glass`: the `mackey_glass` dataset (`rnnzoo.data.dynamics`). The
  model trains on windows of the train run (autoregressive mode rolls out
  `horizon` steps while training); each test window gives the model the last
  `window` values of its `warmup` part and is forecast `eval_horizon` steps
  (84) in closed loop. `nrmse84` is the error of the 84th step, normalised by
  the standard deviation of the test windows' values (Jaeger 2001, as the
  `esn_generator` preset measures it); `nrmse` pools all 84 steps. Baseline:
  persistence of the last warmup value.

The model normalises its inputs with the mean and std of the training part
(`Forecaster.adapt`).
"""

import time
from typing import List, Literal, Optional

from pydantic import Field, StrictBool, StrictInt, StrictStr

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    RecipeError,
    Strict,
    TaskRecipe,
    Trained,
    TrainingSpec,
    build_layers,
    callbacks,
    optimizer,
    register_task_recipe,
)


class ForecasterData(Strict):
    source: Literal["series", "mackey_glass"]
    # series: the series name (sunspots, co2, nile, airline); mackey_glass: the config.
    name: StrictStr
    window: StrictInt = Field(gt=0)
    horizon: StrictInt = Field(gt=0)
    test_fraction: Number = Field(default=0.2, gt=0, lt=1)   # series only
    season: Optional[StrictInt] = Field(default=None, gt=0)  # series only
    eval_horizon: StrictInt = Field(default=84, gt=0)        # mackey_glass only
    seed: StrictInt = 0                                      # mackey_glass only


class ForecasterModel(Strict):
    mode: Literal["direct", "autoregressive"] = "direct"
    backbone: List[LayerSpec] = Field(min_length=1)
    residual: StrictBool = False
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


class ForecasterTraining(TrainingSpec):
    stride: StrictInt = Field(default=1, gt=0)
    # The last `validation_split` of the (time-ordered) training windows is held
    # out; with `early_stopping_patience` the weights of the best validation
    # loss are kept. The test part is never looked at.
    validation_split: Optional[Number] = Field(default=None, gt=0, lt=1)
    early_stopping_patience: Optional[StrictInt] = Field(default=None, gt=0)


def _series_split(data):
    from rnnzoo.data.series import forecast_windows, load_series

    values = load_series(data["name"]).values
    cut = len(values) - int(round(len(values) * data["test_fraction"]))
    pairs = {
        split: forecast_windows(values, data["window"], data["horizon"], split,
                                data["test_fraction"])
        for split in ("train", "test")
    }
    return values[:cut], {k: (x[..., None], y[..., None]) for k, (x, y) in pairs.items()}


def _mackey_glass(data):
    import numpy as np

    from rnnzoo.data import describe, load_numpy

    train = load_numpy("mackey_glass", "train", config=data["name"], seed=data["seed"])
    series = np.concatenate([train["inputs"][0, :, 0], train["targets"][0, -1:, 0]])
    test = load_numpy("mackey_glass", "test", config=data["name"], seed=data["seed"])
    warmup = int(describe("mackey_glass").params(data["name"])["warmup"])
    return series, np.asarray(test["inputs"][..., 0], "float64"), warmup


def _series_metrics(model, data):
    import numpy as np

    from rnnzoo.tasks.forecaster import forecast_metrics

    _, pairs = _series_split(data)
    x, y = pairs["test"]
    metrics = forecast_metrics(y, model.forecast(x))
    persistence = np.repeat(x[:, -1:], data["horizon"], axis=1)
    metrics.update({f"persistence_{k}": v for k, v in forecast_metrics(y, persistence).items()})
    season = data.get("season")
    if season:
        window, horizon = data["window"], data["horizon"]
        # y[t + h] = y[t + h - season]: from the window while h < season, else the forecast
        seasonal = np.zeros_like(y)
        for h in range(horizon):
            lag = window + h - season
            seasonal[:, h] = x[:, lag] if lag < window else seasonal[:, h - season]
        metrics.update({f"seasonal_naive_{k}": v
                        for k, v in forecast_metrics(y, seasonal).items()})
    return metrics, int(len(y))


def _mackey_glass_metrics(model, data):
    import numpy as np

    from rnnzoo.tasks.forecaster import forecast_metrics

    _, windows, warmup = _mackey_glass(data)
    steps = data["eval_horizon"]
    scale = float(np.std(windows))
    context = windows[:, warmup - data["window"] : warmup, None].astype("float32")
    predicted = model.forecast(context, horizon=steps)[..., 0].astype("float64")
    truth = windows[:, warmup : warmup + steps]
    metrics = forecast_metrics(truth, predicted, scale=scale)
    last = f"nrmse{steps}"
    metrics[last] = forecast_metrics(truth[:, -1], predicted[:, -1], scale=scale)["nrmse"]
    persistence = np.repeat(windows[:, warmup - 1 : warmup], steps, axis=1)
    metrics[f"persistence_{last}"] = forecast_metrics(
        truth[:, -1], persistence[:, -1], scale=scale)["nrmse"]
    metrics["persistence_nrmse"] = forecast_metrics(truth, persistence, scale=scale)["nrmse"]
    return metrics, int(len(windows))


@register_task_recipe
class ForecasterRecipe(TaskRecipe):
    task = "forecaster"
    data_spec = ForecasterData
    model_spec = ForecasterModel
    training_spec = ForecasterTraining
    primary_metric = "rmse"
    higher_is_better = False

    def check(self, recipe):
        super().check(recipe)
        data, model = recipe.data, recipe.model
        if data.source == "mackey_glass" and model.mode != "autoregressive" and (
                data.eval_horizon != data.horizon):
            raise RecipeError("data: a direct forecaster predicts exactly `horizon` steps; "
                              "set eval_horizon equal to horizon or use mode autoregressive.")
        if data.source == "series" and data.season is not None and data.season > data.window:
            raise RecipeError(f"data: season {data.season} is longer than the window "
                              f"{data.window}; the seasonal-naive baseline needs it inside.")

    def train(self, recipe, verbose):
        from rnnzoo.tasks import Forecaster

        data = recipe.data.model_dump()
        model = Forecaster(
            build_layers(recipe.model.backbone, recipe.seed),
            window=data["window"],
            horizon=data["horizon"],
            mode=recipe.model.mode,
            residual=recipe.model.residual,
            dropout=recipe.model.dropout,
        )
        if data["source"] == "series":
            train_part, pairs = _series_split(data)
            x, y = pairs["train"]
            x, y = x[:: recipe.training.stride], y[:: recipe.training.stride]
        else:
            train_part, _, _ = _mackey_glass(data)
            x, y = model.windows(train_part, stride=recipe.training.stride)
        model.adapt(train_part)
        model.compile(optimizer=optimizer(recipe.training))
        training = recipe.training
        monitor = "val_loss" if training.validation_split else "loss"
        extra_callbacks = []
        if training.early_stopping_patience:
            import keras

            extra_callbacks.append(keras.callbacks.EarlyStopping(
                monitor=monitor, patience=training.early_stopping_patience,
                restore_best_weights=True))
        started = time.perf_counter()
        history = model.fit(x, y, epochs=training.epochs, batch_size=training.batch_size,
                            validation_split=training.validation_split or 0.0,
                            callbacks=callbacks(training, monitor) + extra_callbacks,
                            verbose=verbose)
        seconds = time.perf_counter() - started
        metrics, count = self._measure(model, data)
        if data["source"] == "series":
            from rnnzoo.data.series import FORECAST_SERIES

            citation = FORECAST_SERIES[data["name"]].citation
            dataset_name, split = data["name"], "test"
        else:
            from rnnzoo.data.dynamics import MACKEY_GLASS_CITATION

            citation, dataset_name, split = MACKEY_GLASS_CITATION, "mackey_glass", "test"
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dict(data, name=dataset_name, split=split, num_examples=count,
                         config=data["name"], citation=citation),
            training={
                "epochs": recipe.training.epochs,
                "epochs_run": len(history.history["loss"]),
                "seconds": round(seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
                "train_windows": int(len(x)),
            },
            # the primary metric depends on the data (overrides the class default)
            extra={"primary_metric": self.primary(data), "window": data["window"],
                   "horizon": data["horizon"], "mode": recipe.model.mode},
        )

    def _measure(self, model, data):
        if data["source"] == "series":
            return _series_metrics(model, data)
        return _mackey_glass_metrics(model, data)

    def primary(self, data):
        return f"nrmse{data['eval_horizon']}" if data["source"] == "mackey_glass" else "rmse"

    def evaluate(self, model, metadata):
        data = dict(metadata["dataset"])
        data["name"] = data["config"]
        return self._measure(model, data)[0]

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training windows: inputs `(n, window, 1)`, targets `(n, horizon, 1)`."""
        import numpy as np

        data = dict(metadata["dataset"])
        data["name"] = data["config"]
        if data["source"] == "series":
            _, pairs = _series_split(data)
            x, y = pairs["train"]
        else:  # as `Forecaster.windows` cuts the training run
            series, _, _ = _mackey_glass(data)
            span = data["window"] + data["horizon"]
            starts = range(0, min(len(series) - span + 1, num_examples))
            x = np.stack([series[s : s + data["window"]] for s in starts])[..., None]
            y = np.stack([series[s + data["window"] : s + span] for s in starts])[..., None]
        return (np.asarray(x[:num_examples], "float32"),
                np.asarray(y[:num_examples], "float32"))

    def tolerance(self, metadata):
        # Same weights, same data: only float reordering moves the number.
        metric = metadata.get("primary_metric", self.primary_metric)
        return 1e-3 * abs(float(metadata["metrics"][metric])) + 1e-6
