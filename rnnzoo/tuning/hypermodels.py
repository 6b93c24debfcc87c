"""One `keras_tuner.HyperModel` per task, over the shared search space.

Each HyperModel validates its fixed contract (input shape, classes,
vocabulary ...) in `__init__`; `build(hp)` declares the backbone space
(`rnnzoo.tuning.space`), the task's `dropout` and the optimizer's
`learning_rate`, and returns the task model compiled with Adam (the task's
default clipping kept). Task arguments that are not tuned pass through
unchanged (`embedding_dim=16`, `attention="dot"`, ...).

Hyper-parameters (defaults are the zoo's defaults):

    cell_type      registered step-wise variant      "lstm"
    units          8 .. 256, powers of two           64
    num_layers     1 .. 3                            1
    bidirectional  where the task accepts it         False
    dropout        0 .. 0.5, step 0.1                the task's default (0.0)
    learning_rate  1e-4 .. 1e-2, log                 the task's compile default
    + per-variant knobs under conditional scopes (see `rnnzoo.tuning.space`).
"""

import inspect

import keras
import keras_tuner

from rnnzoo import registry
from rnnzoo.tasks import (
    AnomalyDetector,
    Captioner,
    CharGenerator,
    CTCRecognizer,
    Forecaster,
    Seq2Seq,
    SequenceClassifier,
    SequencePredictor,
)
from rnnzoo.tuning.space import DROPOUT, LEARNING_RATE, declare_backbone, resolve_cell_types

HYPERMODELS = registry.Registry("hypermodel")


def _invalid(owner, argument, expected, got):
    return ValueError(
        f"Received an invalid value for argument `{argument}` of {owner}, expected "
        f"{expected}, got {got!r}."
    )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(owner, argument, value, minimum=1):
    if not _is_int(value) or value < minimum:
        raise _invalid(owner, argument, f"an integer >= {minimum}", value)
    return value


def check_sequence_shape(owner, argument, value):
    """`(timesteps or None, features)` with positive integers."""
    ok = isinstance(value, (list, tuple)) and len(value) == 2
    ok = ok and (value[0] is None or (_is_int(value[0]) and value[0] > 0))
    ok = ok and _is_int(value[1]) and value[1] > 0
    if not ok:
        raise _invalid(owner, argument,
                       "(timesteps or None, features) with positive integers", value)
    return tuple(value)


class TaskHyperModel(keras_tuner.HyperModel):
    """Base of the task HyperModels: the shared space, compile and pass-through.

    Subclasses set `task_class`, `objective` (what a tuner should watch),
    `learning_rate` and `clipnorm` (the task's `compile()` defaults),
    `bidirectional` (whether the task takes a `Bidirectional` backbone), the
    names of the contract arguments, and implement `build_task`.

    Args:
        cell_types: optional list of registered step-wise layer names for
            `cell_type`; default every supported one.
        seed: optional int, seeds the backbone layers (layer `i` gets `seed + i`).
        max_timesteps: optional int, the longest sequence the model will read,
            when the contract leaves the length open; it enables IndRNN's
            `recurrent_constraint` (|u| <= 2 ** (1 / max_timesteps)).
        name, tunable: as in `keras_tuner.HyperModel`.
        **task_kwargs: further task arguments, passed unchanged.
    """

    task_class = None
    objective = "val_loss"
    learning_rate = 1e-3
    clipnorm = None
    bidirectional = False
    tuned = ("dropout",)
    contract = ()
    backbone_argument = "backbone"

    def __init__(self, cell_types=None, seed=None, max_timesteps=None, name=None,
                 tunable=True, **task_kwargs):
        super().__init__(name=name, tunable=tunable)
        owner = type(self).__name__
        self.cell_types = resolve_cell_types(cell_types, owner)
        if seed is not None and not _is_int(seed):
            raise _invalid(owner, "seed", "an integer or None", seed)
        self.seed = seed
        if max_timesteps is not None:
            check_int(owner, "max_timesteps", max_timesteps)
        self.max_timesteps = max_timesteps
        accepted = set(inspect.signature(self.task_class.__init__).parameters)
        reserved = {"self", "kwargs", "name", self.backbone_argument, "decoder", *self.tuned,
                    *self.contract}
        for key in task_kwargs:
            if key not in accepted or key in reserved:
                allowed = sorted(accepted - reserved)
                raise ValueError(
                    f"Received an unexpected argument `{key}` for {owner}: the tuned and "
                    f"contract arguments are set by the HyperModel; further "
                    f"{self.task_class.__name__} arguments are {allowed}."
                )
        self.task_kwargs = dict(task_kwargs)

    @property
    def timesteps(self):
        """The sequence length IndRNN's recurrent clip uses: `max_timesteps`, else the
        length the contract fixes, else None (then the clip is not searched)."""
        return self.max_timesteps or self.contract_timesteps

    @property
    def contract_timesteps(self):
        return None

    @classmethod
    def default_dropout(cls):
        return inspect.signature(cls.task_class.__init__).parameters["dropout"].default

    def declare_layers(self, hp, return_sequences_last=False, bidirectional=None,
                       prefix="backbone"):
        return declare_backbone(
            hp, self.cell_types, timesteps=self.timesteps,
            return_sequences_last=return_sequences_last,
            bidirectional=self.bidirectional if bidirectional is None else bidirectional,
            seed=self.seed, prefix=prefix,
        )

    def build(self, hp):
        layers = self.declare_layers(hp)
        dropout = hp.Float("dropout", **DROPOUT, default=self.default_dropout())
        learning_rate = hp.Float("learning_rate", **LEARNING_RATE, default=self.learning_rate)
        model = self.build_task(hp, layers, dropout)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=self.clipnorm))
        return model

    def build_task(self, hp, layers, dropout):
        raise NotImplementedError


class SequenceClassifierHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.SequenceClassifier` (objective `val_accuracy`).

    Args:
        input_shape: tuple `(timesteps or None, features)`.
        num_classes: int >= 2.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `mask_value`).

    Example:

    >>> import keras_tuner
    >>> hm = SequenceClassifierHyperModel(input_shape=(None, 2), num_classes=3,
    ...                                   cell_types=["gru", "esn"])
    >>> model = hm.build(keras_tuner.HyperParameters())
    >>> model.output_shape
    (None, 3)
    """

    task_class = SequenceClassifier
    objective = "val_accuracy"
    bidirectional = True
    contract = ("input_shape", "num_classes")

    def __init__(self, input_shape, num_classes, **kwargs):
        owner = type(self).__name__
        self.input_shape = check_sequence_shape(owner, "input_shape", input_shape)
        self.num_classes = check_int(owner, "num_classes", num_classes, 2)
        super().__init__(**kwargs)

    @property
    def contract_timesteps(self):
        return self.input_shape[0]

    def build_task(self, hp, layers, dropout):
        return SequenceClassifier(layers, num_classes=self.num_classes,
                                  input_shape=self.input_shape, dropout=dropout,
                                  **self.task_kwargs)


class SequencePredictorHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.SequencePredictor` (`val_loss`).

    Args:
        output_dim: int >= 1, values predicted per sequence (or per step).
        input_shape: tuple `(timesteps or None, features)`.
        per_step: bool, one prediction per step. Default False.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `loss="binary_crossentropy"`, `mask_value`).
    """

    task_class = SequencePredictor
    bidirectional = True
    contract = ("output_dim", "input_shape", "per_step")

    def __init__(self, output_dim, input_shape, per_step=False, **kwargs):
        owner = type(self).__name__
        self.output_dim = check_int(owner, "output_dim", output_dim)
        self.input_shape = check_sequence_shape(owner, "input_shape", input_shape)
        if not isinstance(per_step, bool):
            raise _invalid(owner, "per_step", "a bool", per_step)
        self.per_step = per_step
        super().__init__(**kwargs)

    @property
    def contract_timesteps(self):
        return self.input_shape[0]

    def declare_layers(self, hp, **kwargs):
        kwargs.setdefault("return_sequences_last", self.per_step)
        return super().declare_layers(hp, **kwargs)

    def build_task(self, hp, layers, dropout):
        return SequencePredictor(layers, output_dim=self.output_dim, input_shape=self.input_shape,
                                 per_step=self.per_step, dropout=dropout, **self.task_kwargs)


class CaptionerHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.Captioner` (unidirectional decoders; `val_loss`).

    Args:
        vocabulary: list of unique tokens with the pad, start and end tokens.
        image_shape: tuple `(height, width, channels)` of positive integers.
        max_length: int, the most tokens per caption. Default 20.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `conditioning="input"`, `encoder_filters`, `embedding_dim`).
    """

    task_class = Captioner
    contract = ("vocabulary", "image_shape", "max_length")
    backbone_argument = "decoder"

    def __init__(self, vocabulary, image_shape, max_length=20, **kwargs):
        owner = type(self).__name__
        words = list(vocabulary) if isinstance(vocabulary, (list, tuple)) else None
        if (not words or not all(isinstance(w, str) and w for w in words)
                or len(set(words)) != len(words)):
            raise _invalid(owner, "vocabulary", "a list of unique non-empty tokens", vocabulary)
        specials = [kwargs.get(k, d) for k, d in (("pad_token", "<pad>"),
                                                  ("start_token", "<start>"),
                                                  ("end_token", "<end>"))]
        missing = [token for token in specials if token not in words]
        if missing:
            raise _invalid(owner, "vocabulary", f"a list holding the tokens {specials}",
                           f"a vocabulary without {missing}")
        ok = isinstance(image_shape, (list, tuple)) and len(image_shape) == 3
        if not ok or not all(_is_int(v) and v > 0 for v in image_shape):
            raise _invalid(owner, "image_shape", "(height, width, channels) positive integers",
                           image_shape)
        self.vocabulary = words
        self.image_shape = tuple(image_shape)
        self.max_length = check_int(owner, "max_length", max_length)
        super().__init__(**kwargs)

    @property
    def contract_timesteps(self):
        return self.max_length + 1

    def build_task(self, hp, layers, dropout):
        return Captioner(layers, self.vocabulary, image_shape=self.image_shape,
                         max_length=self.max_length, dropout=dropout, **self.task_kwargs)


class AnomalyDetectorHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.AnomalyDetector` (`val_loss`).

    `bidirectional` is searched in forecast mode only (the autoencoder's
    decoder is a copy of the backbone and runs forwards).

    Args:
        window: int, steps per window (>= 2 for the autoencoder).
        num_features: int, features per step. Default 1.
        mode: "forecast" (default) or "autoencoder".
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `mean`, `std`).
    """

    task_class = AnomalyDetector
    contract = ("window", "num_features", "mode")

    def __init__(self, window, num_features=1, mode="forecast", **kwargs):
        owner = type(self).__name__
        if mode not in ("forecast", "autoencoder"):
            raise _invalid(owner, "mode", "'forecast' or 'autoencoder'", mode)
        self.mode = mode
        self.window = check_int(owner, "window", window, 2 if mode == "autoencoder" else 1)
        self.num_features = check_int(owner, "num_features", num_features)
        super().__init__(**kwargs)
        self.bidirectional = mode == "forecast"

    @property
    def contract_timesteps(self):
        return self.window

    def build_task(self, hp, layers, dropout):
        return AnomalyDetector(layers, window=self.window, num_features=self.num_features,
                               mode=self.mode, dropout=dropout, **self.task_kwargs)


class Seq2SeqHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.Seq2Seq` (`val_loss`).

    The decoder uses the encoder's `cell_type`, `units` and `num_layers`;
    `bidirectional` applies to the encoder only.

    Args:
        source_vocabulary_size: int >= 2.
        target_vocabulary_size: int >= 3.
        max_source_length: int >= 1.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `attention`, `bridge`, `embedding_dim`, `max_target_length`).
    """

    task_class = Seq2Seq
    bidirectional = True
    contract = ("source_vocabulary_size", "target_vocabulary_size", "max_source_length")
    backbone_argument = "encoder"

    def __init__(self, source_vocabulary_size, target_vocabulary_size, max_source_length,
                 **kwargs):
        owner = type(self).__name__
        self.source_vocabulary_size = check_int(owner, "source_vocabulary_size",
                                                source_vocabulary_size, 2)
        self.target_vocabulary_size = check_int(owner, "target_vocabulary_size",
                                                target_vocabulary_size, 3)
        self.max_source_length = check_int(owner, "max_source_length", max_source_length)
        super().__init__(**kwargs)

    @property
    def contract_timesteps(self):
        return self.max_source_length

    def build_task(self, hp, layers, dropout):
        decoder = self.declare_layers(hp, return_sequences_last=True, bidirectional=False,
                                      prefix="decoder")
        return Seq2Seq(layers, decoder, source_vocabulary_size=self.source_vocabulary_size,
                       target_vocabulary_size=self.target_vocabulary_size,
                       max_source_length=self.max_source_length, dropout=dropout,
                       **self.task_kwargs)


class CTCRecognizerHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.CTCRecognizer` (`val_loss`).

    The task always reads both directions (it wraps each layer in
    `Bidirectional`), so there is no `bidirectional` hyper-parameter.

    Args:
        num_classes: int >= 1, labels without the blank.
        input_shape: tuple `(frames or None, features)`.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `mask_value`, `merge_mode`).
    """

    task_class = CTCRecognizer
    clipnorm = 5.0
    contract = ("num_classes", "input_shape")
    backbone_argument = "encoder"

    def __init__(self, num_classes, input_shape, **kwargs):
        owner = type(self).__name__
        self.num_classes = check_int(owner, "num_classes", num_classes, 1)
        self.input_shape = check_sequence_shape(owner, "input_shape", input_shape)
        super().__init__(**kwargs)

    @property
    def contract_timesteps(self):
        return self.input_shape[0]

    def build_task(self, hp, layers, dropout):
        return CTCRecognizer(layers, num_classes=self.num_classes, input_shape=self.input_shape,
                             dropout=dropout, **self.task_kwargs)


class ForecasterHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.Forecaster` (`val_loss`).

    `bidirectional` is searched in direct mode only (autoregressive mode
    steps the layers forwards with explicit states).

    Args:
        window: int >= 1, past steps read.
        horizon: int >= 1, future steps predicted.
        num_features: int >= 1. Default 1.
        mode: "direct" (default) or "autoregressive".
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `mean`, `std`, `residual`).
    """

    task_class = Forecaster
    contract = ("window", "horizon", "num_features", "mode")

    def __init__(self, window, horizon, num_features=1, mode="direct", **kwargs):
        owner = type(self).__name__
        if mode not in ("direct", "autoregressive"):
            raise _invalid(owner, "mode", "'direct' or 'autoregressive'", mode)
        self.mode = mode
        self.window = check_int(owner, "window", window)
        self.horizon = check_int(owner, "horizon", horizon)
        self.num_features = check_int(owner, "num_features", num_features)
        super().__init__(**kwargs)
        self.bidirectional = mode == "direct"

    @property
    def contract_timesteps(self):
        return self.window

    def build_task(self, hp, layers, dropout):
        return Forecaster(layers, window=self.window, horizon=self.horizon,
                          num_features=self.num_features, mode=self.mode, dropout=dropout,
                          **self.task_kwargs)


class CharGeneratorHyperModel(TaskHyperModel):
    """Search space of `rnnzoo.tasks.CharGenerator` (left to right only; `val_loss`).

    Args:
        vocabulary: optional str of distinct characters; default the
            Shakespeare vocabulary of `rnnzoo.data.text`.
        cell_types, seed, name, tunable, **task_kwargs: see `TaskHyperModel`
            (e.g. `embedding_dim`).
    """

    task_class = CharGenerator
    learning_rate = 2e-3
    clipnorm = 5.0
    contract = ("vocabulary",)

    def __init__(self, vocabulary=None, **kwargs):
        owner = type(self).__name__
        if vocabulary is not None and (
                not isinstance(vocabulary, str) or not vocabulary
                or len(set(vocabulary)) != len(vocabulary)):
            raise _invalid(owner, "vocabulary", "None or a string of distinct characters",
                           vocabulary)
        self.vocabulary = vocabulary
        super().__init__(**kwargs)

    def build_task(self, hp, layers, dropout):
        return CharGenerator(layers, vocabulary=self.vocabulary, dropout=dropout,
                             **self.task_kwargs)


for _task, _hypermodel in (
    ("anomaly_detector", AnomalyDetectorHyperModel),
    ("captioner", CaptionerHyperModel),
    ("char_generator", CharGeneratorHyperModel),
    ("ctc_recognizer", CTCRecognizerHyperModel),
    ("forecaster", ForecasterHyperModel),
    ("sequence_classifier", SequenceClassifierHyperModel),
    ("sequence_predictor", SequencePredictorHyperModel),
    ("seq2seq", Seq2SeqHyperModel),
):
    HYPERMODELS.register(_task, _hypermodel)
