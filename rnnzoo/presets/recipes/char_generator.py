"""Recipe handler of `char_generator`: a character language model of Shakespeare.

Data: the `shakespeare` corpus of `rnnzoo.data.text` (38 plays, split by
play: 33 for training, five held out for validation). Training uses windows
of `seq_length` characters and their one-character-shifted targets (teacher
forcing), every `train_stride` characters; `max_train_windows` optionally
draws a seeded random subset of them to fit a time budget (recorded in the
metadata).

Metric: the mean next-character cross-entropy on the validation plays, in
nats per character (the primary metric) and bits per character. It is
measured on non-overlapping windows of `seq_length` characters, each started
from the backbone's initial (zero) state, so the first characters of every
window are predicted with little context, as in training.

Beside it, the same run measures two baselines on the same validation
characters: a unigram model (character frequencies of the training plays,
add-one smoothed over the vocabulary and the unknown id) and the uniform
distribution over the vocabulary (ln of its size). They are recorded as the
preset's reference numbers: no published number exists for this split of
this edition of the plays.
"""

import math
import time
from typing import List, Literal, Optional

from pydantic import Field, StrictInt, StrictStr

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

UNIGRAM = "unigram_nats_per_char"
UNIFORM = "uniform_nats_per_char"


class CharData(Strict):
    source: Literal["shakespeare"] = "shakespeare"
    seq_length: StrictInt = Field(default=100, gt=0)
    train_stride: Optional[StrictInt] = Field(default=None, gt=0)
    max_train_windows: Optional[StrictInt] = Field(default=None, gt=0)
    train_split: Literal["train"] = "train"
    eval_split: Literal["validation"] = "validation"


class CharModel(Strict):
    backbone: List[LayerSpec] = Field(min_length=1)
    embedding_dim: StrictInt = Field(default=32, gt=0)
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


class CharTraining(TrainingSpec):
    sample_prompt: StrictStr = Field(default="MACBETH:\n", min_length=1)
    sample_length: StrictInt = Field(default=300, gt=0)
    sample_temperature: Number = Field(default=0.8, gt=0)
    sample_seed: StrictInt = 0


def windows(split, seq_length, stride=None):
    """`(inputs, targets)` int32 arrays `(windows, seq_length)` of a Shakespeare split."""
    import numpy as np

    from rnnzoo.data.text import char_windows

    pairs = list(char_windows(split, seq_length, stride))
    inputs = np.stack([p[0] for p in pairs])
    targets = np.stack([p[1] for p in pairs])
    return inputs, targets


def nats_per_char(model, inputs, targets, batch_size=256):
    """Mean next-character cross-entropy (nats) of a `CharGenerator` over all targets."""
    import numpy as np

    inputs, targets = model.check_ids(inputs), model.check_ids(targets)
    total = 0.0
    for start in range(0, len(inputs), batch_size):
        logits = np.asarray(model.predict_on_batch(inputs[start:start + batch_size]), np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=-1))
        chosen = np.take_along_axis(logits, targets[start:start + batch_size, :, None], -1)[..., 0]
        total += float((log_norm - chosen).sum())
    return total / targets.size


def unigram_nats_per_char(train_ids, targets, vocabulary_size):
    """Cross-entropy (nats/char) of add-one smoothed training character frequencies."""
    import numpy as np

    counts = np.bincount(np.asarray(train_ids).ravel(), minlength=vocabulary_size) + 1.0
    log_probs = np.log(counts / counts.sum())
    return float(-log_probs[np.asarray(targets).ravel()].mean())


def _without_training_state(model):
    """A compiled copy with the same weights and no optimizer slots.

    `save_preset` writes what `save_weights` writes, which includes the Adam
    moments of a trained model (twice the weights again); presets load and
    compile with fresh optimizers, so the copy ships the weights only.
    """
    from rnnzoo.tasks import CharGenerator

    clean = CharGenerator.from_config(model.get_config())
    clean.set_weights(model.get_weights())
    clean.compile()
    return clean


@register_task_recipe
class CharGeneratorRecipe(TaskRecipe):
    task = "char_generator"
    data_spec = CharData
    model_spec = CharModel
    training_spec = CharTraining
    primary_metric = "nats_per_char"
    higher_is_better = False

    def train(self, recipe, verbose):
        import numpy as np

        from rnnzoo.data.text import CITATION, load_shakespeare
        from rnnzoo.tasks import CharGenerator

        data, spec, training = recipe.data, recipe.model, recipe.training
        x_train, y_train = windows(data.train_split, data.seq_length, data.train_stride)
        total_windows = len(x_train)
        if data.max_train_windows is not None and data.max_train_windows < total_windows:
            rng = np.random.default_rng(recipe.seed)
            keep = np.sort(rng.choice(total_windows, data.max_train_windows, replace=False))
            x_train, y_train = x_train[keep], y_train[keep]
        x_val, y_val = windows(data.eval_split, data.seq_length)
        model = CharGenerator(
            build_layers(spec.backbone, recipe.seed, return_sequences_last=True),
            embedding_dim=spec.embedding_dim,
            dropout=spec.dropout,
        )
        model.compile(optimizer=optimizer(training))
        started, cpu_started = time.perf_counter(), time.process_time()
        history = model.fit(x_train, y_train, epochs=training.epochs,
                            batch_size=training.batch_size, validation_data=(x_val, y_val),
                            callbacks=callbacks(training), verbose=verbose)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started

        nats = nats_per_char(model, x_val, y_val)
        train_ids = model.encode(load_shakespeare(data.train_split))
        baselines = {
            UNIGRAM: unigram_nats_per_char(train_ids, y_val, model.vocabulary_size),
            UNIFORM: math.log(model.vocabulary_size - 1),
        }
        metrics = {"nats_per_char": nats, "bits_per_char": nats / math.log(2.0), **baselines}
        reference = {
            "source": "measured in the same run on the same validation characters: unigram = "
                      "training-play character frequencies, add-one smoothed; uniform = ln of "
                      "the vocabulary size. No published number exists for this split",
            "numbers": dict(baselines),
        }
        if recipe.reference is not None:
            reference["source"] += f"; {recipe.reference.source}"
            reference["numbers"].update(recipe.reference.numbers)
        sample = {
            "prompt": training.sample_prompt,
            "temperature": training.sample_temperature,
            "seed": training.sample_seed,
            "text": model.generate(training.sample_prompt, training.sample_length,
                                   temperature=training.sample_temperature,
                                   seed=training.sample_seed),
        }
        return Trained(
            model=_without_training_state(model),
            metrics=metrics,
            dataset={
                "source": "rnnzoo.data",
                "name": "shakespeare",
                "train_split": data.train_split,
                "split": data.eval_split,
                "seq_length": data.seq_length,
                "num_examples": int(len(x_val)),
                "num_characters": int(y_val.size),
                "train_windows_total": int(total_windows),
                "train_windows_used": int(len(x_train)),
                "train_stride": data.train_stride or data.seq_length,
                "citation": CITATION,
            },
            training={
                "epochs": training.epochs,
                "batch_size": training.batch_size,
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu_seconds, 1),
                "final_loss": float(history.history["loss"][-1]),
                "validation_loss_per_epoch": [round(float(v), 4)
                                              for v in history.history["val_loss"]],
            },
            extra={"reference": reference, "sample": sample, "vocabulary": model.vocabulary},
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        x_val, y_val = windows(dataset["split"], int(dataset["seq_length"]))
        nats = nats_per_char(model, x_val, y_val)
        return {"nats_per_char": nats, "bits_per_char": nats / math.log(2.0)}

    def fine_tune_batch(self, metadata, num_examples=8):
        """The first training windows and their one-character-shifted targets (int32)."""
        from itertools import islice

        import numpy as np

        from rnnzoo.data.text import char_windows

        dataset = metadata["dataset"]
        seq_length = int(dataset["seq_length"])
        pairs = list(islice(char_windows(dataset.get("train_split", "train"), seq_length,
                                         dataset.get("train_stride")), num_examples))
        return (np.stack([p[0] for p in pairs]).astype("int32"),
                np.stack([p[1] for p in pairs]).astype("int32"))

    def tolerance(self, metadata):
        """1e-3 nats/char: only float reordering across machines may move the loss."""
        return 1e-3
