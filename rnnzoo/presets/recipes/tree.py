"""Recipe handler of `tree_classifier`: a recursive layer reads an expression tree.

Data: a tree dataset of the catalog (`boolean_trees` or `arithmetic_trees`,
`rnnzoo.data.trees`) read with `rnnzoo.data.load_numpy(name, split,
config=config, seed=seed, **overrides)`; the class of an example is its
`value` (truth value, or arithmetic value mod 10). The model reads the tree
encoding `[tokens, left, right, node_mask]` (int32, (examples, max_nodes));
each split is cut to its largest tree (padding columns never change the
root, so this only saves time: training trees are small, the deeper test
trees are not).

Model: `tree layer -> Dense softmax`, a plain functional `keras.Model` with
four int32 inputs `(batch, None)`; the tree layer is any registered tree
layer (`recursive`, `rntn`) taking `vocabulary_size`. The recipe trains it
with categorical cross-entropy on one-hot targets. `rnnzoo.load` compiles a
plain functional model with the mean squared error, which on these softmax
outputs and one-hot targets is the Brier score, so `fit` fine-tunes a loaded
preset at once; recompile with `"categorical_crossentropy"` to train as the
recipe did.

An optional `baseline` (step-wise layers, e.g. an LSTM) reads the same
expressions flattened to fully bracketed infix token sequences (`sequence`):
`Embedding(mask_zero=True) -> layers -> Dense softmax`, same optimizer,
epochs and data, as in Zaremba & Sutskever (2014). Its accuracies are
recorded beside the preset's as `<layer>_baseline_accuracy` (evaluation
split) and `<layer>_baseline_validation_accuracy`.

Metrics: `accuracy` on the evaluation split (by default `test`: trees deeper
than any training tree), `validation_accuracy` (held-out trees of the
training depths), and per-depth accuracies in `accuracy_by_depth`.
"""

import time
from typing import Any, Dict, List, Optional

from pydantic import Field, StrictInt, StrictStr

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    RecipeError,
    Strict,
    TaskRecipe,
    Trained,
    build_layers,
    callbacks,
    check_layer_name,
    optimizer,
    register_task_recipe,
)

TREE_INPUTS = ("tokens", "left", "right", "node_mask")


class TreeData(Strict):
    name: StrictStr = "boolean_trees"
    config: Optional[StrictStr] = None
    overrides: Dict[StrictStr, Any] = {}
    seed: StrictInt = 0
    train_split: StrictStr = "train"
    validation_split: StrictStr = "validation"
    eval_split: StrictStr = "test"


class TreeModel(Strict):
    tree: LayerSpec
    baseline: Optional[List[LayerSpec]] = Field(default=None, min_length=1)
    baseline_embedding: StrictInt = Field(default=16, gt=0)


class TreeSplit:
    """One split: tree inputs, token sequences, labels and depths (NumPy)."""

    def __init__(self, arrays, num_classes):
        import numpy as np

        nodes = int(arrays["num_nodes"].max())
        length = int(arrays["sequence_length"].max())
        self.trees = [np.asarray(arrays[k][:, :nodes], dtype=np.int32) for k in TREE_INPUTS]
        self.sequence = np.asarray(arrays["sequence"][:, :length], dtype=np.int32)
        self.y = np.asarray(arrays["value"], dtype=np.int32)
        self.depth = np.asarray(arrays["depth"], dtype=np.int32)
        self.num_classes = num_classes

    def one_hot(self, count=None):
        import numpy as np

        return np.eye(self.num_classes, dtype=np.float32)[self.y[:count]]


def _num_classes(name):
    return 2 if name == "boolean_trees" else 10


def load_split(data, split):
    """A split of the data a recipe (or a preset's metadata) describes."""
    from rnnzoo.data import load_numpy

    try:
        arrays = load_numpy(data["name"], split, config=data.get("config"),
                            seed=data.get("seed", 0), **data.get("overrides", {}))
    except ValueError as error:
        raise RecipeError(f"data: {error}") from None
    missing = [k for k in TREE_INPUTS + ("sequence", "value", "depth") if k not in arrays]
    if missing:
        raise RecipeError(f"data: dataset {data['name']!r} is not a tree dataset (no {missing}).")
    return TreeSplit(arrays, _num_classes(data["name"]))


def _tree_model(recipe, num_classes):
    import keras

    from rnnzoo.data.tree_encoding import VOCABULARY
    from rnnzoo.layers import get_layer

    spec = recipe.model.tree
    inputs = [keras.Input((None,), dtype="int32", name=k) for k in TREE_INPUTS]
    try:
        layer = get_layer(spec.layer)(spec.units, vocabulary_size=len(VOCABULARY),
                                      seed=recipe.seed, **spec.args)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"model: tree layer ({spec.layer}): {error}") from None
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(
        layer(inputs))
    return keras.Model(inputs, outputs, name="tree_classifier")


def _baseline_model(recipe, num_classes):
    import keras

    from rnnzoo.data.tree_encoding import VOCABULARY

    inputs = keras.Input((None,), dtype="int32", name="sequence")
    x = keras.layers.Embedding(len(VOCABULARY), recipe.model.baseline_embedding,
                               mask_zero=True, name="embedding")(inputs)
    for layer in build_layers(recipe.model.baseline, recipe.seed):
        x = layer(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="sequence_baseline")


def _fit(model, recipe, x, y, verbose):
    import keras

    model.compile(optimizer=optimizer(recipe.training), loss="categorical_crossentropy",
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    started = time.perf_counter()
    history = model.fit(x, y, epochs=recipe.training.epochs,
                        batch_size=recipe.training.batch_size,
                        callbacks=callbacks(recipe.training), verbose=verbose)
    return time.perf_counter() - started, float(history.history["loss"][-1])


def _correct(model, x, y):
    import numpy as np

    return np.argmax(model.predict(x, batch_size=250, verbose=0), axis=-1) == y


def _by_depth(right, depth):
    import numpy as np

    return {str(int(d)): float(np.mean(right[depth == d])) for d in np.unique(depth)}


@register_task_recipe
class TreeClassifierRecipe(TaskRecipe):
    task = "tree_classifier"
    data_spec = TreeData
    model_spec = TreeModel

    def check(self, recipe):
        super().check(recipe)
        check_layer_name(recipe.model.tree.layer)
        if recipe.data.name not in ("boolean_trees", "arithmetic_trees"):
            raise RecipeError(f"data.name must be 'boolean_trees' or 'arithmetic_trees', "
                              f"got {recipe.data.name!r}.")

    def train(self, recipe, verbose):
        import numpy as np

        data = recipe.data.model_dump()
        train = load_split(data, recipe.data.train_split)
        validation = load_split(data, recipe.data.validation_split)
        test = load_split(data, recipe.data.eval_split)
        model = _tree_model(recipe, train.num_classes)
        seconds, final_loss = _fit(model, recipe, train.trees, train.one_hot(), verbose)
        right = _correct(model, test.trees, test.y)
        metrics = {
            "accuracy": float(np.mean(right)),
            "validation_accuracy": float(np.mean(_correct(model, validation.trees,
                                                          validation.y))),
        }
        extra = {"accuracy_by_depth": _by_depth(right, test.depth),
                 "backbone": [recipe.model.tree.layer],
                 "inputs": list(TREE_INPUTS)}
        training = {"epochs": recipe.training.epochs, "seconds": round(seconds, 1),
                    "final_loss": final_loss}
        if recipe.model.baseline:
            baseline = _baseline_model(recipe, train.num_classes)
            b_seconds, b_loss = _fit(baseline, recipe, train.sequence, train.one_hot(),
                                     verbose)
            b_right = _correct(baseline, test.sequence, test.y)
            key = recipe.model.baseline[0].layer
            metrics[f"{key}_baseline_accuracy"] = float(np.mean(b_right))
            metrics[f"{key}_baseline_validation_accuracy"] = float(np.mean(
                _correct(baseline, validation.sequence, validation.y)))
            extra["baseline"] = {
                "input": "fully bracketed infix token sequence (`sequence`)",
                "embedding": recipe.model.baseline_embedding,
                "backbone": [spec.model_dump() for spec in recipe.model.baseline],
                "parameter_count": int(baseline.count_params()),
                "seconds": round(b_seconds, 1),
                "final_loss": b_loss,
                "accuracy_by_depth": _by_depth(b_right, test.depth),
            }
        from rnnzoo.data import describe

        dataset = dict(data, source="catalog", citation=describe(recipe.data.name).citation,
                       split=recipe.data.eval_split, num_examples=int(len(test.y)),
                       train_depths=[int(train.depth.min()), int(train.depth.max())],
                       eval_depths=[int(test.depth.min()), int(test.depth.max())])
        return Trained(model=model, metrics=metrics, dataset=dataset, training=training,
                       extra=extra)

    def evaluate(self, model, metadata):
        import numpy as np

        dataset = metadata["dataset"]
        test = load_split(dataset, dataset["split"])
        return {"accuracy": float(np.mean(_correct(model, test.trees, test.y)))}

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training trees and their one-hot classes (float32)."""
        dataset = metadata["dataset"]
        overrides = dict(dataset.get("overrides", {}), num_train=num_examples)
        train = load_split(dict(dataset, overrides=overrides),
                           dataset.get("train_split", "train"))
        return train.trees, train.one_hot()
