"""Sequence-to-sequence with attention over any recurrent encoder and decoder."""

import keras
import numpy as np
from keras import ops

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks import decoding
from rnnzoo.tasks.attention import AdditiveAttention, MultiplicativeAttention
from rnnzoo.tasks.base import (
    ZooTask,
    as_layer_list,
    clone_layer,
    deserialize_layers,
    serialize_layers,
)

ATTENTIONS = ("additive", "general", "dot", None)
BRIDGES = ("mean", "none")
PAD = 0


def _error(argument, expected, got):
    return ValueError(
        f"Received an invalid value for argument `{argument}` of Seq2Seq, expected "
        f"{expected}, got {got!r}."
    )


def _positive(argument, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _error(argument, f"an integer >= {minimum}", value)
    return int(value)


def _encoder_clone(layer, index):
    """A copy of an encoder layer (or Bidirectional wrapper) returning sequences."""
    name = f"encoder_{index}"
    if isinstance(layer, keras.layers.Bidirectional):
        config = layer.get_config()
        inner = keras.saving.deserialize_keras_object(config["layer"])
        if not isinstance(inner, keras.layers.RNN):
            raise ValueError(
                "A Bidirectional encoder layer of Seq2Seq must wrap a recurrent layer "
                f"(keras.layers.RNN), got {type(inner).__name__}."
            )
        backward = config.get("backward_layer")
        if backward is not None:
            backward = clone_layer(keras.saving.deserialize_keras_object(backward),
                                   return_sequences=True, return_state=False,
                                   name=f"{name}_backward")
        return keras.layers.Bidirectional(
            clone_layer(inner, return_sequences=True, return_state=False, name=f"{name}_forward"),
            merge_mode=config["merge_mode"], backward_layer=backward, name=name,
        )
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(
            "Every encoder layer of Seq2Seq must be a recurrent layer (keras.layers.RNN, "
            f"e.g. rnnzoo.layers.GRU(64)) or a Bidirectional wrapper of one, got {layer!r}."
        )
    return clone_layer(layer, return_sequences=True, return_state=False, name=name)


def _decoder_clone(layer, index):
    if not isinstance(layer, keras.layers.RNN) or isinstance(layer, keras.layers.Bidirectional):
        raise ValueError(
            "Every decoder layer of Seq2Seq must be a unidirectional recurrent layer "
            f"(keras.layers.RNN, e.g. rnnzoo.layers.GRU(64)), got {layer!r}."
        )
    if layer.go_backwards:
        raise ValueError(
            "A decoder layer of Seq2Seq must run forwards (go_backwards=False): it emits "
            f"tokens left to right; got {layer.name!r} with go_backwards=True."
        )
    return clone_layer(layer, return_sequences=True, return_state=True,
                       stateful=False, name=f"decoder_{index}")


def _state_sizes(layer):
    sizes = layer.cell.state_size
    return [int(s) for s in sizes] if isinstance(sizes, (list, tuple)) else [int(sizes)]


class _Parts:
    """The layers of a Seq2Seq, shared by its training graph and its export models."""

    def __init__(self, source_embedding, target_embedding, encoder, decoder, bridges,
                 starts, attention, combine, dropout, logits):
        self.source_embedding, self.target_embedding = source_embedding, target_embedding
        self.encoder, self.decoder, self.bridges, self.starts = encoder, decoder, bridges, starts
        self.attention, self.combine, self.dropout, self.logits = (
            attention, combine, dropout, logits)

    def encode(self, source):
        """(values, mask, initial decoder states) of int source tokens (batch, S)."""
        x = self.source_embedding(source)
        for layer in self.encoder:
            x = layer(x)
        mask = ops.cast(ops.not_equal(source, PAD), x.dtype)
        weights = ops.expand_dims(mask, -1)
        summary = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        zero = ops.zeros_like(summary[:, :1])
        states = []
        for starts, bridge in zip(self.starts, self.bridges):
            layer_states = [zero + start for start in starts]
            if bridge is not None:
                layer_states[0] = layer_states[0] + bridge(summary)
            states.append(layer_states)
        return x, mask, states

    def decode(self, x, states, values, mask):
        """(logits, new states, attention weights) of embedded target steps."""
        new_states = []
        for layer, layer_states in zip(self.decoder, states):
            out = layer(x, initial_state=layer_states)
            x = out[0]
            new_states.append(list(out[1:]))
        weights = None
        if self.attention is not None:
            context, weights = self.attention(x, values, values_mask=mask)
            x = self.combine(ops.concatenate([x, context], axis=-1))
        return self.logits(self.dropout(x)), new_states, weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class TokenAccuracy(keras.metrics.Metric):
    """Accuracy over target tokens, ignoring the padding id.

    Args:
        ignore_class: int, the padding id that is not scored. Default 0.
        name, dtype: as for any Keras metric.
    """

    def __init__(self, ignore_class=PAD, name="token_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = ignore_class
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        valid = ops.cast(ops.not_equal(y_true, self.ignore_class), self.dtype)
        if sample_weight is not None:
            valid = valid * ops.cast(sample_weight, self.dtype)
        hits = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true),
                        self.dtype)
        self.correct.assign_add(ops.sum(hits * valid))
        self.count.assign_add(ops.sum(valid))

    def result(self):
        return self.correct / ops.maximum(self.count, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"ignore_class": self.ignore_class, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Seq2Seq(ZooTask):
    """Encoder-decoder with attention: source tokens in, target-token logits out.

    The encoder (recurrent layers, optionally `keras.layers.Bidirectional`)
    reads the embedded source; padding (id 0) is masked. The decoder
    (recurrent layers) reads the embedded target, shifted right (teacher
    forcing), and its output `h_t` attends over the encoder outputs with
    global attention (Luong et al. 2015):

        a_t = softmax(score(h_t, H))      (padded source positions get 0)
        c_t = a_t H
        logits_t = W_o tanh(W_c [h_t; c_t])

    with Bahdanau's `additive` score or Luong's `general` / `dot` scores
    (`rnnzoo.tasks.attention`). `attention=None` is the plain encoder-decoder
    (Cho et al. 2014), which sees the source only through the initial state.
    Bahdanau's model also feeds `c_t` into the recurrence; this one does not,
    so the decoder runs as an ordinary Keras recurrent layer in training.

    Initial decoder states: every state starts as the cell's own initial state;
    with `bridge="mean"` the first state of each decoder layer (its hidden
    state: `h` of an LSTM's `[h, c]`, not a clockwork's clock) adds
    `tanh(W m + b)`, where `m` is the mean of the encoder outputs over the
    valid source positions.

    Token ids: 0 pads (source and target); `start_token` and `end_token` mark
    target sequences. Sources may be at most `max_source_length` tokens (the
    exported step model attends over that many positions).

    Args:
        encoder: a recurrent layer or list of them (templates, cloned to return
            sequences), e.g. `keras.layers.Bidirectional(rnnzoo.layers.GRU(32))`.
        decoder: a unidirectional recurrent layer or list of them (templates).
        source_vocabulary_size: int >= 2, ids 0 .. size - 1 (0 = padding).
        target_vocabulary_size: int >= 3, ids 0 .. size - 1.
        max_source_length: int, the longest source accepted.
        max_target_length: int, default length limit of `translate`; default
            `2 * max_source_length`.
        embedding_dim: int, size of the source and target embeddings. Default 32.
        attention: "additive" (default), "general", "dot" or None.
        attention_units: int, width of the additive score; default the decoder's
            output size.
        bridge: "mean" (default) or "none" (see above).
        dropout: float in [0, 1) before the output projection. Default 0.
        start_token, end_token: int target ids. Default 1 and 2.
        name: optional model name.

    Call arguments:
        inputs: dict with `"source"` int `(batch, S)` and `"target_in"` int
            `(batch, T)` (the target with the start token in front and the
            last token dropped).

    Output shape: `(batch, T, target_vocabulary_size)` logits.

    Example:

    >>> import numpy as np, rnnzoo
    >>> model = Seq2Seq(rnnzoo.layers.GRU(8), rnnzoo.layers.GRU(8), source_vocabulary_size=6,
    ...                 target_vocabulary_size=5, max_source_length=4)
    >>> model.compile()
    >>> logits = model({"source": np.array([[3, 4, 0]]), "target_in": np.array([[1, 3]])})
    >>> tuple(logits.shape), model.translate([[3, 4]], max_length=3).shape
    ((1, 2, 5), (1, 3))

    Reference:
        Bahdanau, D., Cho, K. & Bengio, Y. (2015). Neural machine translation by
        jointly learning to align and translate. ICLR 2015.
        Luong, M.-T., Pham, H. & Manning, C. D. (2015). Effective approaches to
        attention-based neural machine translation. EMNLP 2015.
    """

    def __init__(
        self,
        encoder,
        decoder,
        source_vocabulary_size,
        target_vocabulary_size,
        max_source_length,
        max_target_length=None,
        embedding_dim=32,
        attention="additive",
        attention_units=None,
        bridge="mean",
        dropout=0.0,
        start_token=1,
        end_token=2,
        name=None,
        **kwargs,
    ):
        # === Layers ===
        encoder_templates = as_layer_list(encoder, "Seq2Seq", "encoder")
        decoder_templates = as_layer_list(decoder, "Seq2Seq", "decoder")
        source_vocabulary_size = _positive("source_vocabulary_size", source_vocabulary_size, 2)
        target_vocabulary_size = _positive("target_vocabulary_size", target_vocabulary_size, 3)
        max_source_length = _positive("max_source_length", max_source_length)
        if max_target_length is not None:
            max_target_length = _positive("max_target_length", max_target_length)
        embedding_dim = _positive("embedding_dim", embedding_dim)
        if attention not in ATTENTIONS:
            raise _error("attention", f"one of {list(ATTENTIONS)}", attention)
        if attention_units is not None:
            attention_units = _positive("attention_units", attention_units)
        if bridge not in BRIDGES:
            raise _error("bridge", f"one of {list(BRIDGES)}", bridge)
        if attention is None and bridge == "none":
            raise ValueError(
                "Seq2Seq with attention=None and bridge='none' would never show the "
                "source to the decoder; use bridge='mean' or an attention."
            )
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not (
                0.0 <= dropout < 1.0):
            raise _error("dropout", "a float in [0, 1)", dropout)
        for argument, token in (("start_token", start_token), ("end_token", end_token)):
            if isinstance(token, bool) or not isinstance(token, int) or not (
                    0 < token < target_vocabulary_size):
                raise ValueError(
                    f"Received an invalid value for argument `{argument}` of Seq2Seq, "
                    f"expected a target id in [1, {target_vocabulary_size - 1}] (the "
                    f"target vocabulary has {target_vocabulary_size} ids, 0 pads), got "
                    f"{token!r}."
                )
        if start_token == end_token:
            raise ValueError(
                f"Seq2Seq needs different start and end tokens, got {start_token} for both."
            )

        encoder_layers = [_encoder_clone(layer, i) for i, layer in enumerate(encoder_templates)]
        decoder_layers = [_decoder_clone(layer, i) for i, layer in enumerate(decoder_templates)]
        width = embedding_dim
        starts, bridges = [], []
        for i, layer in enumerate(decoder_layers):
            layer.build((None, None, width))
            starts.append([np.asarray(s) for s in layer.cell.get_initial_state(batch_size=1)])
            size = _state_sizes(layer)[0]
            bridges.append(keras.layers.Dense(size, activation="tanh", name=f"bridge_{i}")
                           if bridge == "mean" else None)
            width = int(layer.cell.output_size)
        if attention == "additive":
            attention_layer = AdditiveAttention(attention_units or width, name="attention")
        elif attention is not None:
            attention_layer = MultiplicativeAttention(attention, name="attention")
        else:
            attention_layer = None
        parts = _Parts(
            source_embedding=keras.layers.Embedding(
                source_vocabulary_size, embedding_dim, mask_zero=True, name="source_embedding"),
            target_embedding=keras.layers.Embedding(
                target_vocabulary_size, embedding_dim, name="target_embedding"),
            encoder=encoder_layers,
            decoder=decoder_layers,
            bridges=bridges,
            starts=starts,
            attention=attention_layer,
            combine=(keras.layers.Dense(width, activation="tanh", name="attentional")
                     if attention is not None else None),
            dropout=keras.layers.Dropout(dropout, name="head_dropout"),
            logits=keras.layers.Dense(target_vocabulary_size, name="logits"),
        )

        # === Functional model ===
        source = keras.Input((None,), dtype="int32", name="source")
        target_in = keras.Input((None,), dtype="int32", name="target_in")
        values, mask, states = parts.encode(source)
        logits, _, _ = parts.decode(parts.target_embedding(target_in), states, values, mask)
        super().__init__(inputs={"source": source, "target_in": target_in}, outputs=logits,
                         name=name, **kwargs)

        # === Config ===
        self.encoder_layers = encoder_layers
        self.decoder_layers = decoder_layers
        self.source_vocabulary_size = source_vocabulary_size
        self.target_vocabulary_size = target_vocabulary_size
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        self.embedding_dim = embedding_dim
        self.attention = attention
        self.attention_units = attention_units
        self.bridge = bridge
        self.dropout = float(dropout)
        self.start_token = start_token
        self.end_token = end_token
        self._parts = _Holder(parts, int(values.shape[-1]))

    # ------------------------------------------------------------------ training

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3), token cross-entropy, token accuracy.

        The default loss is sparse cross-entropy from logits that ignores the
        padding id 0; the default metric is `TokenAccuracy` (padding ignored).
        `"auto"` picks the default; anything else goes to Keras unchanged.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD)
        if metrics == "auto":
            metrics = [TokenAccuracy(name="token_accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    @staticmethod
    def teacher_forcing(targets):
        """`(inputs, outputs)` for training from `<start> tokens <end>` rows padded with 0.

        Example:

        >>> Seq2Seq.teacher_forcing(np.array([[1, 5, 6, 2, 0]]))
        (array([[1, 5, 6, 2]], dtype=int32), array([[5, 6, 2, 0]], dtype=int32))
        """
        targets = np.asarray(targets, dtype=np.int32)
        if targets.ndim != 2 or targets.shape[1] < 2:
            raise ValueError(
                "Expected targets of shape (batch, length >= 2) holding `<start> tokens "
                f"<end>` padded with 0, got shape {targets.shape}."
            )
        return targets[:, :-1], targets[:, 1:]

    def check_tokens(self, tokens, which="source"):
        """Validates and returns a token batch as int32 `(batch, length)`.

        Raises:
            ValueError: for an empty batch, a wrong rank, ids outside the
                vocabulary (a vocabulary mismatch), an empty source, or a source
                longer than `max_source_length` (trailing padding is trimmed).
        """
        size = self.source_vocabulary_size if which == "source" else self.target_vocabulary_size
        array = np.asarray(tokens)
        if array.dtype == object:
            raise ValueError(f"Expected a rectangular {which} batch (pad with 0), got ragged rows.")
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
            raise ValueError(
                f"Expected a non-empty {which} batch of token ids (batch, length), got shape "
                f"{array.shape}."
            )
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"Expected integer {which} token ids, got dtype {array.dtype}.")
        if array.min() < 0 or array.max() >= size:
            raise ValueError(
                f"The {which} holds token ids in [{array.min()}, {array.max()}], but the model's "
                f"{which} vocabulary has {size} ids (0 .. {size - 1}): vocabulary mismatch."
            )
        if which == "source":
            used = np.flatnonzero(array.any(axis=0))
            length = int(used[-1]) + 1 if used.size else 0
            if length > self.max_source_length:
                raise ValueError(
                    f"Sources of up to {self.max_source_length} tokens are supported "
                    f"(max_source_length), got a source of {length} tokens."
                )
            if not (array != PAD).any(axis=1).all():
                raise ValueError("Every source needs at least one token, got an all-padding row.")
            array = array[:, : max(length, 1)]
        return array.astype(np.int32)

    def _check_inputs(self, x, y=None):
        if isinstance(x, dict) and set(x) == {"source", "target_in"}:
            if all(isinstance(v, (np.ndarray, list)) for v in x.values()):
                self.check_tokens(x["source"], "source")
                self.check_tokens(x["target_in"], "target")
        if isinstance(y, (np.ndarray, list)):
            self.check_tokens(y, "target")

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`; NumPy inputs are validated first (see `check_tokens`)."""
        self._check_inputs(x, y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate`; NumPy inputs are validated first."""
        self._check_inputs(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`; NumPy inputs are validated first."""
        self._check_inputs(x)
        return super().predict(x, *args, **kwargs)

    # ------------------------------------------------------------------ inference

    def export_encoder(self):
        """The encoder as a Keras model for phones: run once per source.

        Input: int32 `source` `(batch, max_source_length)`, padded with 0.
        Outputs: `[encoder_outputs (batch, max_source_length, D), source_mask
        (batch, max_source_length) int32, *initial decoder states]`, which are
        exactly the inputs `export_model()` needs besides the previous token.
        """
        parts = self._parts.value
        source = keras.Input((self.max_source_length,), dtype="int32", name="source")
        values, mask, states = parts.encode(source)
        flat = [s for layer_states in states for s in layer_states]
        return keras.Model(source, [values, ops.cast(mask, "int32"), *flat],
                           name=f"{self.name}_encoder")

    def export_model(self):
        """One decoding step with explicit state in and out (what a phone loops over).

        Inputs: `[token (batch, 1) int32, *decoder states, encoder_outputs
        (batch, max_source_length, D), source_mask (batch, max_source_length)
        int32]`. Outputs: `[log_probs (batch, target_vocabulary_size), *new
        decoder states]`, then the attention weights `(batch,
        max_source_length)` when the model has attention.

        On a phone: run `export_encoder()` once on the padded source; feed
        `start_token` and the encoder's states, encoder outputs and mask to the
        step model; pick the next token from `log_probs` (argmax, or a beam),
        feed it back with the new states, and stop at `end_token`. Both models
        convert with `rnnzoo.export` to builtins-only TFLite.
        """
        return self._step_model()

    def _step_model(self):
        cached = self._parts.step
        if cached is not None:
            return cached
        parts = self._parts.value
        token = keras.Input((1,), dtype="int32", name="token")
        state_inputs = [
            [keras.Input((size,), name=f"state_{i}_{j}")
             for j, size in enumerate(_state_sizes(layer))]
            for i, layer in enumerate(self.decoder_layers)
        ]
        width = int(self._parts.values_width)
        values = keras.Input((self.max_source_length, width), name="encoder_outputs")
        mask = keras.Input((self.max_source_length,), dtype="int32", name="source_mask")
        logits, new_states, weights = parts.decode(
            parts.target_embedding(token), state_inputs, values, mask)
        outputs = [ops.log_softmax(logits[:, 0], axis=-1)]
        outputs += [s for layer_states in new_states for s in layer_states]
        if weights is not None:
            outputs.append(weights[:, 0])
        flat_inputs = [token] + [s for layer_states in state_inputs for s in layer_states]
        model = keras.Model(flat_inputs + [values, mask], outputs, name=f"{self.name}_step")
        self._parts.step = model
        return model

    def initial_states(self, source):
        """Decoding states of a source batch, for `step` and `rnnzoo.tasks.decoding`.

        Returns:
            list of arrays, batch first: the initial decoder states, then the
            encoder outputs `(batch, max_source_length, D)` and the source
            mask `(batch, max_source_length)` (int32), which `step` passes on.
        """
        source = self.check_tokens(source, "source")
        padded = np.zeros((source.shape[0], self.max_source_length), np.int32)
        padded[:, : source.shape[1]] = source
        encoder = self._parts.encoder
        if encoder is None:
            encoder = self._parts.encoder = self.export_encoder()
        values, mask, *states = [np.asarray(t) for t in encoder(padded, training=False)]
        return states + [values, mask]

    def step(self, tokens, states):
        """One decoding step: `(tokens (n,), states) -> (log_probs (n, V), new states)`.

        The step function of `rnnzoo.tasks.decoding` (greedy, beam, sampling),
        computed by the `export_model()` step model; `states` as returned by
        `initial_states` (or by the previous step).
        """
        model = self._step_model()
        count = len(states) - 2
        values, mask = states[count], states[count + 1]
        tokens = np.asarray(tokens, dtype=np.int32).reshape(-1, 1)
        outputs = model([tokens, *states[:count], values, mask], training=False)
        outputs = [np.asarray(o) for o in outputs]
        return outputs[0], outputs[1 : 1 + count] + [values, mask]

    def translate(self, source, method="greedy", beam_width=4, max_length=None,
                  length_penalty=0.0, return_scores=False):
        """Decodes target tokens for a batch of sources (via `rnnzoo.tasks.decoding`).

        Args:
            source: int array or list of equal-length lists `(batch, S)`, padded
                with 0, `S <= max_source_length`.
            method: "greedy" or "beam".
            beam_width: int, hypotheses kept per source (beam only).
            max_length: int, tokens emitted at most (end token included);
                default `max_target_length`.
            length_penalty: float, beam scores divide by `length ** penalty`.
            return_scores: bool, also return each sequence's summed log-probability.

        Returns:
            int32 `(batch, max_length)`: tokens up to and including the end
            token, then 0 (padding); with `return_scores`, `(tokens, scores)`.
        """
        if method not in ("greedy", "beam"):
            raise ValueError(
                f"Received an invalid value for argument `method` of translate, expected "
                f"'greedy' or 'beam', got {method!r}."
            )
        max_length = max_length or self.max_target_length or 2 * self.max_source_length
        states = self.initial_states(source)
        if method == "greedy":
            tokens, lengths = decoding.greedy_decode(
                self.step, states, self.start_token, max_length, self.end_token)
        else:
            tokens, lengths, _ = decoding.beam_search(
                self.step, states, self.start_token, max_length, self.end_token,
                beam_width=beam_width, length_penalty=length_penalty)
        tokens = np.where(np.arange(tokens.shape[1])[None] < lengths[:, None], tokens, PAD)
        tokens = tokens.astype(np.int32)
        if return_scores:
            return tokens, self.score(source, tokens)
        return tokens

    def score(self, source, target):
        """Summed log-probability of each target given its source (teacher forcing).

        Args:
            source: int `(batch, S)` as in `translate`.
            target: int `(batch, T)`: target tokens without the start token;
                positions after the first end token are not scored (as
                `translate` returns them: the end token, then 0).

        Returns:
            float64 `(batch,)`.
        """
        source = self.check_tokens(source, "source")
        target = self.check_tokens(target, "target")
        if source.shape[0] != target.shape[0]:
            raise ValueError(
                f"Expected as many targets as sources, got {target.shape[0]} and {source.shape[0]}."
            )
        target_in = np.concatenate(
            [np.full((target.shape[0], 1), self.start_token, np.int32), target[:, :-1]], axis=1)
        logits = np.asarray(self({"source": source, "target_in": target_in}, training=False),
                            dtype=np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        picked = np.take_along_axis(log_probs, target[..., None], axis=-1)[..., 0]
        ends = target == self.end_token
        last = np.where(ends.any(axis=1), ends.argmax(axis=1), target.shape[1] - 1)
        return (picked * (np.arange(target.shape[1])[None] <= last[:, None])).sum(axis=1)

    # ------------------------------------------------------------------ config

    def get_config(self):
        return {
            "encoder": serialize_layers(self.encoder_layers),
            "decoder": serialize_layers(self.decoder_layers),
            "source_vocabulary_size": self.source_vocabulary_size,
            "target_vocabulary_size": self.target_vocabulary_size,
            "max_source_length": self.max_source_length,
            "max_target_length": self.max_target_length,
            "embedding_dim": self.embedding_dim,
            "attention": self.attention,
            "attention_units": self.attention_units,
            "bridge": self.bridge,
            "dropout": self.dropout,
            "start_token": self.start_token,
            "end_token": self.end_token,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = deserialize_layers(config.pop("encoder"))
        decoder = deserialize_layers(config.pop("decoder"))
        return cls(encoder=encoder, decoder=decoder, **config)


class _Holder:
    """Plain container Keras does not track: the shared layers and cached sub-models."""

    def __init__(self, parts, values_width):
        self.value = parts
        self.values_width = values_width
        self.step = None
        self.encoder = None


registry.TASKS.register("seq2seq", Seq2Seq)
