"""Recipe handler of `anomaly_detector`: UCR anomaly archive #135 / MIT-BIH, with a baseline.

Protocol (semi-supervised, as the UCR anomaly archive intends): the series'
normal training part `[0, train_end)` is split by time; the first
`1 - validation_fraction` trains the model and sets the normalisation, the
rest (never trained on) calibrates the threshold with the model's rule. The
whole series is scored (so the test part has its context) and the test part
`[train_end, n)` is evaluated against its labels:

- `precision`, `recall`, `f1`: point-wise, flagged steps vs labelled steps.
- `hit_rate`: share of labelled anomaly windows with a flagged step inside
  (`tolerance` 0); `hit_rate_tol`: the same with `hit_tolerance` steps of
  slack on either side.
- `top1_hit`: 1.0 when the highest-scoring test step lies within
  `hit_tolerance` steps of a labelled window (the UCR archive's own rule of
  scoring one location per series, with its slack of 100 steps), else 0.0.

Baseline, measured in the same run on the same split: a moving-average
residual detector, `r[t] = x[t] - mean(x[t - w : t])`, score
`|r[t] - mean(r)| / std(r)` with the mean and std of the fitting part, the
threshold by the same rule on the calibration part; its numbers are recorded
as `baseline_*`.
"""

import time
from typing import List, Literal

from pydantic import Field, StrictInt, StrictStr

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    Strict,
    TaskRecipe,
    Trained,
    TrainingSpec,
    build_layers,
    callbacks,
    optimizer,
    register_task_recipe,
)


class AnomalyData(Strict):
    source: Literal["anomaly_series"] = "anomaly_series"
    name: StrictStr
    validation_fraction: Number = Field(default=0.2, gt=0, lt=1)
    hit_tolerance: StrictInt = Field(default=100, ge=0)
    baseline_window: StrictInt = Field(default=1, gt=0)


class AnomalyModel(Strict):
    mode: Literal["forecast", "autoencoder"] = "forecast"
    window: StrictInt = Field(gt=0)
    backbone: List[LayerSpec] = Field(min_length=1)
    threshold_rule: Literal["quantile", "mean_std"] = "quantile"
    quantile: Number = Field(default=0.99, gt=0, lt=1)
    k: Number = Field(default=3.0, ge=0)
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


class AnomalyTraining(TrainingSpec):
    stride: StrictInt = Field(default=1, gt=0)
    score_stride: StrictInt = Field(default=1, gt=0)


def _load(name):
    from rnnzoo.data.anomaly_series import load_anomaly_series

    return load_anomaly_series(name, download=False)


def _fit_end(train_end, fraction):
    return train_end - int(round(train_end * fraction))


def _evaluate_flags(scores, flags, labels, tolerance):
    import numpy as np

    from rnnzoo.tasks.anomaly import point_metrics, runs, window_hit_rate

    metrics = point_metrics(flags, labels)
    metrics["hit_rate"] = window_hit_rate(flags, labels)
    metrics["hit_rate_tol"] = window_hit_rate(flags, labels, tolerance)
    top = int(np.nanargmax(scores))
    metrics["top1_hit"] = float(any(s - tolerance <= top < e + tolerance for s, e in runs(labels)))
    metrics["flagged"] = int(np.sum(flags))
    return metrics


def baseline_scores(values, window, fit_end):
    """Moving-average residual z-scores (NaN for the first `window` steps)."""
    import numpy as np

    values = np.asarray(values, "float64")
    sums = np.concatenate([[0.0], np.cumsum(values)])
    residual = np.full(values.shape, np.nan)
    steps = np.arange(window, values.size)
    residual[steps] = values[steps] - (sums[steps] - sums[steps - window]) / window
    mean, std = np.nanmean(residual[:fit_end]), np.nanstd(residual[:fit_end])
    return np.abs(residual - mean) / (std if std > 0 else 1.0)


def measure(model, data, score_stride=1):
    """The model's and the baseline's metrics on the test part of a series."""
    import numpy as np

    from rnnzoo.tasks.anomaly import calibrate_threshold

    series = _load(data["name"])
    values, labels, train_end = series["values"], series["labels"], series["train_end"]
    detection = model.detect(values, stride=score_stride)
    test = slice(train_end, None)
    metrics = _evaluate_flags(detection.scores[test], detection.flags[test], labels[test],
                              data["hit_tolerance"])
    metrics["threshold"] = float(detection.threshold)
    fit_end = _fit_end(train_end, data["validation_fraction"])
    scores = baseline_scores(values, data["baseline_window"], fit_end)
    threshold = calibrate_threshold(scores[fit_end:train_end], model.threshold_rule,
                                    model.quantile, model.k)
    flags = np.nan_to_num(scores, nan=-np.inf) > threshold
    baseline = _evaluate_flags(scores[test], flags[test], labels[test], data["hit_tolerance"])
    metrics.update({f"baseline_{k}": v for k, v in baseline.items()})
    return metrics, int(labels[test].sum())


@register_task_recipe
class AnomalyRecipe(TaskRecipe):
    task = "anomaly_detector"
    data_spec = AnomalyData
    model_spec = AnomalyModel
    training_spec = AnomalyTraining
    primary_metric = "f1"
    higher_is_better = True

    def train(self, recipe, verbose):
        from rnnzoo.data.anomaly_series import ANOMALY_SERIES
        from rnnzoo.tasks import AnomalyDetector

        data = recipe.data.model_dump()
        series = _load(data["name"])
        values, train_end = series["values"], series["train_end"]
        fit_end = _fit_end(train_end, data["validation_fraction"])
        spec = recipe.model
        model = AnomalyDetector(
            build_layers(spec.backbone, recipe.seed),
            window=spec.window,
            mode=spec.mode,
            threshold_rule=spec.threshold_rule,
            quantile=float(spec.quantile),
            k=float(spec.k),
            dropout=spec.dropout,
        )
        model.adapt(values[:fit_end])
        x, y = model.windows(values[:fit_end], stride=recipe.training.stride)
        # Calibration: forecast mode needs `window` steps of context before the first score.
        context = spec.window if spec.mode == "forecast" else 0
        calibration = values[fit_end - context : train_end]
        model.compile(optimizer=optimizer(recipe.training))
        started = time.perf_counter()
        history = model.fit(x, y, epochs=recipe.training.epochs,
                            batch_size=recipe.training.batch_size,
                            callbacks=callbacks(recipe.training), verbose=verbose)
        seconds = time.perf_counter() - started
        model.calibrate(calibration, stride=recipe.training.score_stride)
        metrics, labelled = measure(model, data, recipe.training.score_stride)
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dict(
                data,
                split="test",
                train_end=int(train_end),
                fit_end=int(fit_end),
                num_examples=int(len(values) - train_end),
                num_labelled=labelled,
                score_stride=recipe.training.score_stride,
                citation=ANOMALY_SERIES[data["name"]].citation,
            ),
            training={
                "epochs": recipe.training.epochs,
                "seconds": round(seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
                "train_windows": int(len(x)),
            },
            extra={"window": spec.window, "mode": spec.mode, "threshold": model.threshold},
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        return measure(model, dataset, dataset.get("score_stride", 1))[0]

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first windows of the fitting part, cut as `AnomalyDetector.windows` cuts them."""
        import numpy as np

        dataset = metadata["dataset"]
        series = _load(dataset["name"])
        values = np.asarray(series["values"], "float32")
        fit_end = int(dataset.get("fit_end") or _fit_end(series["train_end"],
                                                         dataset["validation_fraction"]))
        values = values[:fit_end]
        if values.ndim == 1:
            values = values[:, None]
        window, mode = int(metadata["window"]), metadata.get("mode", "forecast")
        count = len(values) - window + (0 if mode == "forecast" else 1)
        starts = range(min(count, num_examples))
        inputs = np.stack([values[s : s + window] for s in starts])
        if mode == "forecast":
            return inputs, values[[s + window for s in starts]]
        return inputs, inputs.copy()

    def tolerance(self, metadata):
        """About one flipped point: F1 = 2 TP / (flagged + labelled) moves by at most
        2 / (flagged + labelled - 1) when one step's flag flips."""
        metrics, dataset = metadata["metrics"], metadata["dataset"]
        total = int(metrics.get("flagged", 0)) + int(dataset.get("num_labelled", 1))
        return 2.0 / max(total - 1, 1) + 1e-9
