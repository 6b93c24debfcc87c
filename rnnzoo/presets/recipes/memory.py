"""Recipe handler of `algorithmic_predictor`: the NTM's algorithmic tasks, per step.

The tasks are the episode generators of `rnnzoo.data` for the neural Turing
machine's experiments (Graves et al. 2014, section 4): `copy` (the size of an
episode is the sequence length), `repeat_copy` (the size is the sequence
length; the repeat count is a second axis, `min_repeats..max_repeats`) and
`associative_recall` (the size is the number of items). The model is a
`rnnzoo.tasks.SequencePredictor` with one sigmoid output per target bit
(and, for `repeat_copy`, one for the end marker) at every step
(`per_step=True`, binary cross-entropy on logits); only the steps the
episode's `mask` scores count in the loss (as sample weights) and in the
metrics.

Training follows the papers: each update draws a fresh batch of episodes
whose size is uniform in `[min_size, max_size]` (all episodes in one batch
share the size, and for `repeat_copy` the repeat count, so no padding is
needed), for `training.steps` updates.

Evaluation is on fixed episodes (seeded by `data.eval_seed`), `num_eval` per
size in `data.eval_sizes`: the first of them should be the training maximum,
the others longer (generalisation). A bit is wrong when the sigmoid output is
on the other side of 0.5 from the target. Metrics per size `s`:
`bit_errors_<s>` (mean wrong bits per episode), `bit_accuracy_<s>`,
`sequence_accuracy_<s>` (episodes with no wrong bit); the primary metric
`bit_accuracy` is that of the first evaluation size. For `repeat_copy` the
evaluation points are each size of `eval_sizes` at the first count of
`data.eval_repeats` (which must be `max_repeats`), then the first size at
each further count, so length and repeat generalisation are measured apart
(as in Graves et al. 2014, figure 10); their keys read `<s>x<r>`, e.g.
`bit_errors_5x10`.

An optional `model.baseline` backbone (an LSTM, say) is trained in the same
run on exactly the same batches (same head, optimizer and number of updates)
and measured on the same episodes; its numbers go into the metadata under
`baseline` (the preset's weights are those of `backbone`).
"""

import time
from typing import List, Literal, Optional

import numpy as np
from pydantic import Field, StrictInt

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    RecipeError,
    Strict,
    TaskRecipe,
    Trained,
    build_layers,
    register_task_recipe,
)

class MemoryData(Strict):
    name: Literal["copy", "repeat_copy", "associative_recall"]
    num_bits: StrictInt = Field(default=8, gt=0)
    item_length: StrictInt = Field(default=3, gt=0)
    min_size: StrictInt = Field(default=1, gt=0)
    max_size: StrictInt = Field(gt=0)
    eval_sizes: List[StrictInt] = Field(min_length=1)
    min_repeats: StrictInt = Field(default=1, gt=0)
    max_repeats: Optional[StrictInt] = Field(default=None, gt=0)
    eval_repeats: Optional[List[StrictInt]] = Field(default=None, min_length=1)
    num_eval: StrictInt = Field(default=32, gt=0)
    eval_seed: StrictInt = 12345


class MemoryModel(Strict):
    backbone: List[LayerSpec] = Field(min_length=1)
    baseline: Optional[List[LayerSpec]] = None


class MemoryTraining(Strict):
    steps: StrictInt = Field(gt=0)
    batch_size: StrictInt = Field(default=16, gt=0)
    learning_rate: Number = Field(default=1e-3, gt=0)
    clipnorm: Optional[Number] = Field(default=10.0, gt=0)
    log_every: StrictInt = Field(default=100, gt=0)


# Input channels beyond the bits and target channels beyond them, per task.
_EXTRA_INPUTS = {"copy": 1, "repeat_copy": 2, "associative_recall": 2}
_EXTRA_TARGETS = {"copy": 0, "repeat_copy": 1, "associative_recall": 0}


def episode(data, rng, size, repeats=None):
    """One episode dict (`inputs`, `targets`, `mask`) of the task, of the given size."""
    from rnnzoo.data import algorithmic

    if data["name"] == "copy":
        return algorithmic.copy_example(rng, size, data["num_bits"])
    if data["name"] == "repeat_copy":
        return algorithmic.repeat_copy_example(rng, size, repeats, data["num_bits"],
                                               data["min_repeats"], data["max_repeats"])
    return algorithmic.associative_recall_example(rng, size, data["num_bits"],
                                                  data["item_length"])


def batch(data, rng, size, count, repeats=None):
    """`(inputs, targets, mask)` arrays of `count` episodes of one size (and repeat count)."""
    episodes = [episode(data, rng, size, repeats) for _ in range(count)]
    return tuple(np.stack([e[key] for e in episodes]) for key in ("inputs", "targets", "mask"))


def eval_points(data):
    """`(key, size, repeats)` of every evaluation point, the primary one first."""
    if data["name"] != "repeat_copy":
        return [(str(size), size, None) for size in data["eval_sizes"]]
    first_size, (first_count, *more_counts) = data["eval_sizes"][0], data["eval_repeats"]
    points = [(size, first_count) for size in data["eval_sizes"]]
    points += [(first_size, count) for count in more_counts]
    return [(f"{size}x{count}", size, count) for size, count in points]


def eval_set(data, size, repeats=None):
    """The fixed evaluation episodes of one size (and repeat count)."""
    seed = [data["eval_seed"], size] + ([] if repeats is None else [repeats])
    return batch(data, np.random.default_rng(seed), size, data["num_eval"], repeats)


def measure(model, data):
    """Bit errors and accuracies per evaluation point; see the module docstring."""
    metrics = {}
    for k, (key, size, repeats) in enumerate(eval_points(data)):
        inputs, targets, mask = eval_set(data, size, repeats)
        logits = np.asarray(model.predict_on_batch(inputs))
        wrong = ((logits > 0.0) != (targets > 0.5)) & (mask[..., None] > 0)
        errors = wrong.reshape(len(inputs), -1).sum(axis=1)
        scored = float(mask.sum(axis=1).mean() * targets.shape[-1])
        metrics[f"bit_errors_{key}"] = float(errors.mean())
        metrics[f"bit_accuracy_{key}"] = 1.0 - float(errors.mean()) / scored
        metrics[f"sequence_accuracy_{key}"] = float(np.mean(errors == 0))
        if k == 0:
            metrics["bit_accuracy"] = metrics[f"bit_accuracy_{key}"]
    return metrics


def _build(specs, seed, data):
    from rnnzoo.tasks import SequencePredictor

    features = data["num_bits"] + _EXTRA_INPUTS[data["name"]]
    model = SequencePredictor(
        build_layers(specs, seed, return_sequences_last=True),
        output_dim=data["num_bits"] + _EXTRA_TARGETS[data["name"]],
        input_shape=(None, features),
        per_step=True,
        loss="binary_crossentropy",
    )
    return model


def _fit(models, data, training, seed, verbose):
    """Trains every model on the same stream of batches; returns the last losses."""
    import keras

    for model in models:
        model.compile(optimizer=keras.optimizers.Adam(training.learning_rate,
                                                      clipnorm=training.clipnorm))
    rng = np.random.default_rng(seed)
    running = [[] for _ in models]
    for step in range(1, training.steps + 1):
        size = int(rng.integers(data["min_size"], data["max_size"] + 1))
        repeats = None
        if data["name"] == "repeat_copy":
            repeats = int(rng.integers(data["min_repeats"], data["max_repeats"] + 1))
        inputs, targets, mask = batch(data, rng, size, training.batch_size, repeats)
        for k, model in enumerate(models):
            logs = model.train_on_batch(inputs, targets, sample_weight=mask, return_dict=True)
            running[k].append(float(logs["loss"]))
        if verbose and step % training.log_every == 0:
            means = ", ".join(f"{np.mean(r[-training.log_every:]):.4f}" for r in running)
            print(f"step {step}/{training.steps}: loss {means}", flush=True)
    return [float(np.mean(r[-training.log_every:])) for r in running]


@register_task_recipe
class MemoryTaskRecipe(TaskRecipe):
    task = "algorithmic_predictor"
    data_spec = MemoryData
    model_spec = MemoryModel
    training_spec = MemoryTraining
    primary_metric = "bit_accuracy"
    higher_is_better = True

    def check(self, recipe):
        super().check(recipe)
        data = recipe.data
        if data.max_size < data.min_size:
            raise RecipeError(f"data.max_size ({data.max_size}) is below data.min_size "
                              f"({data.min_size}).")
        if data.name == "associative_recall" and data.min_size < 2:
            raise RecipeError("data.min_size of associative_recall must be at least 2 "
                              "(a query needs an item after it).")
        if data.eval_sizes[0] != data.max_size:
            raise RecipeError(f"data.eval_sizes must start with the training maximum "
                              f"{data.max_size}, got {data.eval_sizes}.")
        repeat_fields = ("max_repeats", "eval_repeats")
        if data.name != "repeat_copy":
            given = [name for name in repeat_fields if getattr(data, name) is not None]
            if given:
                raise RecipeError(f"data.{given[0]} applies to repeat_copy only, "
                                  f"not to {data.name}.")
            return
        missing = [name for name in repeat_fields if getattr(data, name) is None]
        if missing:
            raise RecipeError(f"repeat_copy needs data.{missing[0]}.")
        if data.max_repeats < data.min_repeats:
            raise RecipeError(f"data.max_repeats ({data.max_repeats}) is below "
                              f"data.min_repeats ({data.min_repeats}).")
        if data.eval_repeats[0] != data.max_repeats:
            raise RecipeError(f"data.eval_repeats must start with the training maximum "
                              f"{data.max_repeats}, got {data.eval_repeats}.")

    def train(self, recipe, verbose):
        data = recipe.data.model_dump()
        model = _build(recipe.model.backbone, recipe.seed, data)
        models = [model]
        if recipe.model.baseline:
            models.append(_build(recipe.model.baseline, recipe.seed, data))
        started = time.perf_counter()
        losses = _fit(models, data, recipe.training, recipe.seed, verbose)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        metrics = measure(model, data)
        seconds_eval = time.perf_counter() - started
        # `backbone` in the metadata names the preset's layers only, not the baseline's.
        extra = {"input_shape": [None, int(model.sequence_shape[1])],
                 "primary_metric": self.primary_metric,
                 "backbone": [spec.layer for spec in recipe.model.backbone]}
        if len(models) > 1:
            extra["baseline"] = {
                "backbone": [spec.model_dump() for spec in recipe.model.baseline],
                "parameter_count": int(models[1].count_params()),
                "final_loss": losses[1],
                "metrics": measure(models[1], data),
            }
        from rnnzoo.data import describe

        dataset = dict(data, source="generator", split="eval",
                       num_examples=data["num_eval"] * len(eval_points(data)),
                       citation=describe(data["name"]).citation)
        training = recipe.training
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dataset,
            training={
                "steps": training.steps,
                "batch_size": training.batch_size,
                "episodes": training.steps * training.batch_size,
                "learning_rate": training.learning_rate,
                "seconds": round(seconds, 1),
                "seconds_evaluate": round(seconds_eval, 1),
                "final_loss": losses[0],
                "models_trained_together": len(models),
            },
            extra=extra,
        )

    def evaluate(self, model, metadata):
        return measure(model, metadata["dataset"])

    def tolerance(self, metadata):
        # Bit accuracy: CPU float reordering may flip a borderline bit or two.
        return 1e-3 + 1e-9

    def fine_tune_batch(self, metadata, num_examples=8):
        """Training-size episodes (`inputs`, `targets`) drawn with the recipe's seed."""
        data = metadata["dataset"]
        rng = np.random.default_rng(int(metadata["training"].get("seed", 1)))
        inputs, targets, _ = batch(data, rng, data["max_size"], num_examples,
                                   data.get("max_repeats"))
        return inputs, targets
