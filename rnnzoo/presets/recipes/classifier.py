"""Recipe handler of `sequence_classifier`: UCR/UEA classification."""

import time
from typing import List, Literal

from pydantic import Field, StrictStr

from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    Strict,
    TaskRecipe,
    Trained,
    build_layers,
    callbacks,
    optimizer,
    register_task_recipe,
)


class ClassifierData(Strict):
    source: Literal["ucr"] = "ucr"
    name: StrictStr
    train_split: Literal["train", "test"] = "train"
    eval_split: Literal["train", "test"] = "test"


class ClassifierModel(Strict):
    backbone: List[LayerSpec] = Field(min_length=1)
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


def _load(name, split):
    from rnnzoo.data.ucr import load_ucr

    return load_ucr(name, split)


def accuracy(model, data):
    """Accuracy of a classifier on a `TSData` split (a plain float in [0, 1])."""
    import numpy as np

    logits = model.predict(data.x, batch_size=256, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == data.y))


@register_task_recipe
class ClassifierRecipe(TaskRecipe):
    task = "sequence_classifier"
    data_spec = ClassifierData
    model_spec = ClassifierModel

    def train(self, recipe, verbose):
        from rnnzoo.tasks import SequenceClassifier

        train = _load(recipe.data.name, recipe.data.train_split)
        test = _load(recipe.data.name, recipe.data.eval_split)
        model = SequenceClassifier(
            build_layers(recipe.model.backbone, recipe.seed),
            num_classes=len(train.class_names),
            input_shape=(None, int(train.x.shape[2])),
            dropout=recipe.model.dropout,
        )
        model.compile(optimizer=optimizer(recipe.training))
        started = time.perf_counter()
        history = model.fit(
            train.x,
            train.y,
            epochs=recipe.training.epochs,
            batch_size=recipe.training.batch_size,
            callbacks=callbacks(recipe.training),
            verbose=verbose,
        )
        seconds = time.perf_counter() - started
        return Trained(
            model=model,
            metrics={"accuracy": accuracy(model, test)},
            dataset={
                "source": recipe.data.source,
                "name": recipe.data.name,
                "train_split": recipe.data.train_split,
                "split": recipe.data.eval_split,
                "num_examples": int(len(test.y)),
                "class_names": list(train.class_names),
                "citation": "Dau et al. (2019), The UCR time series archive.",
            },
            training={
                "epochs": recipe.training.epochs,
                "seconds": round(seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
            },
            extra={"input_shape": [None, int(train.x.shape[2])]},
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        return {"accuracy": accuracy(model, _load(dataset["name"], dataset["split"]))}
