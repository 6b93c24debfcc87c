"""Training recipes: one YAML file per pretrained preset, validated before training.

`run_recipe("zoo_configs/indrnn_classifier.gunpoint.yaml", out_dir)` rebuilds a
preset offline: it validates the whole file (unknown keys and wrong types are
refused before any data is read), seeds everything, lets the task's handler
load the data, build and train the model and measure it, and writes the preset
folder with the measured numbers and the published ones in its metadata.

Each task has a handler module in this package (`classifier.py`, ...) that
registers itself with `register_task_recipe`; they are imported below.
"""

import os

import yaml
from pydantic import ValidationError

from rnnzoo import registry
from rnnzoo.presets.recipes import anomaly  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import captioner  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import char_generator  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import classifier  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import compressor  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import ctc  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import esn  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import forecaster  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import grid  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import hopfield  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import memory  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import predictor  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import seq2seq  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes import tree  # noqa: F401  (registers its handler)
from rnnzoo.presets.recipes.base import (
    TASK_RECIPES,
    Recipe,
    RecipeError,
    RecipeHeader,
    TaskRecipe,
    backbone_specs,
    register_task_recipe,
)

__all__ = [
    "Recipe",
    "RecipeError",
    "TaskRecipe",
    "evaluate_preset",
    "read_recipe",
    "register_task_recipe",
    "run_recipe",
]


def _error_line(error, prefix=""):
    first = error.errors()[0]
    where = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "") or "(top level)"
    if first["type"] == "missing":
        return f"{where}: {first['msg']}"
    text = repr(first.get("input"))
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{where}: {first['msg']} (got {text})"


def read_yaml_mapping(path, what="Recipe"):
    """The top-level mapping of a YAML file; `what` names the file in errors.

    Raises:
        FileNotFoundError: if `path` does not exist.
        RecipeError: if it is not valid YAML or not a mapping.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} file {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise RecipeError(f"{what} {path}: not valid YAML ({error}).") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"{what} {path}: expected a mapping at the top level, got {raw!r}.")
    return raw


def validate_section(schema, raw, where, prefix=""):
    """`schema.model_validate(raw)`, with pydantic's error as one `RecipeError`
    line; `prefix` is the section's key in the file (e.g. "data")."""
    try:
        return schema.model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"{where}: {_error_line(error, prefix)}.") from None


def read_recipe(path):
    """Reads and validates a recipe; unknown keys and wrong types are refused.

    Raises:
        RecipeError: (a `ValueError`) with one line naming the file and the
            offending key, before any training starts.
        FileNotFoundError: if `path` does not exist.
    """
    path = os.fspath(path)
    raw = read_yaml_mapping(path, "Recipe")
    header = validate_section(RecipeHeader, raw, f"Recipe {path}")
    try:
        registry.check_name(header.name, "preset name")
        handler = TASK_RECIPES.get(header.task)
    except ValueError as error:
        raise RecipeError(f"Recipe {path}: {error}") from None
    sections = {}
    for key, schema in (
        ("data", handler.data_spec),
        ("model", handler.model_spec),
        ("training", handler.training_spec),
    ):
        try:
            sections[key] = schema.model_validate(getattr(header, key))
        except ValidationError as error:
            raise RecipeError(f"Recipe {path}: {_error_line(error, key)}.") from None
    fields = header.model_dump(exclude={"data", "model", "training", "reference"})
    return Recipe(reference=header.reference, path=path, **fields, **sections)


def _recipe_path_for_metadata(path):
    parts = os.path.abspath(path).split(os.sep)
    if "zoo_configs" in parts:
        return "/".join(parts[parts.index("zoo_configs") :])
    return os.path.basename(path)


def run_recipe(path, out_dir, verbose=1, overwrite=True):
    """Trains the preset a recipe describes and writes it to `out_dir`.

    Args:
        path: the recipe YAML file.
        out_dir: str, the preset folder to write (e.g.
            `rnnzoo/presets/shipped/<name>` to rebuild a shipped preset).
        verbose: 0 silent, 1 a progress bar per epoch, 2 one line per epoch.
        overwrite: bool, replace an existing folder.

    Returns:
        The preset metadata as written (metrics included).
    """
    import keras

    from rnnzoo.presets.store import save_preset

    recipe = read_recipe(path)
    handler = TASK_RECIPES.get(recipe.task)
    try:
        handler.check(recipe)
    except RecipeError as error:
        raise RecipeError(f"Recipe {path}: {error}") from None
    keras.utils.set_random_seed(recipe.seed)
    trained = handler.train(recipe, verbose)
    if verbose:
        numbers = ", ".join(f"{k} {v:.4f}" for k, v in trained.metrics.items())
        print(f"{recipe.name}: {numbers}")
    metadata = {
        "name": recipe.name,
        "description": recipe.description,
        "task": recipe.task,
        "backbone": [spec.layer for spec in backbone_specs(recipe.model)],
        "dataset": trained.dataset,
        "metrics": trained.metrics,
        "primary_metric": handler.primary_metric,
        "training": dict(trained.training, seed=recipe.seed),
        "reference": recipe.reference.model_dump() if recipe.reference else None,
        "recipe": _recipe_path_for_metadata(path),
        "license": recipe.license,
    }
    metadata.update(trained.extra)
    return save_preset(trained.model, out_dir, metadata, overwrite=overwrite)


def evaluate_preset(name_or_dir):
    """Loads a preset and measures its recorded metrics again on its recorded data.

    Returns:
        dict with `name`, `dataset` ("name/split"), `metric` (the primary
        metric's name), `recorded` and `measured` (its two values),
        `higher_is_better`, `tolerance`, `all_measured` (every metric) and
        `reference` (the published numbers).
    """
    from rnnzoo.presets.store import load, read_metadata

    metadata = read_metadata(name_or_dir)
    handler = TASK_RECIPES.get(metadata["task"])
    measured = handler.evaluate(load(name_or_dir), metadata)
    metric = metadata.get("primary_metric", handler.primary_metric)
    dataset = metadata["dataset"]
    return {
        "name": metadata["name"],
        "dataset": f"{dataset.get('name')}/{dataset.get('split')}",
        "metric": metric,
        "recorded": metadata["metrics"][metric],
        "measured": measured[metric],
        "higher_is_better": handler.higher_is_better,
        "tolerance": handler.tolerance(metadata),
        "all_measured": measured,
        "reference": metadata.get("reference"),
    }
