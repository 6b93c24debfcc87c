"""Recipe handler of `set_classifier`: multiple-instance classification of bags (sets).

Data (`data.name: digit_bags`): the MNIST-bags protocol of Ilse, Tomczak &
Welling (2018) on the 8x8 handwritten digits of `rnnzoo.data.digits`. A bag
holds `L` digit images (`L` drawn from a normal distribution with mean
`mean_bag_size` and deviation `std_bag_size`, rounded and clipped to
`[min_bag_size, max_bag_size]`), and its label is 1 when it contains at least
one image of `target_digit`. Bags are balanced: a positive bag holds 1 to 3
target images among random others, a negative bag none. Training bags use the
digits' train split, evaluation bags the test split (disjoint images); both
are drawn from `data.seed`, so evaluation re-creates exactly the same bags.
Bags are zero-padded to `max_bag_size` (an all-zero image never occurs) and
masked.

Model: each image (64 pixels, scaled to [0, 1]) goes through a shared
instance encoder (`Dense(encoder_units, relu)`), then the `pooling` layer
(a registered zoo layer: `modern_hopfield` in `mode: pooling` for the preset)
turns the masked set into one vector, and a `Dense(1, sigmoid)` head gives
the bag probability. Baselines trained in the same run on the same bags with
the same encoder, head, optimizer and epochs: each layer of `baselines`
(e.g. an `lstm` reading the bag as a sequence) and, with
`mean_pooling_baseline`, a `Dense(units, relu)` followed by masked mean
pooling. Their accuracy, AUC and parameter counts go into the metadata
(`baselines`); the preset's weights are those of `pooling`.

Metrics on the evaluation bags: `accuracy` (threshold 0.5, the primary
metric) and `auc` (area under the ROC curve).
"""

import time
from typing import Dict, List, Literal

import numpy as np
from pydantic import Field, StrictBool, StrictInt, StrictStr

from rnnzoo.presets.recipes.base import (
    ArgValue,
    LayerSpec,
    Number,
    RecipeError,
    Strict,
    TaskRecipe,
    Trained,
    TrainingSpec,
    check_layer_name,
    optimizer,
    register_task_recipe,
)

CITATION = ("Ilse, Tomczak & Welling (2018), Attention-based deep multiple instance "
            "learning (MNIST-bags protocol); digits: Alpaydin & Kaynak (1998), UCI "
            "optical recognition of handwritten digits.")


class BagData(Strict):
    name: Literal["digit_bags"] = "digit_bags"
    target_digit: StrictInt = Field(default=9, ge=0, le=9)
    mean_bag_size: Number = Field(default=10, gt=0)
    std_bag_size: Number = Field(default=2, ge=0)
    min_bag_size: StrictInt = Field(default=2, ge=1)
    max_bag_size: StrictInt = Field(default=16, ge=1)
    num_train: StrictInt = Field(default=300, ge=2)
    num_eval: StrictInt = Field(default=500, ge=2)
    seed: StrictInt = 0


class BaselineSpec(Strict):
    """A baseline pooling layer (as a `LayerSpec`, kept apart from the preset's backbone)."""

    layer: StrictStr
    units: StrictInt = Field(gt=0)
    args: Dict[StrictStr, ArgValue] = {}


class BagModel(Strict):
    pooling: LayerSpec
    encoder_units: StrictInt = Field(default=32, gt=0)
    baselines: List[BaselineSpec] = []
    mean_pooling_baseline: StrictBool = False


def make_bags(data, split, count, seed_offset):
    """`count` balanced bags from one digits split: (bags, labels, sizes)."""
    from rnnzoo.data.digits import load_digits_split

    images, digits = load_digits_split(split)
    images = images.reshape(len(images), -1).astype("float32") / 16.0
    target = np.flatnonzero(digits == data["target_digit"])
    others = np.flatnonzero(digits != data["target_digit"])
    rng = np.random.default_rng([data["seed"], seed_offset])
    bags = np.zeros((count, data["max_bag_size"], images.shape[1]), "float32")
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    sizes = np.clip(np.rint(rng.normal(data["mean_bag_size"], data["std_bag_size"], count)),
                    data["min_bag_size"], data["max_bag_size"]).astype(int)
    for i, (label, size) in enumerate(zip(labels, sizes)):
        chosen = rng.choice(others, size, replace=False)
        if label:
            hits = rng.integers(1, min(3, size) + 1)
            chosen[rng.choice(size, hits, replace=False)] = rng.choice(target, hits,
                                                                       replace=False)
        bags[i, :size] = images[chosen]
    return bags, labels.astype("float32"), sizes


def auc(labels, scores):
    """Area under the ROC curve (Mann-Whitney statistic, ties counted one half)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    greater = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(positive) * len(negative)))


def build_model(data, encoder_units, pooling, seed):
    """Masking -> shared Dense encoder -> pooling (a LayerSpec or "mean") -> Dense(1)."""
    import keras

    from rnnzoo.layers import get_layer

    bags = keras.Input((data["max_bag_size"], 64), name="bags")
    hidden = keras.layers.Masking(0.0)(bags)
    init = keras.initializers.GlorotUniform(seed=seed)
    hidden = keras.layers.Dense(encoder_units, activation="relu", kernel_initializer=init,
                                name="instance_encoder")(hidden)
    if pooling == "mean":
        hidden = keras.layers.Dense(16, activation="relu",
                                    kernel_initializer=keras.initializers.GlorotUniform(seed + 1),
                                    name="instance_projection")(hidden)
        hidden = keras.layers.GlobalAveragePooling1D(name="mean_pooling")(hidden)
    else:
        try:
            layer = get_layer(pooling.layer)(pooling.units, seed=seed + 1, **pooling.args)
        except (TypeError, ValueError) as error:
            raise RecipeError(f"model: pooling layer {pooling.layer}: {error}") from None
        hidden = keras.layers.Flatten()(layer(hidden))
    output = keras.layers.Dense(1, activation="sigmoid",
                                kernel_initializer=keras.initializers.GlorotUniform(seed + 2),
                                name="bag_probability")(hidden)
    return keras.Model(bags, output, name="set_classifier")


def measure(model, data):
    bags, labels, _ = make_bags(data, "test", data["num_eval"], 1)
    scores = np.asarray(model.predict(bags, batch_size=256, verbose=0))[:, 0]
    return {"accuracy": float(np.mean((scores > 0.5) == (labels == 1))),
            "auc": auc(labels, scores)}


@register_task_recipe
class SetClassifierRecipe(TaskRecipe):
    task = "set_classifier"
    data_spec = BagData
    model_spec = BagModel
    training_spec = TrainingSpec
    primary_metric = "accuracy"
    higher_is_better = True

    def check(self, recipe):
        super().check(recipe)
        for spec in recipe.model.baselines:
            check_layer_name(spec.layer)
        data = recipe.data
        if not data.min_bag_size <= data.mean_bag_size <= data.max_bag_size:
            raise RecipeError(
                f"data: mean_bag_size {data.mean_bag_size} must lie in [min_bag_size "
                f"{data.min_bag_size}, max_bag_size {data.max_bag_size}].")

    def train(self, recipe, verbose):
        import keras

        data = recipe.data.model_dump()
        training = recipe.training
        bags, labels, _ = make_bags(data, "train", data["num_train"], 0)
        candidates = [("pooling", recipe.model.pooling)]
        candidates += [(spec.layer, spec) for spec in recipe.model.baselines]
        if recipe.model.mean_pooling_baseline:
            candidates.append(("mean_pooling", "mean"))
        results = []
        for key, pooling in candidates:
            keras.utils.set_random_seed(recipe.seed)
            model = build_model(data, recipe.model.encoder_units, pooling, recipe.seed)
            model.compile(optimizer=optimizer(training), loss="binary_crossentropy",
                          metrics=["accuracy"])
            started = time.perf_counter()
            history = model.fit(bags, labels, epochs=training.epochs,
                                batch_size=training.batch_size, shuffle=True,
                                verbose=verbose and 2)
            seconds = time.perf_counter() - started
            results.append((key, pooling, model, measure(model, data),
                            float(history.history["loss"][-1]), seconds))
            if verbose:
                print(f"{key}: {results[-1][3]} ({model.count_params()} parameters, "
                      f"{seconds:.0f}s)")
        _, _, model, metrics, loss, seconds = results[0]
        baselines = {
            key: {"layer": spec if spec == "mean" else spec.model_dump(),
                  "parameter_count": int(m.count_params()), "metrics": values,
                  "final_loss": final, "seconds": round(sec, 1)}
            for key, spec, m, values, final, sec in results[1:]
        }
        dataset = dict(data, source="generator", split="eval",
                       num_examples=data["num_eval"], citation=CITATION)
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dataset,
            training={"epochs": training.epochs, "batch_size": training.batch_size,
                      "learning_rate": training.learning_rate, "seconds": round(seconds, 1),
                      "final_loss": loss},
            extra={"baselines": baselines, "input_shape": [data["max_bag_size"], 64]},
        )

    def evaluate(self, model, metadata):
        return measure(model, metadata["dataset"])

    def fine_tune_batch(self, metadata, num_examples=8):
        """`num_examples` bags drawn from the training split as in training, with labels."""
        bags, labels, _ = make_bags(metadata["dataset"], "train", num_examples, 0)
        return bags, labels
