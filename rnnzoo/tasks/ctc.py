"""CTC recognition: a bidirectional recurrent encoder, per-frame log-probabilities, CTC loss.

The model maps a feature sequence (e.g. the pixel columns of an image strip)
to per-frame log-probabilities over `num_classes` labels plus one blank. It is
trained with the connectionist temporal classification loss (Graves et al.
2006), which sums over every alignment of the label sequence to the frames, so
no segmentation is needed. Decoding (best path or prefix beam search) runs on
the host with `rnnzoo.tasks.decoding`; the exported TFLite model is the
per-frame log-probability network, and a phone runs the same small decoder.

The blank is the LAST class: index `num_classes`. Labels keep their natural
ids `0 .. num_classes - 1` (digits 0-9 stay 0-9 with the blank at 10).
Label batches are padded with -1 (any negative value) after the labels.
"""

import keras
import numpy as np
from keras import ops

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks import decoding
from rnnzoo.tasks.base import (
    ZooTask,
    as_layer_list,
    clone_layer,
    deserialize_layers,
    serialize_layers,
)

#: Log-probability given to non-blank classes on padded frames (exp() is 0 in float32).
_PINNED = -1e4
_METHODS = ("greedy", "beam")
_MERGE_MODES = ("concat", "sum", "mul", "ave")


# --------------------------------------------------------------------------- metrics

def edit_distance(reference, hypothesis):
    """Levenshtein distance: fewest insertions, deletions and substitutions.

    Args:
        reference, hypothesis: sequences of comparable items (lists of ints, strings).

    Returns:
        int, the number of single-item edits turning `hypothesis` into `reference`.

    Example:
        >>> edit_distance([3, 0, 7], [3, 7]), edit_distance("kitten", "sitting")
        (1, 3)
    """
    reference, hypothesis = list(reference), list(hypothesis)
    previous = list(range(len(hypothesis) + 1))  # distances from the empty reference prefix
    for i, ref_item in enumerate(reference, start=1):
        current = [i]
        for j, hyp_item in enumerate(hypothesis, start=1):
            current.append(min(
                previous[j] + 1,  # reference item deleted
                current[j - 1] + 1,  # hypothesis item inserted
                previous[j - 1] + (ref_item != hyp_item),  # match or substitution
            ))
        previous = current
    return previous[-1]


def character_error_rate(references, hypotheses):
    """Corpus character error rate: summed edit distances / summed reference lengths.

    Args:
        references: list of reference label sequences.
        hypotheses: list of decoded label sequences, as many as `references`.

    Returns:
        float >= 0 (can exceed 1 when hypotheses insert many labels).

    Raises:
        ValueError: different numbers of sequences, or no reference labels at all.

    Example:
        >>> character_error_rate([[1, 2, 3], [4, 5]], [[1, 2, 3], [4]])
        0.2
    """
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(
            f"Expected as many hypotheses as references, got {len(hypotheses)} hypotheses "
            f"for {len(references)} references."
        )
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError(
            "The character error rate is undefined without reference labels: got "
            f"{len(references)} empty references."
        )
    return sum(edit_distance(r, h) for r, h in zip(references, hypotheses)) / total


def frames_needed(labels):
    """Fewest frames a CTC alignment of `labels` needs (a blank between repeats)."""
    labels = list(labels)
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


def unpad_labels(labels):
    """Padded label rows (-1 after the labels) as a list of int lists.

    Example:
        >>> unpad_labels(np.array([[3, 0, -1], [5, -1, -1]]))
        [[3, 0], [5]]
    """
    return [[int(v) for v in row if v >= 0] for row in np.asarray(labels)]


# --------------------------------------------------------------------------- loss and layers

@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCLoss(keras.losses.Loss):
    """CTC loss with a chosen blank index and -1-padded labels.

    `keras.losses.CTC` fixes the blank (and the label padding) at class 0; this
    loss lets the blank be any class and reads label lengths from the padding.
    All frames count: padded input frames must be blanks with certainty, as the
    `CTCRecognizer` output arranges (so variable-length inputs train exactly).

    Args:
        blank: int >= 0, the blank class.
        reduction, name, dtype: as for `keras.losses.Loss`.

    Call arguments:
        y_true: int `(batch, max_labels)` labels, padded with -1 after the labels.
        y_pred: float `(batch, frames, classes)` logits or log-probabilities.

    Returns: the negative log-likelihood per example, reduced.

    Example:
        >>> frames = np.log(np.full((1, 4, 3), 1 / 3, "float32"))  # uniform, blank = 2
        >>> round(float(CTCLoss(blank=2)(np.array([[0, 1, -1]]), frames)), 3)  # -log(15 / 81)
        1.686

    Reference: Graves, Fernandez, Gomez & Schmidhuber (2006), Connectionist
    temporal classification, ICML.
    """

    def __init__(self, blank, reduction="sum_over_batch_size", name="ctc", dtype=None):
        if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or blank < 0:
            raise ValueError(
                "Received an invalid value for argument `blank` of CTCLoss, expected a "
                f"non-negative integer, got {blank!r}."
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.blank = int(blank)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        valid = y_true >= 0
        label_length = ops.sum(ops.cast(valid, "int32"), axis=-1)
        targets = ops.where(valid, y_true, ops.zeros_like(y_true))
        batch = ops.shape(y_pred)[0]
        frame_length = ops.full((batch,), ops.shape(y_pred)[1], dtype="int32")
        return ops.ctc_loss(targets, y_pred, label_length, frame_length, mask_index=self.blank)

    def get_config(self):
        config = super().get_config()
        config["blank"] = self.blank
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrameLogProbs(keras.layers.Layer):
    """Log-softmax over classes; masked (padded) frames become a certain blank.

    A padded frame gets log-probability 0 for the blank and -1e4 for every
    label, so CTC over all frames equals CTC over the valid ones, and decoders
    need no lengths. The output carries no mask.

    Args:
        blank: int, the blank class.

    Call arguments:
        inputs: float `(batch, frames, classes)` logits; `mask` optional bool
            `(batch, frames)`, True on valid frames.

    Example:
        >>> valid = np.array([[True, False]])  # the second frame is padding
        >>> out = FrameLogProbs(blank=2)(np.zeros((1, 2, 3), "float32"), mask=valid)
        >>> np.round(np.exp(np.asarray(out, "float64")), 3).tolist()
        [[[0.333, 0.333, 0.333], [0.0, 0.0, 1.0]]]
    """

    def __init__(self, blank, **kwargs):
        super().__init__(**kwargs)
        self.blank = int(blank)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        log_probs = ops.log_softmax(inputs, axis=-1)
        if mask is None:
            return log_probs
        classes = inputs.shape[-1]
        pinned = ops.convert_to_tensor(
            np.where(np.arange(classes) == self.blank, 0.0, _PINNED).astype("float32"),
            dtype=log_probs.dtype,
        )
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        return ops.where(keep, log_probs, ops.broadcast_to(pinned, ops.shape(log_probs)))

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = super().get_config()
        config["blank"] = self.blank
        return config


# --------------------------------------------------------------------------- the task

def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_input_shape(input_shape):
    ok = isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
    ok = ok and (input_shape[0] is None or _positive_int(input_shape[0]))
    ok = ok and _positive_int(input_shape[1])
    if not ok:
        raise ValueError(
            "Received an invalid value for argument `input_shape` of CTCRecognizer, "
            f"expected (frames or None, features) with positive integers, got {input_shape!r}."
        )
    return tuple(input_shape)


class _Untracked:
    """Keeps the encoder templates out of Keras' layer tracking: the model runs
    clones of them, and only their configs are saved."""

    def __init__(self, value):
        self.value = value


def _bidirectional(template, index, merge_mode):
    try:
        layer = clone_layer(template, name=f"encoder_{index}", return_sequences=True,
                            return_state=False, go_backwards=False)
        return keras.layers.Bidirectional(layer, merge_mode=merge_mode,
                                          name=f"bidirectional_{index}")
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(
            "Every encoder layer of CTCRecognizer must be a recurrent layer that "
            "keras.layers.Bidirectional can wrap (a keras.layers.RNN such as "
            f"rnnzoo.layers.LSTM(64)); layer {index} ({type(template).__name__}) "
            f"cannot: {error}"
        ) from None


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTCRecognizer(ZooTask):
    """Bidirectional recurrent encoder + CTC: frame sequences in, label sequences out.

    Each encoder layer is a template: the task clones it with
    `return_sequences=True` and wraps it in `keras.layers.Bidirectional`;
    several layers are stacked in order. A dense head gives per-frame logits
    over the labels and the blank, turned into log-probabilities.

    The blank is class `num_classes` (the last one); labels are
    `0 .. num_classes - 1`, padded with -1 in label batches.

    Args:
        encoder: a recurrent layer or a list of them, e.g. `rnnzoo.layers.LSTM(64)`.
        num_classes: int >= 1, number of labels (without the blank).
        input_shape: tuple `(frames or None, features)`.
        merge_mode: how the two directions combine: "concat" (default),
            "sum", "mul" or "ave".
        dropout: float in [0, 1), dropout before the head.
        mask_value: optional float; frames whose features all equal it are
            padding: the encoder skips them and they become certain blanks.
            Pick a value that real frames never take (digit strips: -1, since
            blank columns are 0).
        name: optional model name.

    Call arguments:
        inputs: float tensor `(batch, frames, features)`.

    Output shape: `(batch, frames, num_classes + 1)` per-frame log-probabilities.

    Training: `model.compile()` then `model.fit(x, labels)` with int labels
    `(batch, max_labels)` padded with -1. `fit` checks NumPy batches first
    (labels that cannot fit in the frames, bad label ids, wrong feature size).

    Export: `rnnzoo.export(model, path)` writes this per-frame log-probability
    network as builtins-only TFLite; the decoding loop (best path or prefix
    beam search, blank = last class) runs on the host or the phone.

    Example:

    >>> import numpy as np, rnnzoo
    >>> ctc = CTCRecognizer(rnnzoo.layers.LSTM(8), num_classes=10, input_shape=(None, 8))
    >>> ctc.compile()
    >>> tuple(ctc(np.zeros((2, 24, 8), "float32")).shape)
    (2, 24, 11)
    >>> len(ctc.recognize(np.zeros((2, 24, 8), "float32")))
    2

    Reference: Graves, Fernandez, Gomez & Schmidhuber (2006), Connectionist
    temporal classification: labelling unsegmented sequence data with
    recurrent neural networks, ICML; Graves & Schmidhuber (2005) for
    bidirectional LSTM.
    """

    def __init__(self, encoder, num_classes, input_shape, merge_mode="concat", dropout=0.0,
                 mask_value=None, name=None, **kwargs):
        # === Layers ===
        templates = as_layer_list(encoder, "CTCRecognizer", argument="encoder")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                "Received an invalid value for argument `num_classes` of CTCRecognizer, "
                f"expected a positive integer (labels without the blank), got {num_classes!r}."
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                "Received an invalid value for argument `merge_mode` of CTCRecognizer, "
                f"expected one of {list(_MERGE_MODES)}, got {merge_mode!r}."
            )
        if (isinstance(dropout, bool) or not isinstance(dropout, (int, float))
                or not 0.0 <= dropout < 1.0):
            raise ValueError(
                "Received an invalid value for argument `dropout` of CTCRecognizer, "
                f"expected a float in [0, 1), got {dropout!r}."
            )
        if mask_value is not None and (isinstance(mask_value, bool)
                                       or not isinstance(mask_value, (int, float))):
            raise ValueError(
                "Received an invalid value for argument `mask_value` of CTCRecognizer, "
                f"expected a number or None, got {mask_value!r}."
            )
        input_shape = _check_input_shape(input_shape)
        masking = None if mask_value is None else keras.layers.Masking(mask_value, name="padding")
        stack = [_bidirectional(t, i, merge_mode) for i, t in enumerate(templates)]
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(num_classes + 1, name="frame_logits")
        log_probs = FrameLogProbs(num_classes, name="frame_log_probs")

        # === Functional model ===
        inputs = keras.Input(input_shape, name="frames")
        x = masking(inputs) if masking is not None else inputs
        for layer in stack:
            x = layer(x)
        if isinstance(x, (list, tuple)) or len(x.shape) != 3:
            got = [tuple(t.shape) for t in x] if isinstance(x, (list, tuple)) else tuple(x.shape)
            raise ValueError(
                "The encoder of CTCRecognizer must return one vector per frame "
                f"(batch, frames, features); it returned {got}."
            )
        outputs = log_probs(head(head_dropout(x)))
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self._encoder = _Untracked(templates)
        self.num_classes = num_classes
        self.blank = num_classes
        self.frame_shape = input_shape
        self.merge_mode = merge_mode
        self.dropout = float(dropout)
        self.mask_value = None if mask_value is None else float(mask_value)

    # ------------------------------------------------------------------ training

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3, clipnorm=5), CTC loss, no metrics.

        The character error rate needs decoding, which runs on the host:
        measure it with `recognize` and `character_error_rate`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=5.0)
        if loss == "auto":
            loss = CTCLoss(blank=self.blank)
        if metrics == "auto":
            metrics = None
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; NumPy inputs and labels are checked first (`check_batch`)."""
        if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
            self.check_batch(x, y)
        return super().fit(x, y, *args, **kwargs)

    # ------------------------------------------------------------------ checks

    def _check_frames(self, x):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[-1] != self.frame_shape[1]:
            raise ValueError(
                f"CTCRecognizer expected frames of shape (batch, frames, "
                f"{self.frame_shape[1]}), got {x.shape}."
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(
                f"CTCRecognizer received an empty batch: inputs of shape {x.shape}."
            )
        if self.frame_shape[0] is not None and x.shape[1] != self.frame_shape[0]:
            raise ValueError(
                f"CTCRecognizer was built for {self.frame_shape[0]} frames, got {x.shape[1]}."
            )
        return x

    def frame_lengths(self, x, trailing=False):
        """Valid frames per example: all, or those not equal to `mask_value`.

        With `trailing=True`, the frames up to the last valid one (padding
        inside a sequence counts): what decoding needs to read.
        """
        x = self._check_frames(x)
        if self.mask_value is None:
            return np.full((x.shape[0],), x.shape[1], dtype=np.int64)
        valid = np.any(x != self.mask_value, axis=-1)
        if trailing:
            last = x.shape[1] - np.argmax(valid[:, ::-1], axis=-1)
            return np.where(valid.any(axis=-1), last, 0).astype(np.int64)
        return np.sum(valid, axis=-1).astype(np.int64)

    def check_batch(self, x, y):
        """Raises ValueError unless labels `y` can be CTC targets of inputs `x`.

        Args:
            x: float `(batch, frames, features)`.
            y: int `(batch, max_labels)`, labels in `[0, num_classes)`, padded
                with -1 after the labels.
        """
        lengths = self.frame_lengths(x)
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[0] != lengths.shape[0]:
            raise ValueError(
                f"CTCRecognizer expected labels of shape ({lengths.shape[0]}, max_labels) "
                f"padded with -1, got {y.shape}."
            )
        if y.size and not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("CTCRecognizer expected integer labels, got fractional values.")
        y = y.astype(np.int64)
        if (y >= self.num_classes).any():
            raise ValueError(
                f"CTCRecognizer labels must lie in [0, {self.num_classes}) (class "
                f"{self.blank} is the blank; pad with -1), got a label {int(y.max())}."
            )
        padded = y < 0
        if (padded[:, :-1] & ~padded[:, 1:]).any():
            row = int(np.flatnonzero((padded[:, :-1] & ~padded[:, 1:]).any(axis=1))[0])
            raise ValueError(
                f"CTCRecognizer labels must be padded with -1 only after the labels; "
                f"row {row} is {y[row].tolist()}."
            )
        for row, (labels, frames) in enumerate(zip(unpad_labels(y), lengths)):
            needed = frames_needed(labels)
            if needed > frames:
                raise ValueError(
                    f"CTCRecognizer example {row} has {len(labels)} labels, which need "
                    f"{needed} frames (a blank between repeats), but its input has only "
                    f"{frames} valid frames."
                )

    # ------------------------------------------------------------------ inference

    def recognize(self, x, method="greedy", beam_width=8, batch_size=256):
        """Decodes label sequences: best path ("greedy") or prefix beam search ("beam").

        Args:
            x: float `(batch, frames, features)` (padded with `mask_value` if set).
            method: "greedy" or "beam".
            beam_width: int >= 1, prefixes kept per frame (for "beam").
            batch_size: int, batch size of the network pass.

        Returns:
            list of int lists, one label sequence per example.
        """
        if method not in _METHODS:
            raise ValueError(
                "Received an invalid value for argument `method` of "
                f"CTCRecognizer.recognize, expected one of {list(_METHODS)}, got {method!r}."
            )
        lengths = self.frame_lengths(x, trailing=True)
        log_probs = self.predict(np.asarray(x, "float32"), batch_size=batch_size, verbose=0)
        if method == "greedy":
            return decoding.ctc_greedy_decode(log_probs, lengths, blank=self.blank)
        return decoding.ctc_prefix_beam_search(log_probs, lengths, blank=self.blank,
                                               beam_width=beam_width)

    # ------------------------------------------------------------------ config

    def get_config(self):
        return {
            "encoder": serialize_layers(self._encoder.value),
            "num_classes": self.num_classes,
            "input_shape": list(self.frame_shape),
            "merge_mode": self.merge_mode,
            "dropout": self.dropout,
            "mask_value": self.mask_value,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(encoder=deserialize_layers(config.pop("encoder")), **config)


registry.TASKS.register("ctc_recognizer", CTCRecognizer)
