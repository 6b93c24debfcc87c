"""Training recipes: one YAML file per pretrained preset, validated before training.

`run_recipe("zoo_configs/indrnn_classifier.gunpoint.yaml", out_dir)` rebuilds
the preset offline: it loads the data, builds the task from registered layers,
trains with a fixed seed, measures the metric on the evaluation split and
writes the preset folder with the numbers in its metadata.
"""

import os
import time
from typing import Any, Dict, List, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic import ValidationError

from rnnzoo import registry

Number = Union[StrictInt, StrictFloat]
# Layer arguments: scalars, or a serialized Keras object (an initializer) as a mapping.
ArgValue = Union[StrictBool, StrictInt, StrictFloat, StrictStr, None, Dict[StrictStr, Any]]


class RecipeError(ValueError):
    """A recipe file that cannot be read or does not fit the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DataSpec(_Strict):
    source: Literal["ucr"] = "ucr"
    name: StrictStr
    train_split: Literal["train", "test"] = "train"
    eval_split: Literal["train", "test"] = "test"


class LayerSpec(_Strict):
    layer: StrictStr
    units: StrictInt = Field(gt=0)
    args: Dict[StrictStr, ArgValue] = {}


class ModelSpec(_Strict):
    task: Literal["sequence_classifier"] = "sequence_classifier"
    backbone: List[LayerSpec] = Field(min_length=1)
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


class TrainingSpec(_Strict):
    epochs: StrictInt = Field(gt=0)
    batch_size: StrictInt = Field(default=16, gt=0)
    learning_rate: Number = Field(default=1e-3, gt=0)
    clipnorm: Optional[Number] = Field(default=None, gt=0)
    reduce_lr_patience: Optional[StrictInt] = Field(default=None, gt=0)


class Reference(_Strict):
    source: StrictStr
    numbers: Dict[StrictStr, Number]


class Recipe(_Strict):
    name: StrictStr
    description: StrictStr = ""
    seed: StrictInt = 1
    data: DataSpec
    model: ModelSpec
    training: TrainingSpec
    reference: Optional[Reference] = None
    license: StrictStr = "Apache-2.0"


def _error_line(error):
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    received = first.get("input")
    text = repr(received)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{where}: {first['msg']} (got {text})"


def read_recipe(path):
    """Reads and validates a recipe; unknown keys and wrong types are refused.

    Raises:
        RecipeError: (a `ValueError`) with one line naming the file and the
            offending key, before any training starts.
        FileNotFoundError: if `path` does not exist.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Recipe file {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise RecipeError(f"Recipe {path}: not valid YAML ({error}).") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"Recipe {path}: expected a mapping at the top level, got {raw!r}.")
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as error:
        raise RecipeError(f"Recipe {path}: {_error_line(error)}.") from None
    try:
        registry.check_name(recipe.name, "preset name")
    except ValueError as error:
        raise RecipeError(f"Recipe {path}: name: {error}") from None
    return recipe


def _load_split(data, split):
    from rnnzoo.data.ucr import load_ucr

    return load_ucr(data.name, split)


def build_model(recipe, input_shape, num_classes):
    """The task model a recipe describes (not yet trained)."""
    import keras

    from rnnzoo.layers import get_layer
    from rnnzoo.tasks import SequenceClassifier

    layers = []
    last = len(recipe.model.backbone) - 1
    for i, spec in enumerate(recipe.model.backbone):
        layer_class = get_layer(spec.layer)
        try:
            layers.append(
                layer_class(
                    spec.units,
                    return_sequences=i < last,
                    seed=recipe.seed + i,
                    **spec.args,
                )
            )
        except (TypeError, ValueError) as error:
            raise RecipeError(f"model.backbone[{i}] ({spec.layer}): {error}") from None
    model = SequenceClassifier(
        layers,
        num_classes=num_classes,
        input_shape=input_shape,
        dropout=recipe.model.dropout,
    )
    training = recipe.training
    model.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate, clipnorm=training.clipnorm)
    )
    return model


def evaluate_classifier(model, data):
    """Accuracy of a classifier on a `TSData` split (a plain float in [0, 1])."""
    import numpy as np

    logits = model.predict(data.x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y))


def run_recipe(path, out_dir, verbose=1, overwrite=True):
    """Trains the preset a recipe describes and writes it to `out_dir`.

    Args:
        path: the recipe YAML file.
        out_dir: str, the preset folder to write (e.g.
            `rnnzoo/presets/shipped/<name>` to rebuild a shipped preset).
        verbose: 0 silent, 1 a progress bar per epoch block (Keras), 2 one
            line per epoch.
        overwrite: bool, replace an existing folder.

    Returns:
        The preset metadata as written (metrics included).
    """
    import keras

    from rnnzoo.presets.store import save_preset

    recipe = read_recipe(path)
    # Validate the layer names before any data is read or any training starts.
    for i, spec in enumerate(recipe.model.backbone):
        if spec.layer not in registry.LAYERS:
            import rnnzoo.layers  # noqa: F401  (registers the layers)
        if spec.layer not in registry.LAYERS:
            raise RecipeError(
                f"Recipe {path}: model.backbone[{i}].layer: "
                + registry.unknown_name_message("layer", spec.layer, registry.LAYERS.names())
            )
    train = _load_split(recipe.data, recipe.data.train_split)
    test = _load_split(recipe.data, recipe.data.eval_split)
    keras.utils.set_random_seed(recipe.seed)
    model = build_model(recipe, (None, train.x.shape[2]), len(train.class_names))
    callbacks = []
    if recipe.training.reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="loss", factor=0.5, patience=recipe.training.reduce_lr_patience,
                min_lr=1e-5,
            )
        )
    started = time.perf_counter()
    history = model.fit(
        train.x,
        train.y,
        epochs=recipe.training.epochs,
        batch_size=recipe.training.batch_size,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    accuracy = evaluate_classifier(model, test)
    if verbose:
        print(f"{recipe.name}: {recipe.data.eval_split} accuracy {accuracy:.4f} "
              f"after {recipe.training.epochs} epochs ({seconds:.0f} s)")
    metadata = {
        "name": recipe.name,
        "description": recipe.description,
        "task": recipe.model.task,
        "backbone": [spec.layer for spec in recipe.model.backbone],
        "dataset": {
            "source": recipe.data.source,
            "name": recipe.data.name,
            "train_split": recipe.data.train_split,
            "split": recipe.data.eval_split,
            "num_examples": int(len(test.y)),
            "class_names": list(train.class_names),
            "citation": "Dau et al. (2019), The UCR time series archive.",
        },
        "input_shape": [None, int(train.x.shape[2])],
        "metrics": {"accuracy": accuracy},
        "training": {
            "epochs": recipe.training.epochs,
            "seconds": round(seconds, 1),
            "final_loss": float(history.history["loss"][-1]),
            "seed": recipe.seed,
        },
        "reference": recipe.reference.model_dump() if recipe.reference else None,
        "recipe": _recipe_path_for_metadata(path),
        "license": recipe.license,
    }
    return save_preset(model, out_dir, metadata, overwrite=overwrite)


def _recipe_path_for_metadata(path):
    path = os.path.abspath(os.fspath(path))
    parts = path.split(os.sep)
    if "zoo_configs" in parts:
        return "/".join(parts[parts.index("zoo_configs"):])
    return os.path.basename(path)


def evaluate_preset(name_or_dir):
    """Loads a preset and measures its recorded metric again on its recorded split.

    Returns:
        dict with `recorded` and `measured` accuracy and the dataset split.
    """
    from rnnzoo.presets.store import load, read_metadata

    metadata = read_metadata(name_or_dir)
    dataset = metadata["dataset"]
    if dataset.get("source") != "ucr":
        raise ValueError(f"Cannot evaluate a preset on data source {dataset.get('source')!r}.")
    model = load(name_or_dir)
    data = _load_split(DataSpec(name=dataset["name"]), dataset["split"])
    return {
        "name": metadata["name"],
        "dataset": f"{dataset['name']}/{dataset['split']}",
        "recorded": metadata["metrics"]["accuracy"],
        "measured": evaluate_classifier(model, data),
        "reference": metadata.get("reference"),
    }
