"""Recipe handler of `captioner`: writing the words of handwritten digit strips.

Data: the `digit_strips` dataset (handwritten 8x8 digits side by side, 0-2
blank columns between them in config `len3_6`). Each strip becomes an image of
height 8 and the config's widest strip width (narrower strips are padded with
blank columns on the right); its caption is the digits as words ("three zero
seven") over `rnnzoo.data.digits.CAPTION_VOCAB`.

Metrics on the evaluation split: exact match (the whole caption right) and
corpus BLEU-4 (Papineni et al. 2002, one reference per image) of greedy and of
beam-search captions. Beside them, the same run measures a *nearest-neighbour
caption* baseline: each evaluation image gets the caption of its nearest
training image (Euclidean distance over the padded pixels); its numbers are
recorded as the preset's reference.
"""

import time
from typing import List, Literal, Optional

from pydantic import Field, StrictInt

from rnnzoo.data import describe
from rnnzoo.presets.recipes.base import (
    LayerSpec,
    Number,
    Strict,
    TaskRecipe,
    Trained,
    TrainingSpec,
    build_layers,
    callbacks,
    optimizer,
    register_task_recipe,
)



class CaptionerData(Strict):
    source: Literal["digit_strips"] = "digit_strips"
    config: Literal["len3", "len3_6"] = "len3_6"
    seed: StrictInt = 0
    num_train: Optional[StrictInt] = Field(default=None, gt=0)
    num_test: Optional[StrictInt] = Field(default=None, gt=0)
    train_split: Literal["train"] = "train"
    eval_split: Literal["test"] = "test"


class CaptionerModel(Strict):
    decoder: List[LayerSpec] = Field(min_length=1)
    embedding_dim: StrictInt = Field(default=32, gt=0)
    encoder_filters: List[StrictInt] = Field(default=[16, 32], min_length=1)
    image_embedding_dim: StrictInt = Field(default=64, gt=0)
    conditioning: Literal["state", "input"] = "state"
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)
    max_length: StrictInt = Field(default=12, gt=0)


class CaptionerTraining(TrainingSpec):
    beam_width: StrictInt = Field(default=4, gt=0)


def strip_width(dataset):
    """The widest strip of a `digit_strips` config: every image is padded to it."""

    params = dict(describe("digit_strips").configs[dataset["config"]])
    return 8 * params["max_digits"] + (params["max_digits"] - 1) * params["max_gap"]


def load_captioned_strips(dataset, split):
    """A split as `(images (n, 8, width, 1) float32, caption_ids (n, time) int32, captions)`."""
    import numpy as np

    from rnnzoo.data import load_numpy

    overrides = {k: dataset[k] for k in ("num_train", "num_test") if dataset.get(k) is not None}
    arrays = load_numpy("digit_strips", split, config=dataset["config"], seed=dataset["seed"],
                        **overrides)
    columns = arrays["inputs"]  # (n, time = pixel columns, 8 rows), zero-padded
    width = strip_width(dataset)
    if columns.shape[1] > width:
        raise ValueError(f"digit_strips/{dataset['config']}: a strip of {columns.shape[1]} "
                         f"columns is wider than the config allows ({width}).")
    images = np.zeros((len(columns), 8, width, 1), "float32")
    images[:, :, : columns.shape[1], 0] = np.transpose(columns, (0, 2, 1))
    return images, arrays["caption_ids"].astype("int32"), [str(c) for c in arrays["caption"]]


def nearest_neighbour_captions(train_images, train_captions, images, chunk=512):
    """The caption of the nearest training image (Euclidean, raw pixels) per image."""
    import numpy as np

    prototypes = train_images.reshape(len(train_images), -1).astype("float64")
    norms = (prototypes ** 2).sum(1)
    found = []
    for start in range(0, len(images), chunk):
        queries = images[start : start + chunk].reshape(-1, prototypes.shape[1]).astype("float64")
        distances = norms[None, :] - 2.0 * queries @ prototypes.T
        found.extend(np.argmin(distances, axis=1).tolist())
    return [train_captions[i] for i in found]


def caption_metrics(references, hypotheses, prefix=""):
    from rnnzoo.tasks.metrics import corpus_bleu, exact_match

    return {f"{prefix}exact_match": exact_match(references, hypotheses),
            f"{prefix}bleu4": corpus_bleu(references, hypotheses)}


def measure(model, images, references, beam_width):
    """Exact match and BLEU-4 of greedy and beam-search captions."""
    metrics = caption_metrics(references, model.caption(images, method="greedy"))
    beam = model.caption(images, method="beam", beam_width=beam_width)
    metrics.update(caption_metrics(references, beam, prefix="beam_"))
    return metrics


@register_task_recipe
class CaptionerRecipe(TaskRecipe):
    task = "captioner"
    data_spec = CaptionerData
    model_spec = CaptionerModel
    training_spec = CaptionerTraining
    primary_metric = "bleu4"
    higher_is_better = True

    def train(self, recipe, verbose):
        from rnnzoo.data.digits import CAPTION_VOCAB
        from rnnzoo.tasks import Captioner

        data, spec = recipe.data, recipe.model
        dataset = {"source": data.source, "name": "digit_strips", "config": data.config,
                   "seed": data.seed}
        dataset.update({k: getattr(data, k) for k in ("num_train", "num_test")
                        if getattr(data, k) is not None})
        train_images, train_ids, train_captions = load_captioned_strips(dataset, data.train_split)
        test_images, _, test_captions = load_captioned_strips(dataset, data.eval_split)
        model = Captioner(
            build_layers(spec.decoder, recipe.seed),
            vocabulary=list(CAPTION_VOCAB),
            image_shape=train_images.shape[1:],
            embedding_dim=spec.embedding_dim,
            encoder_filters=spec.encoder_filters,
            image_embedding_dim=spec.image_embedding_dim,
            conditioning=spec.conditioning,
            dropout=spec.dropout,
            max_length=spec.max_length,
        )
        model.compile(optimizer=optimizer(recipe.training))
        inputs, targets = model.teacher_forcing(train_images, train_ids)
        started = time.perf_counter()
        history = model.fit(inputs, targets, epochs=recipe.training.epochs,
                            batch_size=recipe.training.batch_size,
                            callbacks=callbacks(recipe.training), verbose=verbose)
        seconds = time.perf_counter() - started
        metrics = measure(model, test_images, test_captions, recipe.training.beam_width)
        baseline = nearest_neighbour_captions(train_images, train_captions, test_images)
        metrics.update(caption_metrics(test_captions, baseline, prefix="nn_"))
        # A fresh optimizer: the preset ships weights without Adam's moments
        # (saved weights include a built optimizer's variables, tripling the file).
        model.compile(optimizer=optimizer(recipe.training))
        reference = {
            "source": "measured in the same run: nearest-neighbour caption baseline (each "
                      "test image gets the caption of its nearest training image, Euclidean "
                      "distance over raw pixels)",
            "numbers": {"exact_match": metrics["nn_exact_match"], "bleu4": metrics["nn_bleu4"]},
        }
        if recipe.reference is not None:
            reference["source"] += f"; {recipe.reference.source}"
            reference["numbers"].update(recipe.reference.numbers)
        return Trained(
            model=model,
            metrics=metrics,
            dataset=dict(
                dataset,
                train_split=data.train_split,
                split=data.eval_split,
                num_examples=len(test_captions),
                num_train_examples=len(train_captions),
                image_shape=list(train_images.shape[1:]),
                citation=describe("digit_strips").citation,
            ),
            training={
                "epochs": recipe.training.epochs,
                "seconds": round(seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
                "final_token_accuracy": float(history.history["token_accuracy"][-1]),
                "beam_width": recipe.training.beam_width,
            },
            extra={"vocabulary": list(CAPTION_VOCAB), "reference": reference},
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        model.check_vocabulary(metadata["vocabulary"])
        images, _, captions = load_captioned_strips(dataset, dataset["split"])
        return measure(model, images, captions, int(metadata["training"]["beam_width"]))

    def fine_tune_batch(self, metadata, num_examples=8):
        """Teacher-forcing pairs of the first training strips (as `Captioner.teacher_forcing`)."""
        dataset = metadata["dataset"]
        images, ids, _ = load_captioned_strips(dataset, dataset.get("train_split", "train"))
        images, ids = images[:num_examples], ids[:num_examples]
        return {"image": images, "caption_in": ids[:, :-1]}, ids[:, 1:]

    def tolerance(self, metadata):
        """0.005 BLEU: a few captions of the evaluation split flipping on another machine."""
        return 0.005
