"""Recipe handler of `sequence_classifier`: many-to-one classification.

Data sources (`data.source`):

- `ucr` (default): a UCR/UEA archive set by `name` (`rnnzoo.data.ucr`),
  `train_split`/`eval_split` "train" or "test".
- `catalog`: any dataset registered in `rnnzoo.data` (see
  `rnnzoo.data.list_datasets()`), read with `rnnzoo.data.load_numpy(name,
  split, config=config, seed=seed, **overrides)`. `inputs` and `label` name
  the features holding the sequences and the integer class labels (defaults
  "inputs" and "label"). Sequences are `(time, features)` floats, or
  `(time,)`: integer tokens when `one_hot` gives the vocabulary size (each
  token becomes a one-hot row, padding steps stay all-zero rows, so
  `model.mask_value: 0.0` masks them), otherwise one real feature. Variable
  lengths come zero-padded from `load_numpy`; when it reports them, the
  accuracy is also given per length (`accuracy_by_length` in the metadata).
  `class_names` optionally names the classes (default "0", "1", ...);
  `num_classes` defaults to the largest training label plus one.

Model: the backbone layers, a dropout before the head and an optional
`mask_value` (a `keras.layers.Masking` step for padded sequences). An optional
`baseline` backbone is trained the same way on the same data (same head,
mask, optimizer, epochs) and its accuracy is recorded beside the preset's as
`<first baseline layer>_baseline_accuracy`; the preset's weights are those of
`backbone`.

Training: the common section, plus an optional `curriculum`, a list of
stages `{max_length: L, epochs: E}` run in order before the main `epochs`:
each stage trains E epochs on the training sequences of length at most L
only (catalog sets that report lengths, such as the Tomita grammars; Giles
et al. 1992 grew their training set from short strings the same way). The
main `epochs` then use the whole training split. A baseline gets the same
curriculum.
"""

import time
from typing import Any, Dict, List, Literal, Optional

from pydantic import Field, StrictInt, StrictStr, model_validator

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

UCR_CITATION = "Dau et al. (2019), The UCR time series archive."
# Keys that only a `catalog` source may set.
_CATALOG_ONLY = ("config", "overrides", "seed", "inputs", "label", "one_hot", "class_names",
                 "num_classes")


class ClassifierData(Strict):
    source: Literal["ucr", "catalog"] = "ucr"
    name: StrictStr
    train_split: StrictStr = "train"
    eval_split: StrictStr = "test"
    # source: catalog only
    config: Optional[StrictStr] = None
    overrides: Dict[StrictStr, Any] = {}
    seed: StrictInt = 0
    inputs: StrictStr = "inputs"
    label: StrictStr = "label"
    one_hot: Optional[StrictInt] = Field(default=None, ge=2)
    class_names: Optional[List[StrictStr]] = Field(default=None, min_length=2)
    num_classes: Optional[StrictInt] = Field(default=None, ge=2)

    @model_validator(mode="after")
    def _source_fields(self):
        if self.source == "ucr":
            extra = sorted(set(_CATALOG_ONLY) & self.model_fields_set)
            if extra:
                raise ValueError(f"{extra} apply to `source: catalog` only")
            for key in ("train_split", "eval_split"):
                if getattr(self, key) not in ("train", "test"):
                    raise ValueError(f"{key} of a UCR set is 'train' or 'test'")
        elif (self.class_names and self.num_classes
              and len(self.class_names) != self.num_classes):
            raise ValueError("class_names and num_classes disagree")
        return self


class ClassifierModel(Strict):
    backbone: List[LayerSpec] = Field(min_length=1)
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)
    mask_value: Optional[Number] = None
    baseline: Optional[List[LayerSpec]] = Field(default=None, min_length=1)


class CurriculumStage(Strict):
    max_length: StrictInt = Field(gt=0)
    epochs: StrictInt = Field(gt=0)


class ClassifierTraining(TrainingSpec):
    curriculum: Optional[List[CurriculumStage]] = Field(default=None, min_length=1)


class Split:
    """One split: `x` (examples, time, features) float32, `y` int labels, optional lengths."""

    def __init__(self, x, y, class_names, lengths=None):
        self.x, self.y, self.class_names, self.lengths = x, y, class_names, lengths


def _load_ucr(name, split):
    from rnnzoo.data.ucr import load_ucr

    data = load_ucr(name, split)
    return Split(data.x, data.y, list(data.class_names))


def _load_catalog(data, split):
    """A catalog split as a `Split`; `data` is the dataset dict of the metadata."""
    import numpy as np

    from rnnzoo.data import load_numpy

    try:
        arrays = load_numpy(data["name"], split, config=data.get("config"),
                            seed=data.get("seed", 0), **data.get("overrides", {}))
    except ValueError as error:
        raise RecipeError(f"data: {error}") from None
    for key in (data["inputs"], data["label"]):
        if key not in arrays:
            raise RecipeError(
                f"data: dataset {data['name']!r} has no feature {key!r}; it has "
                f"{sorted(k for k in arrays if not k.endswith('_length'))}."
            )
    x = np.asarray(arrays[data["inputs"]])
    y = np.asarray(arrays[data["label"]])
    lengths = arrays.get(f"{data['inputs']}_length")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise RecipeError(
            f"data: the label feature {data['label']!r} must hold one integer class per "
            f"example, got dtype {y.dtype} and shape {y.shape}."
        )
    depth = data.get("one_hot")
    if depth is not None:
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise RecipeError(
                f"data: one_hot needs integer token sequences (examples, time), got "
                f"{x.dtype} of shape {x.shape}."
            )
        if x.size and (x.min() < 0 or x.max() >= depth):
            raise RecipeError(
                f"data: tokens must lie in [0, one_hot={depth}), got values in "
                f"[{x.min()}, {x.max()}]."
            )
        tokens = x
        x = np.eye(depth, dtype=np.float32)[tokens]
        if lengths is not None:  # padding steps become all-zero rows (maskable)
            x[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0.0
    elif x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise RecipeError(
            f"data: expected sequences (examples, time, features) or (examples, time) in "
            f"{data['inputs']!r}, got shape {x.shape}."
        )
    names = data.get("class_names")
    count = data.get("num_classes") or (len(names) if names else int(y.max()) + 1)
    names = names or [str(k) for k in range(max(count, 2))]
    if y.size and (y.min() < 0 or y.max() >= len(names)):
        raise RecipeError(
            f"data: labels must lie in [0, {len(names)}), got values in [{y.min()}, {y.max()}]."
        )
    return Split(x.astype(np.float32), y, list(names), lengths)


def load_split(data, split):
    """A split of the data a recipe (or a preset's metadata) describes."""
    if data.get("source", "ucr") == "catalog":
        return _load_catalog(data, split)
    return _load_ucr(data["name"], split)


def accuracy(model, data):
    """Accuracy of a classifier on a split (a plain float in [0, 1])."""
    import numpy as np

    logits = model.predict(data.x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y))


def accuracy_by_length(model, data):
    """dict length -> accuracy (as str -> float, for JSON); empty without lengths."""
    import numpy as np

    if data.lengths is None:
        return {}
    right = np.argmax(model.predict(data.x, batch_size=256, verbose=0), axis=-1) == data.y
    return {str(int(n)): float(np.mean(right[data.lengths == n]))
            for n in np.unique(data.lengths)}


def _fit_classifier(recipe, specs, train, verbose):
    from rnnzoo.tasks import SequenceClassifier

    model = SequenceClassifier(
        build_layers(specs, recipe.seed),
        num_classes=len(train.class_names),
        input_shape=(None, int(train.x.shape[2])),
        dropout=recipe.model.dropout,
        mask_value=recipe.model.mask_value,
    )
    model.compile(optimizer=optimizer(recipe.training))
    started = time.perf_counter()
    for stage in recipe.training.curriculum or []:
        if train.lengths is None:
            raise RecipeError("training.curriculum needs a dataset that reports sequence "
                              "lengths (a `catalog` source with variable lengths).")
        short = train.lengths <= stage.max_length
        if not short.any():
            raise RecipeError(f"training.curriculum: no training sequence is at most "
                              f"{stage.max_length} steps long.")
        model.fit(train.x[short], train.y[short], epochs=stage.epochs,
                  batch_size=recipe.training.batch_size, verbose=verbose)
    history = model.fit(
        train.x,
        train.y,
        epochs=recipe.training.epochs,
        batch_size=recipe.training.batch_size,
        callbacks=callbacks(recipe.training),
        verbose=verbose,
    )
    return model, time.perf_counter() - started, float(history.history["loss"][-1])


def _dataset_metadata(data, test, train):
    if data.source == "ucr":
        return {"source": "ucr", "name": data.name, "citation": UCR_CITATION}
    from rnnzoo.data import describe

    described = {key: getattr(data, key) for key in
                 ("name", "config", "overrides", "seed", "inputs", "label", "one_hot")}
    described.update(source="catalog", citation=describe(data.name).citation)
    described["class_names"] = list(train.class_names)
    if train.lengths is not None:
        described["train_lengths"] = [int(train.lengths.min()), int(train.lengths.max())]
        described["eval_lengths"] = [int(test.lengths.min()), int(test.lengths.max())]
    return described


@register_task_recipe
class ClassifierRecipe(TaskRecipe):
    task = "sequence_classifier"
    data_spec = ClassifierData
    model_spec = ClassifierModel
    training_spec = ClassifierTraining

    def train(self, recipe, verbose):
        data = recipe.data.model_dump()
        train = load_split(data, recipe.data.train_split)
        test = load_split(data, recipe.data.eval_split)
        model, seconds, final_loss = _fit_classifier(recipe, recipe.model.backbone, train,
                                                     verbose)
        metrics = {"accuracy": accuracy(model, test)}
        extra = {"input_shape": [None, int(train.x.shape[2])]}
        if recipe.model.baseline:  # the preset's own backbone, without the baseline's
            extra["backbone"] = [spec.layer for spec in recipe.model.backbone]
        by_length = accuracy_by_length(model, test)
        if by_length:
            extra["accuracy_by_length"] = by_length
        training = {"epochs": recipe.training.epochs, "seconds": round(seconds, 1),
                    "final_loss": final_loss}
        if recipe.training.curriculum:
            training["curriculum"] = [stage.model_dump() for stage in recipe.training.curriculum]
        if recipe.model.baseline:
            baseline, baseline_seconds, baseline_loss = _fit_classifier(
                recipe, recipe.model.baseline, train, verbose)
            key = f"{recipe.model.baseline[0].layer}_baseline_accuracy"
            metrics[key] = accuracy(baseline, test)
            extra["baseline"] = {
                "backbone": [spec.model_dump() for spec in recipe.model.baseline],
                "parameter_count": int(baseline.count_params()),
                "seconds": round(baseline_seconds, 1),
                "final_loss": baseline_loss,
            }
            if by_length:
                extra["baseline"]["accuracy_by_length"] = accuracy_by_length(baseline, test)
        dataset = _dataset_metadata(recipe.data, test, train)
        dataset.update(
            train_split=recipe.data.train_split,
            split=recipe.data.eval_split,
            num_examples=int(len(test.y)),
            class_names=list(train.class_names),
        )
        return Trained(model=model, metrics=metrics, dataset=dataset, training=training,
                       extra=extra)

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        return {"accuracy": accuracy(model, load_split(dataset, dataset["split"]))}

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training sequences and their integer labels."""
        dataset = metadata["dataset"]
        train = load_split(dataset, dataset.get("train_split", "train"))
        return train.x[:num_examples], train.y[:num_examples]
