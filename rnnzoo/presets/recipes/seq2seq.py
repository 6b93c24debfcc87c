"""Recipe handler of `seq2seq`: numbers written in English words -> digit strings.

Data: the `number_words` dataset (`rnnzoo.data.translation`): the source is
a number in words ("three hundred and twelve thousand and five"), the target
its digits ("312005"); test numbers never occur in training.

Metrics on the evaluation split: the sequence-level exact match of greedy and
of beam-search decoding (the whole digit string right), and the
teacher-forced token accuracy (each next target token, given the true
prefix; padding ignored). Beside them, the same run trains a baseline with
the same encoder, decoder, data and training but *without attention*
(`attention=None`: the decoder sees the source only through its initial
state, the classic encoder-decoder of Cho et al. 2014) and records its
numbers as the preset's reference.
"""

import time
from typing import List, Literal, Optional

from pydantic import Field, StrictBool, StrictInt

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

BASELINE_PREFIX = "no_attention_"


class Seq2SeqData(Strict):
    source: Literal["number_words"] = "number_words"
    config: Literal["en6", "longer"] = "en6"
    seed: StrictInt = 0
    num_train: Optional[StrictInt] = Field(default=None, gt=0)
    num_test: Optional[StrictInt] = Field(default=None, gt=0)
    train_split: Literal["train"] = "train"
    eval_split: Literal["validation", "test"] = "test"


class Seq2SeqModel(Strict):
    encoder: List[LayerSpec] = Field(min_length=1)
    bidirectional: StrictBool = False
    decoder: List[LayerSpec] = Field(min_length=1)
    embedding_dim: StrictInt = Field(default=32, gt=0)
    attention: Literal["additive", "general", "dot"] = "additive"
    attention_units: Optional[StrictInt] = Field(default=None, gt=0)
    bridge: Literal["mean", "none"] = "mean"
    dropout: Number = Field(default=0.0, ge=0.0, lt=1.0)


class Seq2SeqTraining(TrainingSpec):
    beam_width: StrictInt = Field(default=4, gt=0)
    baseline: StrictBool = True


def load_pairs(dataset, split):
    """A split as `(source ids, target ids, digit strings)`, padded with 0."""
    from rnnzoo.data import load_numpy

    overrides = {k: dataset[k] for k in ("num_train", "num_test") if dataset.get(k) is not None}
    data = load_numpy("number_words", split, config=dataset["config"], seed=dataset["seed"],
                      **overrides)
    return data["source"], data["target"], [str(d) for d in data["digits"]]


def measure(model, source, target, digits, beam_width):
    """Exact match (greedy, beam) and teacher-forced token accuracy, plain floats."""
    import numpy as np

    from rnnzoo.data.translation import decode_digits
    from rnnzoo.tasks.seq2seq import Seq2Seq

    metrics = {}
    for method in ("greedy", "beam"):
        tokens = model.translate(source, method=method, beam_width=beam_width)
        hits = [decode_digits(row) == truth for row, truth in zip(tokens, digits)]
        metrics[f"exact_match_{method}"] = float(np.mean(hits))
    target_in, target_out = Seq2Seq.teacher_forcing(target)
    logits = model.predict({"source": source, "target_in": target_in}, batch_size=512,
                           verbose=0)
    valid = target_out != 0
    metrics["token_accuracy"] = float(
        (np.argmax(logits, axis=-1) == target_out)[valid].mean())
    return metrics


@register_task_recipe
class Seq2SeqRecipe(TaskRecipe):
    task = "seq2seq"
    data_spec = Seq2SeqData
    model_spec = Seq2SeqModel
    training_spec = Seq2SeqTraining
    primary_metric = "exact_match_greedy"
    higher_is_better = True

    def _build(self, recipe, attention, max_source_length, max_target_length):
        import keras

        from rnnzoo.data.translation import END_ID, SOURCE_VOCAB, START_ID, TARGET_VOCAB
        from rnnzoo.tasks import Seq2Seq

        spec = recipe.model
        encoder = build_layers(spec.encoder, recipe.seed, return_sequences_last=True)
        if spec.bidirectional:
            encoder = [keras.layers.Bidirectional(layer) for layer in encoder]
        decoder = build_layers(spec.decoder, recipe.seed + 100, return_sequences_last=True)
        model = Seq2Seq(
            encoder, decoder,
            source_vocabulary_size=len(SOURCE_VOCAB),
            target_vocabulary_size=len(TARGET_VOCAB),
            max_source_length=max_source_length,
            max_target_length=max_target_length,
            embedding_dim=spec.embedding_dim,
            attention=attention,
            attention_units=spec.attention_units if attention == "additive" else None,
            bridge=spec.bridge if attention is not None else "mean",
            dropout=spec.dropout,
            start_token=START_ID,
            end_token=END_ID,
        )
        model.compile(optimizer=optimizer(recipe.training))
        return model

    def _fit(self, model, recipe, source, target, verbose):
        from rnnzoo.tasks.seq2seq import Seq2Seq

        target_in, target_out = Seq2Seq.teacher_forcing(target)
        started = time.perf_counter()
        history = model.fit({"source": source, "target_in": target_in}, target_out,
                            epochs=recipe.training.epochs, batch_size=recipe.training.batch_size,
                            callbacks=callbacks(recipe.training), verbose=verbose)
        return time.perf_counter() - started, float(history.history["loss"][-1])

    def train(self, recipe, verbose):
        import keras

        from rnnzoo.data import describe
        from rnnzoo.data.translation import max_source_length

        data = recipe.data
        dataset = {"source": data.source, "name": "number_words", "config": data.config,
                   "seed": data.seed}
        dataset.update({k: v for k, v in (("num_train", data.num_train),
                                           ("num_test", data.num_test)) if v is not None})
        params = describe("number_words").params(data.config)
        longest = max(params["max_digits"], params["test_max_digits"])
        source_length = max_source_length(longest)
        target_length = longest + 1  # the digits and the end token
        train_source, train_target, _ = load_pairs(dataset, data.train_split)
        test_source, test_target, digits = load_pairs(dataset, data.eval_split)
        beam_width = recipe.training.beam_width

        model = self._build(recipe, recipe.model.attention, source_length, target_length)
        seconds, final_loss = self._fit(model, recipe, train_source, train_target, verbose)
        metrics = measure(model, test_source, test_target, digits, beam_width)

        reference = {"source": "", "numbers": {}}
        training = {"epochs": recipe.training.epochs, "seconds": round(seconds, 1),
                    "final_loss": final_loss, "beam_width": beam_width}
        if recipe.training.baseline:
            keras.utils.set_random_seed(recipe.seed)
            baseline = self._build(recipe, None, source_length, target_length)
            seconds, _ = self._fit(baseline, recipe, train_source, train_target, verbose)
            numbers = measure(baseline, test_source, test_target, digits, beam_width)
            reference["numbers"] = {BASELINE_PREFIX + k: v for k, v in numbers.items()}
            reference["source"] = (
                "measured in the same run: the same encoder, decoder, data and training "
                "without attention (the decoder sees the source only through its initial "
                f"state, Cho et al. 2014; {baseline.count_params()} parameters)")
            training["baseline_seconds"] = round(seconds, 1)
        if recipe.reference is not None:
            reference["source"] = "; ".join(
                part for part in (reference["source"], recipe.reference.source) if part)
            reference["numbers"].update(recipe.reference.numbers)
        from rnnzoo.data.translation import CITATION, SOURCE_VOCAB, TARGET_VOCAB

        return Trained(
            model=model,
            metrics=metrics,
            dataset=dict(dataset, train_split=data.train_split, split=data.eval_split,
                         num_examples=int(len(digits)), citation=CITATION),
            training=training,
            extra={
                "reference": reference if reference["numbers"] else None,
                "source_vocabulary": list(SOURCE_VOCAB),
                "target_vocabulary": list(TARGET_VOCAB),
            },
        )

    def evaluate(self, model, metadata):
        dataset = metadata["dataset"]
        source, target, digits = load_pairs(dataset, dataset["split"])
        return measure(model, source, target, digits, int(metadata["training"]["beam_width"]))

    def fine_tune_batch(self, metadata, num_examples=8):
        """Teacher-forcing pairs of the first training numbers (as in `train`)."""
        from rnnzoo.tasks.seq2seq import Seq2Seq

        dataset = metadata["dataset"]
        source, target, _ = load_pairs(dataset, dataset.get("train_split", "train"))
        target_in, target_out = Seq2Seq.teacher_forcing(target[:num_examples])
        return {"source": source[:num_examples], "target_in": target_in}, target_out
