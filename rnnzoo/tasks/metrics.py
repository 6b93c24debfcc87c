"""Metrics of generated token sequences: corpus BLEU, exact match, masked token accuracy.

`corpus_bleu` follows Papineni et al. (2002): modified (clipped) n-gram
precisions pooled over the whole corpus, their geometric mean with uniform
weights, and a brevity penalty on the corpus lengths. `bleu_statistics`
returns every intermediate number, so a score can be checked by hand. With
whitespace-tokenised text the scores equal sacreBLEU's with
`tokenize="none", smooth_method="none"`; NLTK's `corpus_bleu` differs when a
hypothesis is shorter than n (it counts at least one n-gram per sentence).

Sentences are strings (split on whitespace) or sequences of tokens (strings
or ints). BLEU and exact match are NumPy-free host-side functions; only
`MaskedTokenAccuracy`, a Keras metric for teacher-forced training, uses Keras.
"""

import collections
import dataclasses
import math

import keras

from rnnzoo.layers.base import PACKAGE


def _tokens(sentence, argument):
    if isinstance(sentence, str):
        return tuple(sentence.split())
    try:
        return tuple(sentence)
    except TypeError:
        raise ValueError(
            f"Received an invalid value in `{argument}`, expected a string or a sequence "
            f"of tokens, got {sentence!r}."
        ) from None


def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _as_reference_sets(references, count):
    """One list of tokenised references per hypothesis.

    An entry is a string (one reference) or a list of references, each a
    string or a token sequence; a single tokenised reference is `[tokens]`.
    """
    references = list(references)
    if len(references) != count:
        raise ValueError(
            f"Expected one entry in `references` per hypothesis ({count}), got "
            f"{len(references)}."
        )
    sets = []
    for entry in references:
        refs = [entry] if isinstance(entry, str) else list(_tokens(entry, "references"))
        if not refs:
            raise ValueError("Received an empty reference set; every hypothesis needs one.")
        sets.append([_tokens(ref, "references") for ref in refs])
    return sets


@dataclasses.dataclass(frozen=True)
class BleuStatistics:
    """The parts of a corpus BLEU score.

    Attributes:
        score: float in [0, 1], `brevity_penalty * exp(mean(log precisions))`.
        precisions: tuple of the modified n-gram precisions, n = 1..max_order.
        matches: tuple of clipped n-gram matches per order (numerators).
        totals: tuple of hypothesis n-gram counts per order (denominators).
        brevity_penalty: float, 1 when the hypotheses are longer than the
            references, else `exp(1 - r / c)`.
        hypothesis_length: int `c`, the number of hypothesis tokens.
        reference_length: int `r`, the summed lengths of the closest references.
    """

    score: float
    precisions: tuple
    matches: tuple
    totals: tuple
    brevity_penalty: float
    hypothesis_length: int
    reference_length: int


def bleu_statistics(references, hypotheses, max_order=4):
    """Corpus BLEU with every intermediate number (Papineni et al. 2002).

    For each order n, the hypothesis n-grams of the whole corpus are counted,
    each clipped to the largest count it has in any one reference of its own
    sentence; the modified precision is the clipped total over the plain total.
    The effective reference length `r` sums, per sentence, the reference
    length closest to the hypothesis length (the shorter on a tie). No
    smoothing: a zero precision at any order gives a score of 0.

    Args:
        references: one entry per hypothesis: a string (one reference) or a
            list of references, each a string or a token sequence (so one
            tokenised reference is written `[["three", "zero"]]`).
        hypotheses: list of strings or token sequences.
        max_order: int >= 1, the longest n-gram (4 for BLEU-4).

    Returns:
        A `BleuStatistics`.

    Raises:
        ValueError: for an empty corpus, mismatched lengths or a bad `max_order`.

    Example:
        >>> stats = bleu_statistics(["the cat sat on the mat"], ["the cat sat on a mat"])
        >>> stats.matches, stats.totals  # "a" breaks two trigrams and two 4-grams
        ((5, 3, 2, 1), (6, 5, 4, 3))
        >>> round(stats.score, 4)  # (5/6 * 3/5 * 2/4 * 1/3) ** (1/4), no brevity penalty
        0.5373
    """
    if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 1:
        raise ValueError(
            f"Received an invalid value for argument `max_order`, expected a positive "
            f"integer, got {max_order!r}."
        )
    hypotheses = [_tokens(h, "hypotheses") for h in hypotheses]
    if not hypotheses:
        raise ValueError("Received no hypotheses; BLEU needs a non-empty corpus.")
    reference_sets = _as_reference_sets(references, len(hypotheses))
    matches, totals = [0] * max_order, [0] * max_order
    hypothesis_length = reference_length = 0
    for hypothesis, refs in zip(hypotheses, reference_sets):
        hypothesis_length += len(hypothesis)
        reference_length += min((abs(len(r) - len(hypothesis)), len(r)) for r in refs)[1]
        for n in range(1, max_order + 1):
            counts = _ngrams(hypothesis, n)
            ceiling = collections.Counter()
            for ref in refs:
                ceiling |= _ngrams(ref, n)  # element-wise maximum over the references
            matches[n - 1] += sum(min(c, ceiling[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hypothesis) - n + 1, 0)
    precisions = tuple(m / t if t else 0.0 for m, t in zip(matches, totals))
    if hypothesis_length == 0:
        penalty = 0.0
    elif hypothesis_length > reference_length:
        penalty = 1.0
    else:
        penalty = math.exp(1.0 - reference_length / hypothesis_length)
    if min(precisions) > 0.0:
        score = penalty * math.exp(sum(math.log(p) for p in precisions) / max_order)
    else:
        score = 0.0
    return BleuStatistics(
        score=score,
        precisions=precisions,
        matches=tuple(matches),
        totals=tuple(totals),
        brevity_penalty=penalty,
        hypothesis_length=hypothesis_length,
        reference_length=reference_length,
    )


def corpus_bleu(references, hypotheses, max_order=4):
    """Corpus BLEU-`max_order` in [0, 1]; see `bleu_statistics` for the definition.

    Example:
        >>> refs = ["three zero seven", "one two three four"]
        >>> round(corpus_bleu(refs, ["three zero seven", "one two three four"]), 6)
        1.0
    """
    return bleu_statistics(references, hypotheses, max_order).score


def exact_match(references, hypotheses):
    """Fraction of hypotheses whose tokens equal one of their references.

    Example:
        >>> exact_match(["three zero", "one two"], ["three  zero", "one"])
        0.5
    """
    hypotheses = [_tokens(h, "hypotheses") for h in hypotheses]
    if not hypotheses:
        raise ValueError("Received no hypotheses; exact match needs a non-empty corpus.")
    sets = _as_reference_sets(references, len(hypotheses))
    return sum(h in refs for h, refs in zip(hypotheses, sets)) / len(hypotheses)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Accuracy of next-token predictions over the tokens that are not padding.

    Args:
        pad_id: int, the target id that marks padding (not counted).
        name: metric name, default `"token_accuracy"`.

    Call arguments (`update_state`):
        y_true: int `(batch, time)` target ids.
        y_pred: float `(batch, time, vocabulary)` logits or probabilities.
        sample_weight: optional `(batch,)` or `(batch, time)` weights.

    Example:
        >>> import numpy as np
        >>> metric = MaskedTokenAccuracy(pad_id=0)
        >>> metric.update_state(np.array([[2, 1, 0]]), np.eye(3)[[[2, 2, 1]]])
        >>> float(metric.result())
        0.5
    """

    def __init__(self, pad_id=0, name="token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = int(pad_id)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        y_true = ops.cast(y_true, "int32")
        weight = ops.cast(ops.not_equal(y_true, self.pad_id), self.dtype)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            if len(sample_weight.shape) == 1:
                sample_weight = ops.expand_dims(sample_weight, -1)
            weight = weight * sample_weight
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        hits = ops.cast(ops.equal(predicted, y_true), self.dtype)
        self.correct.assign_add(ops.sum(hits * weight))
        self.count.assign_add(ops.sum(weight))

    def result(self):
        return keras.ops.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"pad_id": self.pad_id, "name": self.name, "dtype": self.dtype}
