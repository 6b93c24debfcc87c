"""Recipe handler of `grid_classifier`: images classified by a 2-D recurrent layer.

The data are any catalog dataset whose examples are images stored row by row,
`(height, width)` floats (e.g. `digits` with config `rows`), read as in the
`sequence_classifier` handler with `source: catalog`. The model is a
`rnnzoo.tasks.SequenceClassifier` whose backbone first reshapes each example
to `(height, width, 1)` and then runs a grid layer (e.g. `mdrnn`) that
returns one vector per image; so presets load, compile and fine-tune like
every sequence classifier.

An optional `baseline_cnn` (a small convolutional net: 3x3 'same'
convolutions with ReLU, 2x2 max pooling after each but the last, global
average pooling) is trained the same way on the same data (same head,
optimizer, epochs, batch size); its accuracy is recorded as
`cnn_baseline_accuracy` and its parameter count beside the preset's.
"""

import time
from typing import List, Optional

from pydantic import Field, StrictInt

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    RecipeError,
    Strict,
    Trained,
    TrainingSpec,
    callbacks,
    optimizer,
    register_task_recipe,
)
from rnnzoo.presets.recipes.classifier import (
    ClassifierData,
    ClassifierRecipe,
    accuracy,
    load_split,
)


class CNNSpec(Strict):
    filters: List[StrictInt] = Field(min_length=1)
    kernel_size: StrictInt = Field(default=3, gt=0)


class GridModel(Strict):
    backbone: LayerSpec
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)
    baseline_cnn: Optional[CNNSpec] = None


def _grid_layers(recipe, height, width):
    import keras

    from rnnzoo.layers import get_layer

    spec = recipe.model.backbone
    try:
        layer = get_layer(spec.layer)(spec.units, seed=recipe.seed, **spec.args)
    except (TypeError, ValueError) as error:
        raise RecipeError(f"model.backbone ({spec.layer}): {error}") from None
    return [keras.layers.Reshape((height, width, 1), name="as_grid"), layer]


def _cnn_layers(spec, height, width, seed):
    import keras

    layers = [keras.layers.Reshape((height, width, 1), name="as_grid")]
    for i, filters in enumerate(spec.filters):
        layers.append(keras.layers.Conv2D(
            filters, spec.kernel_size, padding="same", activation="relu",
            kernel_initializer=keras.initializers.GlorotUniform(seed + i), name=f"conv_{i}"))
        if i < len(spec.filters) - 1:
            layers.append(keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
    layers.append(keras.layers.GlobalAveragePooling2D(name="pool"))
    return layers


def _fit(recipe, layers, train, verbose):
    from rnnzoo.tasks import SequenceClassifier

    model = SequenceClassifier(layers, num_classes=len(train.class_names),
                               input_shape=tuple(int(d) for d in train.x.shape[1:]),
                               dropout=recipe.model.dropout)
    model.compile(optimizer=optimizer(recipe.training))
    started = time.perf_counter()
    history = model.fit(train.x, train.y, epochs=recipe.training.epochs,
                        batch_size=recipe.training.batch_size,
                        callbacks=callbacks(recipe.training), verbose=verbose)
    return model, time.perf_counter() - started, float(history.history["loss"][-1])


@register_task_recipe
class GridClassifierRecipe(ClassifierRecipe):
    """A classifier recipe with a grid model; evaluation and fine-tuning
    batches are the sequence classifier's (the rows of each image)."""

    task = "grid_classifier"
    data_spec = ClassifierData
    model_spec = GridModel
    training_spec = TrainingSpec

    def check(self, recipe):
        super().check(recipe)
        if recipe.data.source != "catalog":
            raise RecipeError("data.source: a grid classifier reads a catalog dataset "
                              f"(`source: catalog`), got {recipe.data.source!r}.")

    def train(self, recipe, verbose):
        from rnnzoo.data import describe

        data = recipe.data.model_dump()
        train = load_split(data, recipe.data.train_split)
        test = load_split(data, recipe.data.eval_split)
        height, width = int(train.x.shape[1]), int(train.x.shape[2])
        model, seconds, loss = _fit(recipe, _grid_layers(recipe, height, width), train,
                                    verbose)
        metrics = {"accuracy": accuracy(model, test)}
        extra = {"input_shape": [height, width]}
        if recipe.model.baseline_cnn is not None:
            cnn, cnn_seconds, cnn_loss = _fit(
                recipe, _cnn_layers(recipe.model.baseline_cnn, height, width, recipe.seed),
                train, verbose)
            metrics["cnn_baseline_accuracy"] = accuracy(cnn, test)
            extra["baseline"] = {"cnn": recipe.model.baseline_cnn.model_dump(),
                                 "parameter_count": int(cnn.count_params()),
                                 "seconds": round(cnn_seconds, 1), "final_loss": cnn_loss}
        dataset = {key: data[key] for key in ("source", "name", "config", "overrides", "seed",
                                              "inputs", "label")}
        dataset.update(citation=describe(recipe.data.name).citation,
                       train_split=recipe.data.train_split, split=recipe.data.eval_split,
                       num_examples=int(len(test.y)), class_names=list(train.class_names))
        training = {"epochs": recipe.training.epochs, "seconds": round(seconds, 1),
                    "final_loss": loss}
        return Trained(model=model, metrics=metrics, dataset=dataset, training=training,
                       extra=extra)
