"""Recipe handler of `ctc_recognizer`: reading digit strips column by column.

Data: the `digit_strips` dataset (handwritten 8x8 digits side by side, one
pixel column per time step, labels the digits). Strips are padded with -1
(the model's `mask_value`; blank columns inside a strip are 0).

Metrics on the evaluation split: the character error rate (summed edit
distances / summed reference lengths) of greedy (best path) and prefix beam
search decoding, and the exact-match rate of greedy decoding. Beside them, the
same run measures an *oracle-segmentation* baseline: every digit of every
evaluation strip is cut out at its true position (which the recognizer never
sees) and classified by its nearest neighbour (Euclidean, 64 pixels) among
the training digits. Its CER is a substitution rate and an upper bound for
what segmentation-free recognition of these strips can reach with a classic
classifier; it is recorded as the preset's reference number.
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

BASELINE = "oracle_segmentation_1nn_cer"


class CTCData(Strict):
    source: Literal["digit_strips"] = "digit_strips"
    config: Literal["len3", "len3_6"] = "len3_6"
    seed: StrictInt = 0
    num_train: Optional[StrictInt] = Field(default=None, gt=0)
    num_test: Optional[StrictInt] = Field(default=None, gt=0)
    train_split: Literal["train"] = "train"
    eval_split: Literal["test"] = "test"


class CTCModel(Strict):
    encoder: List[LayerSpec] = Field(min_length=1)
    merge_mode: Literal["concat", "sum", "mul", "ave"] = "concat"
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)
    mask_value: Number = -1.0


class CTCTraining(TrainingSpec):
    beam_width: StrictInt = Field(default=8, gt=0)


def _overrides(data):
    out = {}
    if data.num_train is not None:
        out["num_train"] = data.num_train
    if data.num_test is not None:
        out["num_test"] = data.num_test
    return out


def load_strips(dataset, split, mask_value):
    """A split as `(frames, labels, digit_indices)`: frames padded with `mask_value`,
    labels and digit indices padded with -1."""
    import numpy as np

    from rnnzoo.data import load_numpy

    overrides = {k: dataset[k] for k in ("num_train", "num_test") if dataset.get(k) is not None}
    arrays = load_numpy("digit_strips", split, config=dataset["config"], seed=dataset["seed"],
                        **overrides)
    frames = arrays["inputs"].copy()
    steps = np.arange(frames.shape[1])[None, :]
    frames[steps >= arrays["inputs_length"][:, None]] = mask_value
    slots = np.arange(arrays["labels"].shape[1])[None, :]
    pad = slots >= arrays["labels_length"][:, None]
    labels = np.where(pad, -1, arrays["labels"]).astype("int32")
    indices = np.where(pad, -1, arrays["digit_indices"]).astype("int32")
    return frames, labels, indices


def oracle_segmentation_cer(labels, digit_indices, split):
    """CER of 1-NN on the true digit crops (substitutions only; see the module doc)."""
    import numpy as np

    from rnnzoo.data.digits import load_digits_split

    train_images, train_labels = load_digits_split("train")
    images, _ = load_digits_split(split)
    prototypes = train_images.reshape(len(train_images), -1).astype("float64")
    used = digit_indices[digit_indices >= 0]
    queries = images[used].reshape(len(used), -1).astype("float64")
    distances = ((queries ** 2).sum(1)[:, None] - 2 * queries @ prototypes.T
                 + (prototypes ** 2).sum(1)[None, :])
    predicted = train_labels[np.argmin(distances, axis=1)]
    truth = labels[labels >= 0]
    return float(np.mean(predicted != truth))


def measure(model, frames, labels, beam_width):
    """CER of greedy and beam decoding and greedy exact match."""
    from rnnzoo.tasks.ctc import character_error_rate, unpad_labels

    references = unpad_labels(labels)
    greedy = model.recognize(frames, method="greedy")
    beam = model.recognize(frames, method="beam", beam_width=beam_width)
    return {
        "cer_greedy": character_error_rate(references, greedy),
        "cer_beam": character_error_rate(references, beam),
        "exact_match_greedy": sum(r == h for r, h in zip(references, greedy)) / len(references),
    }


@register_task_recipe
class CTCRecipe(TaskRecipe):
    task = "ctc_recognizer"
    data_spec = CTCData
    model_spec = CTCModel
    training_spec = CTCTraining
    primary_metric = "cer_greedy"
    higher_is_better = False

    def train(self, recipe, verbose):
        from rnnzoo.tasks import CTCRecognizer

        data, spec = recipe.data, recipe.model
        dataset = {"source": data.source, "name": "digit_strips", "config": data.config,
                   "seed": data.seed, **_overrides(data)}
        x_train, y_train, _ = load_strips(dataset, data.train_split, spec.mask_value)
        x_test, y_test, indices = load_strips(dataset, data.eval_split, spec.mask_value)
        model = CTCRecognizer(
            build_layers(spec.encoder, recipe.seed, return_sequences_last=True),
            num_classes=10,
            input_shape=(None, int(x_train.shape[2])),
            merge_mode=spec.merge_mode,
            dropout=spec.dropout,
            mask_value=spec.mask_value,
        )
        model.compile(optimizer=optimizer(recipe.training))
        started = time.perf_counter()
        history = model.fit(x_train, y_train, epochs=recipe.training.epochs,
                            batch_size=recipe.training.batch_size,
                            callbacks=callbacks(recipe.training), verbose=verbose)
        seconds = time.perf_counter() - started
        metrics = measure(model, x_test, y_test, recipe.training.beam_width)
        metrics[BASELINE] = oracle_segmentation_cer(y_test, indices, data.eval_split)
        reference = {
            "source": "measured in the same run: every digit cut out at its true position "
                      "(oracle segmentation) and classified by 1-nearest-neighbour over the "
                      "1,438 training digits; CER = its error rate on the evaluation strips",
            "numbers": {BASELINE: metrics[BASELINE]},
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
                num_examples=int(len(y_test)),
                num_characters=int((y_test >= 0).sum()),
                blank=model.blank,
                mask_value=spec.mask_value,
                citation=describe("digit_strips").citation,
            ),
            training={
                "epochs": recipe.training.epochs,
                "seconds": round(seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
                "beam_width": recipe.training.beam_width,
            },
            extra={"input_shape": [None, int(x_train.shape[2])], "reference": reference},
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        frames, labels, _ = load_strips(dataset, dataset["split"], dataset["mask_value"])
        return measure(model, frames, labels, int(metadata["training"]["beam_width"]))

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training strips (padded with `mask_value`) and labels (padded with -1)."""
        dataset = metadata["dataset"]
        frames, labels, _ = load_strips(dataset, dataset.get("train_split", "train"),
                                        dataset["mask_value"])
        return frames[:num_examples], labels[:num_examples]

    def tolerance(self, metadata):
        """Two label edits over the evaluation strips (a borderline frame may flip)."""
        return 2.0 / max(int(metadata["dataset"].get("num_characters", 1)), 1) + 1e-9
