"""Character language model over any recurrent backbone, with sampling from a prompt."""

import math

import keras
import numpy as np
from keras import ops

from rnnzoo import registry
from rnnzoo.data.text import OOV_CHAR, OOV_ID, VOCAB
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks import decoding
from rnnzoo.tasks.base import (
    ZooTask,
    as_layer_list,
    clone_layer,
    deserialize_layers,
    serialize_layers,
)

#: The default vocabulary: the 79 characters of the Shakespeare corpus (`rnnzoo.data.text`).
DEFAULT_VOCABULARY = "".join(VOCAB)
METHODS = ("sample", "greedy", "beam")


@keras.saving.register_keras_serializable(package=PACKAGE)
def bits_per_char(y_true, y_pred):
    """Cross-entropy of next-character logits in bits per character (nats / ln 2)."""
    nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
    return nats / math.log(2.0)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_list(state_size):
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


def _check_vocabulary(vocabulary):
    if vocabulary is None:
        return DEFAULT_VOCABULARY
    if not isinstance(vocabulary, str) or not vocabulary:
        raise ValueError(
            "Received an invalid value for argument `vocabulary` of CharGenerator, "
            f"expected a non-empty string of distinct characters, got {vocabulary!r}."
        )
    repeated = sorted({c for c in vocabulary if vocabulary.count(c) > 1})
    if repeated or OOV_CHAR in vocabulary:
        problem = (f"repeats {repeated!r}" if repeated
                   else f"contains {OOV_CHAR!r} (the unknown-character mark)")
        raise ValueError(
            "Received an invalid value for argument `vocabulary` of CharGenerator, "
            f"expected a string of distinct characters; it {problem}."
        )
    return vocabulary


def _check_backbone(layers):
    for layer in layers:
        config = layer.get_config()
        if not isinstance(layer, keras.layers.RNN) or "return_state" not in config:
            raise ValueError(
                "Received an invalid value for argument `backbone` of CharGenerator, "
                "expected recurrent layers (keras.layers.RNN subclasses such as "
                f"rnnzoo.layers.LSTM(128)), got {type(layer).__name__} {layer.name!r}."
            )
        if config.get("go_backwards"):
            raise ValueError(
                f"The backbone layer {layer.name!r} of CharGenerator reads backwards "
                "(go_backwards=True); a language model must read left to right."
            )


@keras.saving.register_keras_serializable(package=PACKAGE)
class CharGenerator(ZooTask):
    """Character language model: ids in, next-character logits out, any backbone.

    Characters are embedded, run through the recurrent backbone (one layer or a
    stack, each cloned with `return_sequences=True, return_state=True`) and a
    dense head gives logits over the vocabulary at every step. Training is
    teacher forcing: inputs are a window of character ids, targets the same
    window shifted one character ahead (as `rnnzoo.data` "shakespeare" yields).

    Vocabulary: the model stores its vocabulary string. Character
    `vocabulary[i - 1]` has id `i`; id 0 stands for any character outside the
    vocabulary and decodes as U+FFFD, as in `rnnzoo.data.text`. With the
    default vocabulary (the Shakespeare corpus' 79 characters) `encode` gives
    the same ids as `rnnzoo.data.text.encode`.

    Generation (`generate`) runs the single-step model of `export_model()`
    (the graph a phone runs) through `rnnzoo.tasks.decoding`: the prompt warms
    the recurrent state up, then characters are sampled (temperature, top-k),
    chosen greedily, or found by beam search.

    Args:
        backbone: a recurrent Keras layer or a list of them (templates: their
            return flags are set here), e.g. `rnnzoo.layers.LSTM(128)`.
        vocabulary: str of distinct characters; default the Shakespeare
            vocabulary `rnnzoo.data.text.VOCAB`. `vocabulary_size` is its
            length + 1 (id 0 = unknown).
        embedding_dim: int, size of the character embedding. Default 32.
        dropout: float in [0, 1), dropout before the head. Default 0.
        name: optional model name.

    Call arguments:
        inputs: int tensor `(batch, timesteps)` of character ids in
            `[0, vocabulary_size)`.

    Output shape: `(batch, timesteps, vocabulary_size)` logits of the next
    character at every step.

    Example:

    >>> import numpy as np, rnnzoo
    >>> lm = CharGenerator(rnnzoo.layers.GRU(16, seed=1), vocabulary="ab\\n")
    >>> lm.compile()
    >>> tuple(lm(np.zeros((2, 7), "int32")).shape)
    (2, 7, 4)
    >>> len(lm.generate("ab", length=5, seed=0))
    5

    Reference:
        Graves, Generating sequences with recurrent neural networks (2013);
        Karpathy, The unreasonable effectiveness of recurrent neural networks
        (2015).
    """

    def __init__(self, backbone, vocabulary=None, embedding_dim=32, dropout=0.0, name=None,
                 **kwargs):
        # === Layers ===
        templates = as_layer_list(backbone, "CharGenerator")
        _check_backbone(templates)
        vocabulary = _check_vocabulary(vocabulary)
        if not _is_int(embedding_dim) or embedding_dim <= 0:
            raise ValueError(
                "Received an invalid value for argument `embedding_dim` of CharGenerator, "
                f"expected a positive integer, got {embedding_dim!r}."
            )
        if not _is_number(dropout) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                "Received an invalid value for argument `dropout` of CharGenerator, "
                f"expected a float in [0, 1), got {dropout!r}."
            )
        vocabulary_size = len(vocabulary) + 1
        embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
        recurrent = [
            clone_layer(layer, name=f"recurrent_{i}", return_sequences=True, return_state=True,
                        stateful=False)
            for i, layer in enumerate(templates)
        ]
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(vocabulary_size, name="logits")

        # === Functional model ===
        inputs = keras.Input((None,), dtype="int32", name="char_ids")
        x = embedding(inputs)
        for layer in recurrent:
            x = layer(x)[0]
        outputs = head(head_dropout(x))
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.vocabulary = vocabulary
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.dropout = float(dropout)
        self.embedding = embedding
        self.recurrent_layers = recurrent
        self.head = head
        self._char_ids = {c: i + 1 for i, c in enumerate(vocabulary)}
        self._table = np.array([OOV_CHAR, *vocabulary])

    # --------------------------------------------------------------- compile

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(2e-3, clipnorm 5), cross-entropy, bits/char.

        The default loss is the mean next-character cross-entropy in nats per
        character; the default metrics are the same in bits per character and
        the next-character accuracy. `"auto"` picks the default for that
        argument; anything else is passed to Keras unchanged.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(2e-3, clipnorm=5.0)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [
                keras.metrics.MeanMetricWrapper(bits_per_char, name="bits_per_char"),
                keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            ]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # ------------------------------------------------------------ vocabulary

    def encode(self, text):
        """Character ids of `text` (int32 `(len(text),)`; unknown characters become 0)."""
        if not isinstance(text, str):
            raise ValueError(f"Expected a string to encode, got {type(text).__name__} {text!r}.")
        return np.array([self._char_ids.get(c, OOV_ID) for c in text], dtype=np.int32)

    def decode(self, ids):
        """The text of character ids (0 and ids outside the vocabulary become U+FFFD)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        ids = np.where((ids >= 1) & (ids < self.vocabulary_size), ids, OOV_ID)
        return "".join(self._table[ids].tolist())

    def check_ids(self, ids):
        """Returns `ids` as int32 after checking they fit this model's vocabulary.

        Raises:
            ValueError: for an empty batch, a shape other than `(batch,
                timesteps)`, non-integer values, or ids outside
                `[0, vocabulary_size)` (data encoded with another vocabulary).
        """
        array = np.asarray(ids)
        if array.ndim != 2 or array.size == 0:
            raise ValueError(
                f"CharGenerator expects character ids of shape (batch, timesteps) with at least "
                f"one example and one step, got shape {array.shape}."
            )
        whole = np.issubdtype(array.dtype, np.integer) or (
            np.issubdtype(array.dtype, np.floating) and bool(np.all(np.mod(array, 1) == 0))
        )
        if not whole:
            raise ValueError(
                f"CharGenerator expects integer character ids, got dtype {array.dtype}."
            )
        low, high = int(array.min()), int(array.max())
        if low < 0 or high >= self.vocabulary_size:
            raise ValueError(
                f"Character ids must lie in [0, {self.vocabulary_size}) for this model's "
                f"vocabulary of {self.vocabulary_size - 1} characters (+ id 0 for unknown), "
                f"got ids in [{low}, {high}]: the data was encoded with another vocabulary."
            )
        return array.astype(np.int32)

    def _checked(self, x):
        return self.check_ids(x) if isinstance(x, (np.ndarray, list)) else x

    def fit(self, x=None, y=None, *args, **kwargs):
        return super().fit(self._checked(x), self._checked(y), *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        return super().evaluate(self._checked(x), self._checked(y), *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        return super().predict(self._checked(x), *args, **kwargs)

    # ------------------------------------------------------------ step model

    @property
    def state_sizes(self):
        """Sizes of the recurrent states, flat, in the order of `export_model()`'s inputs."""
        return [int(s) for layer in self.recurrent_layers for s in _as_list(layer.cell.state_size)]

    def initial_states(self, batch_size=1):
        """The backbone's initial states as NumPy arrays `(batch_size, size)` (usually zeros)."""
        states = []
        for layer in self.recurrent_layers:
            states.extend(
                np.asarray(s, dtype="float32")
                for s in keras.tree.flatten(layer.cell.get_initial_state(batch_size=batch_size))
            )
        return states

    def export_model(self):
        """One decoding step: `[char id (batch, 1), *states] -> [log_probs, *new_states]`.

        The step model shares this model's layers (and weights). `log_probs` is
        `(batch, vocabulary_size)`, each state `(batch, size)` with the sizes of
        `state_sizes`; start from `initial_states()` (zeros for the zoo's
        layers). `rnnzoo.export(model.export_model(), "step.tflite")` gives the
        builtins-only TFLite graph a phone runs in a loop.
        """
        cached = self.__dict__.get("_step_model")
        if cached is not None:
            return cached
        token = keras.Input((1,), dtype="int32", name="char_id")
        state_inputs = [
            keras.Input((size,), name=f"state_{i}") for i, size in enumerate(self.state_sizes)
        ]
        x = self.embedding(token)
        new_states, offset = [], 0
        for layer in self.recurrent_layers:
            count = len(_as_list(layer.cell.state_size))
            outputs = layer(x, initial_state=state_inputs[offset:offset + count])
            x, offset = outputs[0], offset + count
            new_states.extend(outputs[1:])
        logits = self.head(x)
        log_probs = ops.log_softmax(ops.squeeze(logits, axis=1), axis=-1)
        step = keras.Model([token, *state_inputs], [log_probs, *new_states],
                           name=f"{self.name}_step")
        # Kept out of Keras' tracking: the step model is a view, not part of the saved model.
        object.__setattr__(self, "_step_model", step)
        return step

    def _step_fn(self):
        step = self.export_model()

        def run(tokens, states):
            # predict_on_batch runs a compiled function: far faster than eager calls.
            outputs = step.predict_on_batch([np.asarray(tokens, "int32").reshape(-1, 1), *states])
            outputs = [np.asarray(o) for o in outputs]
            return outputs[0], outputs[1:]

        return run

    def warm_up(self, prompt):
        """Feeds `prompt` except its last character; returns (last char id, states)."""
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(
                "Received an invalid value for argument `prompt` of CharGenerator.generate, "
                f"expected a non-empty string, got {prompt!r}."
            )
        ids = self.encode(prompt)
        run, states = self._step_fn(), self.initial_states(1)
        for token in ids[:-1]:
            _, states = run(np.array([token]), states)
        return int(ids[-1]), states

    def generate(self, prompt, length, temperature=1.0, top_k=None, seed=None, method="sample",
                 beam_width=4):
        """Continues `prompt` by `length` characters.

        The prompt is fed one character at a time through the step model
        (`export_model()`), then `rnnzoo.tasks.decoding` emits the continuation:

        - `method="sample"` (default): `decoding.sample_decode` with
          `temperature` and `top_k`; `temperature=0` means greedy.
        - `method="greedy"`: the most likely character at every step.
        - `method="beam"`: `decoding.beam_search` with `beam_width`; the most
          likely continuation of exactly `length` characters.

        Args:
            prompt: non-empty str; characters outside the vocabulary are fed
                as the unknown id 0.
            length: int > 0, characters to generate.
            temperature: float >= 0. Default 1.
            top_k: optional int, sample among the k most likely characters.
            seed: optional int, for reproducible samples.
            method: "sample", "greedy" or "beam".
            beam_width: int, beams kept by `method="beam"`.

        Returns:
            str, the continuation only (`prompt + result` is the whole text).
        """
        if method not in METHODS:
            raise ValueError(
                "Received an invalid value for argument `method` of CharGenerator.generate, "
                f"expected one of {list(METHODS)}, got {method!r}."
            )
        if not _is_number(temperature) or temperature < 0:
            raise ValueError(
                "Received an invalid value for argument `temperature` of "
                f"CharGenerator.generate, expected a number >= 0, got {temperature!r}."
            )
        if not _is_int(length) or length <= 0:
            raise ValueError(
                "Received an invalid value for argument `length` of CharGenerator.generate, "
                f"expected a positive integer, got {length!r}."
            )
        start, states = self.warm_up(prompt)
        run = self._step_fn()
        if method == "beam":
            tokens = decoding.beam_search(run, states, start, int(length), beam_width=beam_width)[0]
        elif method == "greedy" or temperature == 0:
            tokens = decoding.greedy_decode(run, states, start, int(length))[0]
        else:
            tokens = decoding.sample_decode(run, states, start, int(length),
                                            temperature=float(temperature), top_k=top_k,
                                            seed=seed)[0]
        return self.decode(tokens[0])

    # ---------------------------------------------------------------- config

    def get_config(self):
        return {
            # The clones: the templates' configs with the return flags this task sets.
            "backbone": serialize_layers(self.recurrent_layers),
            "vocabulary": self.vocabulary,
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(backbone=deserialize_layers(config.pop("backbone")), **config)


registry.TASKS.register("char_generator", CharGenerator)
