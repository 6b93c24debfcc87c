"""Tuning recipes: the YAML files `rnnzoo tune` runs (examples in zoo_configs/tuning/).

A tuning recipe is not a preset recipe (those rebuild one shipped preset and
live in zoo_configs/*.yaml); it describes a search:

    name: classifier_search.gunpoint      # snake_case, optional .tag
    description: ...
    seed: 1
    task: sequence_classifier
    data:                                  # the data section of the task's
      source: ucr                          # training recipes, plus
      name: GunPoint                       # validation_split (the part of the
      validation_split: 0.3                # training split trials are scored on)
    space:                                 # optional
      cell_types: [lstm, gru, indrnn, esn] # default: every step-wise variant
      fixed: {num_layers: 1}               # hp.Fixed values
    tuner: RandomSearch                    # or Hyperband, BayesianOptimization
    budget: {max_trials: 8, epochs: 40, batch_size: 16}   # Hyperband: no max_trials
    output: runs/classifier_search.gunpoint               # default: ./<name>
    baseline: true                         # also train the default model, same budget
    save_preset: lstm_classifier.gunpoint_tuned            # optional

The file is validated whole (unknown keys, wrong types, unknown layers and
tasks) before any data is read. The search reuses the preset recipes' data
loading (`rnnzoo.presets.recipes`) and writes the best model with
`rnnzoo.presets.save_preset`, so this module sits at the presets level of the
import order; `rnnzoo.tuning`'s own modules never import it.

`task_args` (optional mapping) goes to the task's HyperModel: contract
arguments the data does not fix (a forecaster's `mode`) and task arguments
that are not searched (`residual`, `mask_value`, ...).

Tasks `rnnzoo tune` can read data for, and the test metric it reports:

- sequence_classifier: the classifier recipes' data (UCR or catalog sets);
  trials score on a stratified `validation_split` of the training split;
  accuracy on `eval_split`.
- forecaster: `source: series` of the forecaster recipes (`name`, `window`,
  `horizon`, `test_fraction`); trials score on the latest `validation_split`
  of the training windows; RMSE on the test windows (after the cut). The
  model normalises with the training part's mean and std.

The HyperModels of the other tasks are used from Python
(`rnnzoo.tuning.seq2seq_search(...)` and siblings).
"""

import json
import os
import sys
import time
from typing import Any, Dict, List, Literal, Optional

from pydantic import Field, StrictBool, StrictInt, StrictStr, model_validator

from rnnzoo import registry
from rnnzoo.presets.recipes import RecipeError, read_yaml_mapping, validate_section
from rnnzoo.presets.recipes.base import Number, Strict
from rnnzoo.presets.recipes.classifier import ClassifierData
from rnnzoo.presets.recipes.forecaster import ForecasterData

SUMMARY_FILE = "summary.json"
PROJECT = "search"
HP_VALUE = (StrictBool, StrictInt, Number, StrictStr)


class TuneClassifierData(ClassifierData):
    validation_split: Number = Field(default=0.2, gt=0.0, lt=1.0)


class TuneForecasterData(ForecasterData):
    source: Literal["series"]
    validation_split: Number = Field(default=0.2, gt=0.0, lt=1.0)


class SearchSpace(Strict):
    cell_types: Optional[List[StrictStr]] = Field(default=None, min_length=1)
    fixed: Dict[StrictStr, Any] = {}


class Budget(Strict):
    max_trials: Optional[StrictInt] = Field(default=None, gt=0)
    epochs: StrictInt = Field(gt=0)
    batch_size: StrictInt = Field(default=16, gt=0)
    executions_per_trial: StrictInt = Field(default=1, gt=0)


class TuneRecipe(Strict):
    name: StrictStr
    description: StrictStr = ""
    seed: StrictInt = 1
    task: StrictStr
    data: Dict[StrictStr, Any]
    space: SearchSpace = SearchSpace()
    tuner: Literal["RandomSearch", "Hyperband", "BayesianOptimization"] = "RandomSearch"
    budget: Budget
    task_args: Dict[StrictStr, Any] = {}
    output: Optional[StrictStr] = None
    baseline: StrictBool = True
    save_preset: Optional[StrictStr] = None
    license: StrictStr = "Apache-2.0"

    @model_validator(mode="after")
    def _budget_fits_tuner(self):
        if self.tuner == "Hyperband" and self.budget.max_trials is not None:
            raise ValueError("budget.max_trials does not apply to Hyperband (it plans its "
                             "own brackets from budget.epochs); remove it")
        if self.tuner != "Hyperband" and self.budget.max_trials is None:
            raise ValueError(f"budget.max_trials is required by {self.tuner}")
        for key, value in self.space.fixed.items():
            if not isinstance(value, (bool, int, float, str)):
                raise ValueError(f"space.fixed.{key} must be a number, a string or a "
                                 f"boolean, got {value!r}")
        return self


# task -> schema of its data section
DATA_SPECS = {"sequence_classifier": TuneClassifierData, "forecaster": TuneForecasterData}


def read_tune_recipe(path):
    """Reads and validates a tuning recipe (no TensorFlow import).

    Returns:
        `(recipe, data)`: the `TuneRecipe` and its parsed data section.

    Raises:
        RecipeError: one line naming the file and the offending key.
        FileNotFoundError: if `path` does not exist.
    """
    path = os.fspath(path)
    raw = read_yaml_mapping(path, "Tuning recipe")
    recipe = validate_section(TuneRecipe, raw, f"Tuning recipe {path}")
    try:
        registry.check_name(recipe.name, "tuning recipe name")
        if recipe.save_preset is not None:
            registry.check_name(recipe.save_preset, "preset name")
    except ValueError as error:
        raise RecipeError(f"Tuning recipe {path}: {error}") from None
    if recipe.task not in DATA_SPECS:
        raise RecipeError(
            f"Tuning recipe {path}: task {recipe.task!r} has no data reader in rnnzoo tune "
            f"(supported: {', '.join(DATA_SPECS)}); tune the other tasks from Python with "
            "rnnzoo.tuning.<task>_search."
        )
    data = validate_section(DATA_SPECS[recipe.task], recipe.data, f"Tuning recipe {path}", "data")
    return recipe, data


def _split_validation(train, fraction, seed):
    """Stratified split of a classifier's training split into fit and validation parts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(train.y):
        where = rng.permutation(np.flatnonzero(train.y == label))
        held.extend(where[: max(1, int(round(fraction * len(where))))])
    held = np.zeros(len(train.y), bool) | np.isin(np.arange(len(train.y)), held)
    if held.all():
        raise RecipeError("data.validation_split leaves no training examples; lower it.")
    return (train.x[~held], train.y[~held]), (train.x[held], train.y[held])


class Setup:
    """What a task brings to a search: HyperModel, data parts and the test metric."""

    def __init__(self, hypermodel, fit, validation, measure, metric, dataset):
        self.hypermodel, self.fit, self.validation = hypermodel, fit, validation
        self.measure, self.metric, self.dataset = measure, metric, dataset


def _hypermodel(hypermodel_class, recipe, **contract):
    try:
        return hypermodel_class(cell_types=recipe.space.cell_types, seed=recipe.seed,
                                **contract, **recipe.task_args)
    except (TypeError, ValueError) as error:  # TypeError: an argument the data sets
        raise RecipeError(f"task_args: {error}") from None


def _forecaster_setup(recipe, data):
    import numpy as np

    from rnnzoo.data.series import forecast_windows, load_series
    from rnnzoo.tasks.forecaster import forecast_metrics
    from rnnzoo.tuning.hypermodels import ForecasterHyperModel

    values = load_series(data.name).values
    x, y = forecast_windows(values, data.window, data.horizon, "train", data.test_fraction)
    test_x, test_y = forecast_windows(values, data.window, data.horizon, "test",
                                      data.test_fraction)
    held = max(1, int(round(len(x) * data.validation_split)))  # the latest windows
    if held >= len(x):
        raise RecipeError("data.validation_split leaves no training windows; lower it.")
    cut = len(values) - int(round(len(values) * data.test_fraction))
    train_values = np.asarray(values[:cut], "float64")
    hypermodel = _hypermodel(ForecasterHyperModel, recipe, window=data.window,
                             horizon=data.horizon, mean=float(train_values.mean()),
                             std=float(train_values.std()))
    fit = (x[:-held, :, None], y[:-held, :, None])
    validation = (x[-held:, :, None], y[-held:, :, None])

    def measure(model):
        return forecast_metrics(test_y[..., None], model.predict(test_x[..., None],
                                                                 verbose=0))["rmse"]

    dataset = {"source": "series", "name": data.name, "window": data.window,
               "horizon": data.horizon, "test_fraction": data.test_fraction,
               "validation_split": data.validation_split, "split": "test",
               "num_examples": int(len(test_y))}
    return Setup(hypermodel, fit, validation, measure, "rmse", dataset)


def _classifier_setup(recipe, data):
    from rnnzoo.presets.recipes.classifier import accuracy, load_split
    from rnnzoo.tuning.hypermodels import SequenceClassifierHyperModel

    spec = data.model_dump()
    train = load_split(spec, data.train_split)
    evaluation = load_split(spec, data.eval_split)
    fit, validation = _split_validation(train, data.validation_split, recipe.seed)
    contract = dict(input_shape=(None, int(train.x.shape[2])),
                    num_classes=len(train.class_names))
    if "max_timesteps" not in recipe.task_args:
        contract["max_timesteps"] = int(train.x.shape[1])
    hypermodel = _hypermodel(SequenceClassifierHyperModel, recipe, **contract)
    dataset = {"source": data.source, "name": data.name, "train_split": data.train_split,
               "split": data.eval_split, "validation_split": data.validation_split,
               "num_examples": int(len(evaluation.y)), "class_names": list(train.class_names)}
    return Setup(hypermodel, fit, validation, lambda model: accuracy(model, evaluation),
                 "accuracy", dataset)


SETUPS = {"sequence_classifier": _classifier_setup, "forecaster": _forecaster_setup}


def _hyperparameters(recipe):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for key, value in recipe.space.fixed.items():
        hp.Fixed(key, value)
    return hp


def _jsonable(values):
    def plain(value):
        if isinstance(value, float):
            return float(f"{value:.6g}")  # 0.30000000000000004 -> 0.3
        return value if isinstance(value, (bool, int, str)) or value is None else str(value)

    return {key: plain(value) for key, value in values.items()}


def _recipe_path(path):
    parts = os.path.abspath(path).split(os.sep)
    if "zoo_configs" in parts:
        return "/".join(parts[parts.index("zoo_configs"):])
    return os.path.basename(path)


def run_tune_recipe(path, out_dir=None, verbose=1, overwrite=False,
                    distributed_timeout=None):
    """Runs the search a tuning recipe describes; see the module docstring.

    Args:
        path: the recipe YAML file.
        out_dir: output folder (default the recipe's `output`, else ./<name>).
            The tuner's trials live in `<out_dir>/search`; the summary in
            `<out_dir>/summary.json`; a saved preset in `<out_dir>/<save_preset>`.
        verbose: 0 silent, 1 Keras Tuner's trial summaries and one line per epoch.
        overwrite: bool, start afresh instead of resuming a search in `out_dir`.
        distributed_timeout: seconds a distributed chief waits without progress
            (default `rnnzoo.tuning.tuners.DEFAULT_DISTRIBUTED_TIMEOUT`).

    Returns:
        The summary dict (on a worker: its role and the trials it ran).
    """
    recipe, data = read_tune_recipe(path)
    import keras

    from rnnzoo.tuning import tuners
    from rnnzoo.tuning.space import resolve_cell_types

    role = tuners.role()
    out_dir = os.fspath(out_dir or recipe.output or recipe.name)
    try:  # before any data is read
        resolve_cell_types(recipe.space.cell_types, "the search")
    except ValueError as error:
        raise RecipeError(f"Tuning recipe {path}: space.cell_types: {error}") from None
    keras.utils.set_random_seed(recipe.seed)
    setup = SETUPS[recipe.task](recipe, data)
    hypermodel, fit, validation, measure = (setup.hypermodel, setup.fit, setup.validation,
                                            setup.measure)
    metric, dataset = setup.metric, setup.dataset
    known = _declared_names(hypermodel) if recipe.space.fixed else set()
    for key in recipe.space.fixed:
        if key not in known:
            raise RecipeError(
                f"Tuning recipe {path}: space.fixed.{key} is not a hyper-parameter of this "
                f"search; known: {', '.join(sorted(known))}."
            )
    if role != "local":  # the chief serves, workers wait for it (gRPC wait_for_ready)
        print(f"rnnzoo tune: {role} {os.environ['KERASTUNER_TUNER_ID']} ready, oracle at "
              f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}",
              file=sys.stderr, flush=True)
    tuner = tuners.make_tuner(
        hypermodel, tuner=recipe.tuner, max_trials=recipe.budget.max_trials,
        max_epochs=recipe.budget.epochs, seed=recipe.seed, directory=out_dir,
        project_name=PROJECT, overwrite=overwrite and role == "local",
        hyperparameters=_hyperparameters(recipe),
        executions_per_trial=recipe.budget.executions_per_trial,
    )
    started = time.perf_counter()
    fit_kwargs = dict(validation_data=validation, batch_size=recipe.budget.batch_size,
                      verbose=2 if verbose else 0)
    if recipe.tuner != "Hyperband":
        fit_kwargs["epochs"] = recipe.budget.epochs
    timeout = tuners.DEFAULT_DISTRIBUTED_TIMEOUT if distributed_timeout is None \
        else distributed_timeout
    if verbose:
        tuner.search_space_summary()
    tuners.search(tuner, *fit, distributed_timeout=timeout, **fit_kwargs)
    seconds = time.perf_counter() - started
    if role == "worker":
        return {"role": "worker", "tuner_id": os.environ["KERASTUNER_TUNER_ID"],
                "seconds": round(seconds, 1)}

    objective = tuner.oracle.objective.name
    trials = []
    for trial in tuner.oracle.trials.values():
        trials.append({"trial_id": trial.trial_id, "status": str(trial.status),
                       "score": trial.score,
                       "hyperparameters": _jsonable(trial.hyperparameters.values)})
    best_trial = tuner.oracle.get_best_trials(1)[0]
    best_model = tuner.get_best_models(1)[0]
    summary = {
        "name": recipe.name, "task": recipe.task, "tuner": recipe.tuner, "role": role,
        "objective": objective, "dataset": dataset, "budget": recipe.budget.model_dump(),
        "search_seconds": round(seconds, 1), "trials": sorted(trials, key=lambda t: t["trial_id"]),
        "metric": metric,
        "best": {"trial_id": best_trial.trial_id, objective: best_trial.score,
                 metric: measure(best_model),
                 "hyperparameters": _jsonable(best_trial.hyperparameters.values),
                 "parameter_count": int(best_model.count_params())},
    }
    if recipe.baseline:
        summary["default"] = _train_default(recipe, hypermodel, fit, validation, measure,
                                            objective, metric)
    os.makedirs(out_dir, exist_ok=True)
    if recipe.save_preset:
        preset_dir = os.path.join(out_dir, recipe.save_preset)
        metrics = {metric: summary["best"][metric]}
        if recipe.baseline:
            metrics[f"default_{metric}"] = summary["default"][metric]
        save_best_preset(best_model, preset_dir, recipe, path, dataset, metrics,
                         summary["best"]["hyperparameters"], metric)
        summary["preset"] = preset_dir
    with open(os.path.join(out_dir, SUMMARY_FILE), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return summary


def _declared_names(hypermodel):
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)  # declares the whole space, conditional scopes included
    return {p.name for p in hp.space}


def _train_default(recipe, hypermodel, fit, validation, measure, objective, metric):
    """The default configuration (every hyper-parameter at its default), same budget."""
    import keras
    import keras_tuner

    keras.utils.set_random_seed(recipe.seed)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    started = time.perf_counter()
    history = model.fit(*fit, validation_data=validation, epochs=recipe.budget.epochs,
                        batch_size=recipe.budget.batch_size, verbose=0)
    values = history.history.get(objective, [float("nan")])
    best = max(values) if objective.endswith("accuracy") else min(values)
    return {objective: float(best), metric: measure(model),
            "hyperparameters": _jsonable(hp.values),
            "parameter_count": int(model.count_params()),
            "seconds": round(time.perf_counter() - started, 1)}


def save_best_preset(model, directory, recipe, path, dataset, metrics, hyperparameters,
                     metric):
    from rnnzoo.presets.store import save_preset

    cell = hyperparameters.get("cell_type")
    metadata = {
        "name": recipe.save_preset,
        "description": recipe.description or f"Best model of the search {recipe.name}.",
        "task": recipe.task,
        "backbone": [cell] * int(hyperparameters.get("num_layers", 1)),
        "dataset": dataset,
        "metrics": metrics,
        "primary_metric": metric,
        "training": {"epochs": recipe.budget.epochs, "seed": recipe.seed,
                     "tuner": recipe.tuner, "hyperparameters": hyperparameters},
        "reference": None,
        "recipe": _recipe_path(path),
        "license": recipe.license,
        "input_shape": list(model.input_shape[1:]),
    }
    return save_preset(model, directory, metadata, overwrite=True)
