"""Recipe handler of `esn_generator`: an echo state network that forecasts in closed loop.

The protocol is that of Jaeger (2001), section 6, on a catalog dataset with
the layout of `mackey_glass` (`rnnzoo.data.dynamics`): a `train` split of one
long run and an evaluation split of windows, each `warmup + horizon` steps,
features `inputs` = s(n) and `targets` = s(n + 1).

Model: `inputs -> reservoir -> [states; inputs] -> Dense readout`, a plain
functional `keras.Model` (the reservoir is any registered layer that returns
sequences, normally `esn`), in `model.dtype` (float64 by default, as the
paper's Mathematica; float32 states cost about a factor 1.5 in NRMSE84, see
benchmarks/README.md). Its input and output are the *squashed* signal
`tanh(s - 1)` when `data.squash` is true (Jaeger's transform; the preset's
metadata says so), so the model is a one-step predictor of its own input and
`rnnzoo.training.generate` runs it in closed loop.

Training: the readout alone, in closed form (`fit_ridge_readout`: teacher
forcing from the zero state, the first `washout` states dropped, float64
ridge regression). With `networks: k > 1`, k reservoirs are drawn (seeds
`seed`, `seed + 1`, ...) and the one with the lowest NRMSE on a *validation*
run is kept: windows of the evaluation split generated with another data seed
(`validation_seed`), so another trajectory than the test windows. The test
windows never take part in the choice.

Metric: `nrmse84` (lower is better): per window, `warmup` teacher-forced
steps from the zero state, then a free run of `horizon` (84) steps; the error
of the last free-run step, over all windows,
`sqrt(mean((y - yhat)^2) / var(s))` in the signal's original coordinates,
`var(s)` the variance of the evaluation windows' inputs.
"""

import time
from typing import Dict, Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    RecipeError,
    Strict,
    TaskRecipe,
    Trained,
    build_layers,
    check_layer_name,
    register_task_recipe,
)


class ESNData(Strict):
    source: Literal["catalog"] = "catalog"
    name: StrictStr = "mackey_glass"
    config: StrictStr = "tau17"
    # Dataset parameters replacing the config's (e.g. a shorter run for tests).
    overrides: Dict[StrictStr, Number] = {}
    train_split: StrictStr = "train"
    eval_split: StrictStr = "test"
    seed: StrictInt = 0
    validation_seed: StrictInt = 1
    squash: StrictBool = True


class ESNModel(Strict):
    reservoir: LayerSpec
    include_inputs: StrictBool = True
    dtype: Literal["float32", "float64"] = "float64"


class ESNTraining(Strict):
    washout: StrictInt = Field(default=1000, ge=0)
    ridge: Number = Field(default=0.0, ge=0.0)
    solver: Literal["auto", "normal", "lstsq"] = "auto"
    networks: StrictInt = Field(default=1, gt=0)


def _windows_params(data):
    from rnnzoo.data import describe

    try:
        params = describe(data["name"]).params(data["config"], **data["overrides"])
    except ValueError as error:
        raise RecipeError(f"data: {error}") from None
    for key in ("warmup", "horizon"):
        if key not in params:
            raise RecipeError(
                f"data: dataset {data['name']!r} has no {key!r} parameter; the esn_generator "
                "recipe needs evaluation windows of warmup + horizon steps (as mackey_glass)."
            )
    return int(params["warmup"]), int(params["horizon"])


def _split(data, split, seed):
    import numpy as np

    from rnnzoo.data import load_numpy

    arrays = load_numpy(data["name"], split, config=data["config"], seed=seed,
                        **data["overrides"])
    return np.asarray(arrays["inputs"], np.float64), np.asarray(arrays["targets"], np.float64)


def _to_model(values, squash):
    from rnnzoo.data.dynamics import squash as tanh_shift

    return tanh_shift(values) if squash else values


def _from_model(values, squash):
    from rnnzoo.data.dynamics import unsquash

    return unsquash(values) if squash else values


def free_run_nrmse(model, inputs, warmup, horizon, squash):
    """NRMSE of the `horizon`-th free-running step after `warmup` teacher-forced steps.

    Args:
        model: the one-step predictor (model space: squashed if `squash`).
        inputs: float array `(windows, warmup + horizon, 1)` of raw signal values.

    Returns:
        A float: `sqrt(mean_windows (s - shat)^2 / var(s))`, original coordinates.
    """
    import numpy as np

    from rnnzoo.training import generate

    if inputs.shape[1] < warmup + horizon:
        raise ValueError(
            f"Expected evaluation windows of at least warmup + horizon = {warmup + horizon} "
            f"steps, got {inputs.shape[1]}."
        )
    dtype = model.inputs[0].dtype
    warm = _to_model(inputs[:, :warmup], squash).astype(dtype)
    predicted = generate(model, warm, horizon)[:, -1]
    truth = inputs[:, warmup + horizon - 1]
    error = _from_model(np.asarray(predicted, np.float64), squash) - truth
    return float(np.sqrt(np.mean(error**2) / np.var(inputs)))


def readout_model(reservoir, features, dtype, include_inputs=True):
    """`inputs -> reservoir -> [states; inputs] -> Dense`, all layers in `dtype`."""
    import keras

    inputs = keras.Input((None, features), dtype=dtype, name="inputs")
    states = reservoir(inputs)
    if include_inputs:
        states = keras.layers.Concatenate(dtype=dtype, name="states_and_inputs")(
            [states, inputs]
        )
    outputs = keras.layers.Dense(features, dtype=dtype, name="readout")(states)
    return keras.Model(inputs, outputs, name="esn_generator")


@register_task_recipe
class ESNGeneratorRecipe(TaskRecipe):
    task = "esn_generator"
    data_spec = ESNData
    model_spec = ESNModel
    training_spec = ESNTraining
    primary_metric = "nrmse84"
    higher_is_better = False

    def check(self, recipe):
        check_layer_name(recipe.model.reservoir.layer)

    def train(self, recipe, verbose):
        from rnnzoo.training import fit_ridge_readout

        data = recipe.data.model_dump()
        warmup, horizon = _windows_params(data)
        metric = f"nrmse{horizon}"
        x_train, y_train = _split(data, data["train_split"], data["seed"])
        if x_train.shape[-1] != 1 or y_train.shape != x_train.shape:
            raise RecipeError(
                f"data: expected one-step-ahead `inputs` and `targets` of one feature, got "
                f"{x_train.shape} and {y_train.shape}."
            )
        x_test, _ = _split(data, data["eval_split"], data["seed"])
        x_valid = None
        if recipe.training.networks > 1:
            x_valid, _ = _split(data, data["eval_split"], data["validation_seed"])
        dtype = recipe.model.dtype
        squash = data["squash"]
        inputs = _to_model(x_train, squash).astype(dtype)
        targets = _to_model(y_train, squash).astype(dtype)

        started = time.perf_counter()
        candidates = []
        best = None
        for k in range(recipe.training.networks):
            seed = recipe.seed + k
            (reservoir,) = build_layers([recipe.model.reservoir], seed,
                                        return_sequences_last=True, dtype=dtype)
            model = readout_model(reservoir, 1, dtype, recipe.model.include_inputs)
            fit_ridge_readout(model, inputs, targets, washout=recipe.training.washout,
                              ridge=float(recipe.training.ridge),
                              solver=recipe.training.solver)
            score = None
            if x_valid is not None:
                score = free_run_nrmse(model, x_valid, warmup, horizon, squash)
                candidates.append({"reservoir_seed": seed, f"validation_{metric}": score})
                if verbose:
                    print(f"  reservoir seed {seed}: validation {metric} {score:.3e}", flush=True)
            if best is None or (score is not None and score < best[0]):
                best = (score, seed, model)
        score, seed, model = best
        seconds = time.perf_counter() - started
        model.compile()
        metrics = {metric: free_run_nrmse(model, x_test, warmup, horizon, squash)}
        if score is not None:
            metrics[f"validation_{metric}"] = score
        extra = {
            "input_transform": "tanh(s - 1)" if squash else "none",
            "usage": (
                "A one-step predictor of its own input; run it in closed loop with "
                "rnnzoo.training.generate(model, warmup, steps)"
                + (" on squashed values tanh(s - 1) (undo with arctanh(v) + 1)."
                   if squash else ".")
            ),
        }
        if metric != self.primary_metric:
            extra["primary_metric"] = metric
        if recipe.reference:
            extra["ours_over_reference"] = {
                key: metrics[metric] / value
                for key, value in recipe.reference.numbers.items() if value
            }
        return Trained(
            model=model,
            metrics=metrics,
            dataset={
                "source": "catalog",
                "name": data["name"],
                "config": data["config"],
                "overrides": data["overrides"],
                "seed": data["seed"],
                "train_split": data["train_split"],
                "split": data["eval_split"],
                "num_examples": int(x_test.shape[0]),
                "train_steps": int(x_train.shape[1]),
                "warmup": warmup,
                "horizon": horizon,
                "squash": squash,
                "validation": (
                    None if x_valid is None else
                    f"{data['eval_split']} split with data seed {data['validation_seed']}"
                ),
                "citation": _citation(data["name"]),
            },
            training={
                "readout": "closed-form ridge regression (float64)",
                "washout": recipe.training.washout,
                "ridge": float(recipe.training.ridge),
                "solver": recipe.training.solver,
                "networks": recipe.training.networks,
                "candidates": candidates,
                "reservoir_seed": seed,
                "dtype": dtype,
                "seconds": round(seconds, 1),
            },
            extra=extra,
        )

    def evaluate(self, model, metadata):
        import numpy as np

        dataset = metadata["dataset"]
        data = {"name": dataset["name"], "config": dataset["config"],
                "overrides": dataset.get("overrides", {})}
        inputs, _ = _split(data, dataset["split"], dataset.get("seed", 0))
        metric = metadata.get("primary_metric", self.primary_metric)
        score = free_run_nrmse(model, np.asarray(inputs), dataset["warmup"],
                               dataset["horizon"], dataset.get("squash", True))
        return {metric: score}

    def fine_tune_batch(self, metadata, num_examples=8):
        """Consecutive input/target windows of the training run, in model space.

        The run is cut into `num_examples` windows of equal length (at most
        500 steps), squashed as the model expects and in the model's dtype;
        each window starts from the zero state, as `fit` runs it.
        """
        dataset = metadata["dataset"]
        data = {"name": dataset["name"], "config": dataset["config"],
                "overrides": dataset.get("overrides", {})}
        x, y = _split(data, dataset.get("train_split", "train"), dataset.get("seed", 0))
        squash = dataset.get("squash", True)
        dtype = metadata.get("training", {}).get("dtype", "float64")
        length = min(x.shape[1] // num_examples, 500)
        if length < 1:
            raise RecipeError(f"data: a training run of {x.shape[1]} steps cannot give "
                              f"{num_examples} windows.")
        def cut(values):
            values = values[0, : num_examples * length]
            return _to_model(values, squash).reshape(num_examples, length, -1).astype(dtype)

        return cut(x), cut(y)

    def tolerance(self, metadata):
        """5% of the recorded NRMSE.

        Same weights and data: the free run is deterministic up to the order of
        float64 reductions (oneDNN/BLAS differ across CPUs, ~1e-16 relative),
        which the 84 chaotic steps amplify by a small factor only (the largest
        Lyapunov exponent of Mackey-Glass tau=17 is about 0.006 per time unit).
        5% leaves room for that (and float32 presets) while any change of the
        weights or the data (another reservoir draw moves NRMSE84 by 2x) fails.
        """
        metric = metadata.get("primary_metric", self.primary_metric)
        return 0.05 * abs(float(metadata["metrics"][metric]))


def _citation(name):
    from rnnzoo.data import describe

    return describe(name).citation
