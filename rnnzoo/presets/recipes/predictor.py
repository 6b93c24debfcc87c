"""Recipe handler of `sequence_predictor`: any catalog dataset, criteria from the papers.

The `data` section names a dataset of the catalog (`rnnzoo.data`), its config,
parameter overrides and the input and target features; `criterion` picks the
metrics:

- `adding_1997` (Hochreiter & Schmidhuber 1997, experiment 4): a test
  sequence is wrong when the absolute error of the prediction is 0.04 or more.
  Metrics `wrong` (count), `accuracy` (fraction right, the primary metric),
  `mse`, `num_test`.
- `next_symbol` (Gers & Schmidhuber 2001): a string is correct when at every
  step every legal next symbol is predicted above 0.5 and every illegal one
  below. Metrics `max_n` (largest n up to which every test string is correct,
  the primary metric; the training maximum when the first test string fails),
  `accuracy` (fraction of test strings correct), `first_wrong_n`.
- `mse`: mean squared error only (primary metric `neg_mse`, higher is better).
- `nrmse`: per-step regression of a series (system identification such as
  NARMA): `nrmse`, the root mean squared error over every scored step divided
  by the standard deviation of those targets (1.0 = predicting their mean),
  and `mse`; primary metric `neg_nrmse` (higher is better). The first
  `washout` steps of each evaluation sequence are not scored.

`data.train_window` cuts each (long) training sequence into consecutive
non-overlapping windows of that many steps, each read from a zero state (the
evaluation sequences are read whole). With `model.linear_baseline_delays: D`
(criterion `nrmse`), a linear least-squares filter on the last `D + 1` inputs
(and a bias), fitted on the training split, is scored the same way beside the
model (`linear_baseline_nrmse`).
"""

import time
from typing import Any, Dict, List, Literal, Optional

import numpy as np
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

ADDING_TOLERANCE = 0.04


class PredictorData(Strict):
    source: Literal["catalog"] = "catalog"
    name: StrictStr
    config: Optional[StrictStr] = None
    params: Dict[StrictStr, Any] = {}
    seed: StrictInt = 0
    inputs: StrictStr = "inputs"
    targets: StrictStr = "target"
    train_split: StrictStr = "train"
    eval_split: StrictStr = "test"
    criterion: Literal["adding_1997", "next_symbol", "mse", "nrmse"] = "mse"
    train_window: Optional[StrictInt] = Field(default=None, gt=0)
    washout: StrictInt = Field(default=0, ge=0)


class PredictorModel(Strict):
    """The model section. `one_loop: true` runs a stacked backbone's cells in
    one time loop (`rnnzoo.layers.StackedRNN`): the same network, trained
    up to about 1.7x as fast for small cells on CPU."""

    backbone: List[LayerSpec] = Field(min_length=1)
    one_loop: StrictBool = False
    per_step: StrictBool = False
    loss: Literal["mse", "binary_crossentropy"] = "mse"
    output_activation: Optional[StrictStr] = None
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)
    mask_value: Optional[Number] = None
    linear_baseline_delays: Optional[StrictInt] = Field(default=None, ge=0)


class PredictorStage(Strict):
    """A curriculum stage: `epochs` on another config (and/or parameters) of the dataset.

    `batch_size` (default: the training section's) and `learning_rate` (a
    constant rate for this stage; default: the training section's rate and
    schedule) may differ from the main epochs'.
    """

    config: Optional[StrictStr] = None
    params: Dict[StrictStr, Any] = {}
    epochs: StrictInt = Field(gt=0)
    batch_size: Optional[StrictInt] = Field(default=None, gt=0)
    learning_rate: Optional[Number] = Field(default=None, gt=0)


class PredictorTraining(TrainingSpec):
    """The common training section plus an optional cosine decay of the learning rate.

    `schedule: cosine` decays the rate from `learning_rate` to zero over all
    training steps: a large rate early helps leave the adding problem's
    plateau, a small one late brings the precision its 0.04 criterion needs.

    `curriculum`: stages `{config, params, epochs}` trained in order before
    the main `epochs`, each on the training split of the same dataset under
    that config (default: the recipe's) with `params` laid over the recipe's
    (e.g. the adding problem at T = 100, 200 and 400 before T = 1000). One
    optimizer (its moments carry over) spans every stage and the main
    epochs. A stage may set its own `batch_size` and a constant
    `learning_rate`; the `schedule` runs over the steps of the stages that do
    not (and of the main epochs) as if they were one run, so the cosine is
    continuous across them.
    """

    schedule: Literal["constant", "cosine"] = "constant"
    curriculum: Optional[List[PredictorStage]] = Field(default=None, min_length=1)


def staged_rate(segments, learning_rate, schedule):
    """A Keras learning-rate schedule over optimizer steps run in `segments`.

    `segments`: `(steps, rate)` pairs in training order. A segment with a
    `rate` holds it; those with `rate=None` follow `schedule` ("constant" or
    "cosine" from `learning_rate` to zero) over their steps taken together.
    """
    import keras
    from keras import ops

    scheduled_steps = sum(steps for steps, rate in segments if rate is None)

    class StagedRate(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = ops.cast(step, "float32")
            clock = ops.zeros((), "float32")  # scheduled steps taken so far
            fixed = ops.zeros((), "float32")
            in_fixed = ops.zeros((), "float32")
            start = 0
            for steps, rate in segments:
                if rate is None:
                    clock = clock + ops.clip(step - start, 0.0, float(steps))
                else:
                    inside = ops.cast((step >= start) & (step < start + steps), "float32")
                    fixed = fixed + inside * rate
                    in_fixed = in_fixed + inside
                start += steps
            if schedule == "cosine":
                progress = ops.minimum(clock / float(max(scheduled_steps, 1)), 1.0)
                scheduled = 0.5 * learning_rate * (1.0 + ops.cos(np.pi * progress))
            else:
                scheduled = ops.full((), learning_rate, "float32")
            return fixed + (1.0 - in_fixed) * scheduled

        def get_config(self):
            return {}

    return StagedRate()


def _optimizer(training, segments):
    """Adam with the training section's clipping and the rates of `segments`.

    (See `staged_rate`; a cosine over plain segments is Keras' `CosineDecay`.)
    """
    import keras

    if training.schedule == "constant" and all(rate is None for _, rate in segments):
        return optimizer(training)
    rate = staged_rate(segments, float(training.learning_rate), training.schedule)
    return keras.optimizers.Adam(rate, clipnorm=training.clipnorm)


def load_split(dataset, split):
    """(inputs, targets, lengths) of one split as described by a `dataset` mapping."""
    from rnnzoo.data import load_numpy

    arrays = load_numpy(dataset["name"], split, config=dataset.get("config"),
                        seed=dataset.get("seed", 0), **dataset.get("params", {}))
    for key in (dataset["inputs"], dataset["targets"]):
        if key not in arrays:
            raise ValueError(f"Dataset {dataset['name']!r} has no feature {key!r}; it has "
                             f"{sorted(k for k in arrays if not k.endswith('_length'))}.")
    inputs = arrays[dataset["inputs"]].astype("float32")
    targets = arrays[dataset["targets"]].astype("float32")
    if targets.ndim == 1:
        targets = targets[:, None]
    lengths = arrays.get(f"{dataset['inputs']}_length")
    if lengths is None:
        lengths = np.full(len(inputs), inputs.shape[1], np.int32)
    return inputs, targets, lengths


def train_windows(inputs, targets, lengths, window):
    """Consecutive non-overlapping `window`-step pieces of per-step sequences.

    A sequence's incomplete tail (shorter than `window`) is dropped.
    """
    if targets.ndim != 3:
        raise RecipeError("data.train_window needs per-step targets (model.per_step: true).")
    pieces_x, pieces_y = [], []
    for x, y, length in zip(inputs, targets, lengths):
        for start in range(0, int(length) - window + 1, window):
            pieces_x.append(x[start : start + window])
            pieces_y.append(y[start : start + window])
    if not pieces_x:
        raise RecipeError(f"data.train_window {window} is longer than every training sequence.")
    pieces = np.stack(pieces_x), np.stack(pieces_y)
    return pieces[0], pieces[1], np.full(len(pieces[0]), window, np.int32)


def _stage_dataset(dataset, stage):
    """The recipe's dataset mapping under a curriculum stage's config and parameters."""
    params = dict(dataset.get("params", {}), **stage.params)
    return dict(dataset, config=stage.config or dataset.get("config"), params=params)


def curriculum_splits(dataset, stages, split, x, y):
    """`(stage, (inputs, targets, lengths))` of each curriculum stage, checked against `x`, `y`."""
    loaded = []
    for stage in stages:
        stage_x, stage_y, lengths = training_split(_stage_dataset(dataset, stage), split)
        if (stage_x.shape[-1], stage_y.ndim, stage_y.shape[-1]) != (
                x.shape[-1], y.ndim, y.shape[-1]):
            raise RecipeError(
                f"training.curriculum stage {stage.model_dump()} gives inputs of "
                f"{stage_x.shape[-1]} features and targets of shape {stage_y.shape[1:]}; "
                f"the main data has {x.shape[-1]} and {y.shape[1:]}.")
        loaded.append((stage, (stage_x, stage_y, lengths)))
    return loaded


def training_split(dataset, split):
    """`load_split`, cut into `train_window` pieces when the dataset asks for it."""
    inputs, targets, lengths = load_split(dataset, split)
    if dataset.get("train_window"):
        return train_windows(inputs, targets, lengths, dataset["train_window"])
    return inputs, targets, lengths


def _scored_steps(inputs, lengths, washout):
    """(examples, time) bool: the valid steps after the washout."""
    steps = np.arange(inputs.shape[1])[None, :]
    return (steps < np.asarray(lengths)[:, None]) & (steps >= washout)


def nrmse_metrics(predictions, targets, scored):
    """RMSE over the scored steps divided by the std of their targets; and the MSE."""
    predictions = predictions.reshape(targets.shape)
    error = (predictions - targets)[scored]
    mse = float(np.mean(error**2))
    nrmse = float(np.sqrt(mse) / np.std(targets[scored]))
    return {"nrmse": nrmse, "mse": mse, "neg_nrmse": -nrmse}


def _delay_features(inputs, delays):
    """(examples, time, (delays + 1) * features): the input and its `delays` predecessors."""
    padded = np.pad(inputs, ((0, 0), (delays, 0), (0, 0)))
    return np.concatenate([padded[:, delays - d : padded.shape[1] - d] for d in range(delays + 1)]
                          + [np.ones(inputs.shape[:2] + (1,), inputs.dtype)], axis=-1)


def linear_baseline_nrmse(dataset, delays):
    """NRMSE of a least-squares linear filter on the last `delays + 1` inputs."""
    x, y, lengths = load_split(dataset, dataset["train_split"])
    valid = _scored_steps(x, lengths, 0)
    weights, *_ = np.linalg.lstsq(_delay_features(x, delays)[valid].astype("float64"),
                                  y[valid].astype("float64"), rcond=None)
    x, y, lengths = load_split(dataset, dataset["split"])
    predictions = _delay_features(x, delays).astype("float64") @ weights
    return nrmse_metrics(predictions, y, _scored_steps(x, lengths, dataset.get("washout", 0)))[
        "nrmse"]


def adding_metrics(predictions, targets):
    """The 1997 criterion: |error| >= 0.04 is wrong; plus the MSE."""
    error = np.abs(predictions.reshape(len(targets), -1)[:, 0] - targets[:, 0])
    wrong = int(np.sum(error >= ADDING_TOLERANCE))
    return {
        "wrong": float(wrong),
        "accuracy": 1.0 - wrong / len(targets),
        "mse": float(np.mean(error**2)),
        "num_test": float(len(targets)),
    }


def next_symbol_metrics(probabilities, targets, lengths, counts, train_max_n):
    """Gers & Schmidhuber's criterion over strings ordered by their n (`counts`)."""
    correct = np.array([
        np.array_equal(probabilities[k, :length] > 0.5, targets[k, :length] > 0.5)
        for k, length in enumerate(lengths)
    ])
    order = np.argsort(counts, kind="stable")
    counts, correct = np.asarray(counts)[order], correct[order]
    failed = counts[~correct]
    first_wrong = int(failed.min()) if len(failed) else None
    passed = counts if first_wrong is None else counts[counts < first_wrong]
    max_n = int(passed.max()) if len(passed) else train_max_n
    return {
        "max_n": float(max_n),
        "accuracy": float(np.mean(correct)),
        "first_wrong_n": float(first_wrong) if first_wrong is not None else -1.0,
        "max_test_n": float(counts.max()),
    }


def _block_n(inputs, lengths):
    """n of each S a^n b^n [c^n] string: (length - 1) / number of blocks."""
    blocks = inputs.shape[-1] - 1
    return (np.asarray(lengths) - 1) // blocks


def measure(model, dataset):
    """The recipe's metrics on its evaluation split."""
    inputs, targets, lengths = load_split(dataset, dataset["split"])
    outputs = model.predict(inputs, batch_size=256, verbose=0)
    criterion = dataset["criterion"]
    if criterion == "adding_1997":
        return adding_metrics(outputs, targets)
    if criterion == "next_symbol":
        if getattr(model, "from_logits", False):
            outputs = 1.0 / (1.0 + np.exp(-outputs))
        return next_symbol_metrics(outputs, targets, lengths, _block_n(inputs, lengths),
                                   int(dataset.get("train_max_n", 0)))
    if criterion == "nrmse":
        return nrmse_metrics(outputs, targets,
                             _scored_steps(inputs, lengths, dataset.get("washout", 0)))
    mask = np.arange(inputs.shape[1])[None, :] < lengths[:, None]
    if outputs.ndim == 3:
        error = ((outputs - targets) ** 2)[mask]
    else:
        error = (outputs - targets) ** 2
    return {"neg_mse": -float(np.mean(error))}


PRIMARY = {"adding_1997": "accuracy", "next_symbol": "max_n", "mse": "neg_mse",
           "nrmse": "neg_nrmse"}


@register_task_recipe
class PredictorRecipe(TaskRecipe):
    task = "sequence_predictor"
    data_spec = PredictorData
    model_spec = PredictorModel
    training_spec = PredictorTraining
    primary_metric = "accuracy"
    higher_is_better = True

    def check(self, recipe):
        super().check(recipe)
        if recipe.model.linear_baseline_delays is not None and recipe.data.criterion != "nrmse":
            raise RecipeError("model.linear_baseline_delays needs data.criterion: nrmse.")
        if recipe.data.train_window is not None and not recipe.model.per_step:
            raise RecipeError("data.train_window needs per-step targets (model.per_step: true).")
        training = recipe.training
        scheduled = training.schedule != "constant" or any(
            stage.learning_rate is not None for stage in training.curriculum or [])
        if scheduled and training.reduce_lr_patience:
            raise RecipeError("training.reduce_lr_patience needs a constant learning rate; "
                              "drop it or the schedule (and the stages' learning_rate).")

    def train(self, recipe, verbose):
        from rnnzoo.tasks import SequencePredictor

        data, spec = recipe.data, recipe.model
        dataset = data.model_dump(exclude={"train_split", "eval_split", "source"})
        dataset["source"] = data.source
        started = time.perf_counter()
        x, y, train_lengths = training_split(dataset, data.train_split)
        seconds_data = time.perf_counter() - started
        if spec.per_step != (y.ndim == 3):
            raise RecipeError(f"model.per_step is {spec.per_step} but target "
                              f"{data.targets!r} has shape {y.shape[1:]} per example.")
        model = SequencePredictor(
            build_layers(spec.backbone, recipe.seed, return_sequences_last=spec.per_step,
                         one_loop=spec.one_loop),
            output_dim=int(y.shape[-1]),
            input_shape=(None, int(x.shape[-1])),
            per_step=spec.per_step,
            loss=spec.loss,
            output_activation=spec.output_activation,
            dropout=spec.dropout,
            mask_value=spec.mask_value,
        )
        training = recipe.training
        started = time.perf_counter()
        stages = curriculum_splits(dataset, training.curriculum or [], data.train_split, x, y)
        seconds_data += time.perf_counter() - started
        segments = [
            (stage.epochs * -(-len(arrays[0]) // (stage.batch_size or training.batch_size)),
             stage.learning_rate)
            for stage, arrays in stages]
        segments.append((training.epochs * -(-len(x) // training.batch_size), None))
        model.compile(optimizer=_optimizer(training, segments))
        started = time.perf_counter()
        for stage, (stage_x, stage_y, _) in stages:
            if verbose:
                print(f"curriculum stage {stage.model_dump()}: {len(stage_x)} sequences "
                      f"of up to {stage_x.shape[1]} steps", flush=True)
            model.fit(stage_x, stage_y, epochs=stage.epochs,
                      batch_size=stage.batch_size or training.batch_size,
                      callbacks=callbacks(training), verbose=verbose)
        history = model.fit(x, y, epochs=recipe.training.epochs,
                            batch_size=recipe.training.batch_size,
                            callbacks=callbacks(recipe.training), verbose=verbose)
        seconds = time.perf_counter() - started
        if data.criterion == "next_symbol":
            dataset["train_max_n"] = int(_block_n(x, train_lengths).max())
        dataset.update(split=data.eval_split, train_split=data.train_split,
                       num_train=int(len(x)))
        started = time.perf_counter()
        metrics = measure(model, dataset)
        seconds_eval = time.perf_counter() - started
        extra = {}
        if spec.linear_baseline_delays is not None:
            metrics["linear_baseline_nrmse"] = linear_baseline_nrmse(
                dataset, spec.linear_baseline_delays)
            extra["linear_baseline_delays"] = spec.linear_baseline_delays
        dataset["num_examples"] = int(metrics.get("num_test", 0)) or int(
            len(load_split(dataset, data.eval_split)[0]))
        from rnnzoo.data import describe

        dataset["citation"] = describe(data.name).citation
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dataset,
            training={
                "epochs": recipe.training.epochs,
                "batch_size": recipe.training.batch_size,
                "seconds": round(seconds, 1),
                "seconds_data": round(seconds_data, 1),
                "seconds_evaluate": round(seconds_eval, 1),
                "final_loss": float(history.history["loss"][-1]),
                **({"curriculum": [stage.model_dump() for stage, _ in stages]}
                   if stages else {}),
            },
            extra={"input_shape": [None, int(x.shape[-1])],
                   "primary_metric": PRIMARY[data.criterion], **extra},
        )

    def evaluate(self, model, metadata):
        return measure(model, metadata["dataset"])

    def tolerance(self, metadata):
        # max_n: one borderline string may flip; allow one n. Fractions: one example.
        if metadata.get("primary_metric") == "max_n":
            return 1.0 + 1e-9
        if metadata.get("primary_metric") in ("neg_mse", "neg_nrmse"):
            metric = metadata["primary_metric"]
            return 1e-4 * max(1.0, abs(float(metadata["metrics"][metric])))
        return super().tolerance(metadata)

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training sequences and their targets, as `train` fits them."""
        dataset = metadata["dataset"]
        inputs, targets, _ = training_split(dataset, dataset.get("train_split", "train"))
        return inputs[:num_examples], targets[:num_examples]
