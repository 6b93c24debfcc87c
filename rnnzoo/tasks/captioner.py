"""One-to-many captioning: a small CNN encodes an image, a recurrent decoder writes words."""

import types

import keras
import numpy as np

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
from rnnzoo.tasks.metrics import MaskedTokenAccuracy

CONDITIONING = ("state", "input")
METHODS = ("greedy", "beam")


def _invalid(argument, expected, got):
    return ValueError(
        f"Received an invalid value for argument `{argument}` of Captioner, expected "
        f"{expected}, got {got!r}."
    )


def _positive_int(argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise _invalid(argument, "a positive integer", value)
    return int(value)


def _check_vocabulary(vocabulary, specials):
    words = list(vocabulary) if isinstance(vocabulary, (list, tuple)) else None
    ok = words is not None and all(
        isinstance(w, str) and w and not any(c.isspace() for c in w) for w in words
    )
    if not ok or len(set(words)) != len(words):
        raise _invalid(
            "vocabulary", "a list of unique, non-empty tokens without whitespace", vocabulary
        )
    missing = [token for token in specials if token not in words]
    if missing or len(set(specials)) != len(specials):
        raise ValueError(
            "Received an invalid value for argument `vocabulary` of Captioner: it must "
            f"hold the distinct pad, start and end tokens {list(specials)}; missing "
            f"{missing or 'none (but two special tokens are equal)'}."
        )
    if len(words) <= len(specials):
        raise _invalid("vocabulary", "at least one word besides the special tokens", vocabulary)
    return words


def _state_sizes(layer, index):
    sizes = layer.cell.state_size
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
        raise ValueError(
            f"Decoder layer {index} ({type(layer).__name__}) has state sizes {sizes}; "
            "Captioner expects flat states (one integer size per state)."
        )
    return [int(s) for s in sizes]


def _encode(encoder, image):
    x = image
    for layer in encoder:
        x = layer(x)
    return x


def _starting_states(encoder, bridge, decoders, conditioning, image):
    """Per decoder layer, the list of its starting states (symbolic)."""
    embedded = _encode(encoder, image)
    if conditioning == "state":
        return [[dense(embedded) for dense in denses] for denses in bridge]
    x = bridge[1](bridge[0](embedded))
    states = []
    for layer in decoders:
        outputs = layer(x)
        x = outputs[0]
        states.append(list(outputs[1:]))
    return states


@keras.saving.register_keras_serializable(package=PACKAGE)
class Captioner(ZooTask):
    """Image captioning: a CNN image encoder conditions a recurrent word decoder.

    The encoder is `len(encoder_filters)` blocks of a 3x3 ReLU convolution and
    2x2 max pooling, then a flatten and a ReLU `Dense(image_embedding_dim)`.
    Flattening (rather than global pooling) keeps *where* things are in the
    image, which a caption that reads left to right needs.

    The decoder is one recurrent layer or a stack (any registered layer; the
    templates are cloned with `return_sequences=True, return_state=True`).
    How the image reaches it (`conditioning`):

    - `"state"` (default): the image embedding is projected linearly to every
      state of every decoder layer, at its own size (`cell.state_size`: an
      LSTM gets separate projections for `h` and `c`, a Jordan layer one of
      its output size), and decoding starts from those states (as in Xu et
      al. 2015). Use it for layers whose states are all hidden activations.
    - `"input"`: the image embedding, projected to `embedding_dim`, is the
      decoder's first input, before `<start>` (Vinyals et al. 2015); the
      states after that step start the decoding. This works with every layer,
      including those with states that must not be overwritten (the step
      counter of a Clockwork RNN) or have no learned meaning of their own
      (an FIR delay line).

    Either way `initial_state_model()` maps images to the decoder's starting
    states, and `export_model()` is one decoding step
    `[token, *states] -> [log_probs, *new_states]`; both export to
    builtins-only TFLite with `rnnzoo.export`, and `caption()` runs the same
    step model through `rnnzoo.tasks.decoding`.

    Training uses teacher forcing: the model maps `{"image", "caption_in"}`
    to next-token logits, with `caption_in = ids[:, :-1]` and targets
    `ids[:, 1:]` of `<start> words <end> <pad>...` sequences
    (`teacher_forcing()` builds both). The default loss ignores the pad token,
    so padded captions of different lengths share a batch.

    Args:
        decoder: a recurrent Keras layer (a `keras.layers.RNN`, e.g.
            `rnnzoo.layers.GRU(64)`) or a list of them, applied in order.
        vocabulary: list of unique tokens (stored in the config); must
            contain `pad_token`, `start_token` and `end_token`.
        image_shape: tuple `(height, width, channels)`; both height and width
            must be at least `2 ** len(encoder_filters)`.
        embedding_dim: int, size of the token embedding. Default 32.
        encoder_filters: tuple of ints, filters per convolution block.
            Default `(16, 32)`.
        image_embedding_dim: int, size of the image embedding. Default 64.
        conditioning: `"state"` or `"input"`, see above. Default `"state"`.
        max_length: int, the most tokens (words and `<end>`) a caption may
            have, in training data and in decoding. Default 20.
        dropout: float in [0, 1), on the image embedding and before the
            output layer. Default 0.
        pad_token, start_token, end_token: str, the special tokens.
            Defaults `"<pad>"`, `"<start>"`, `"<end>"`.
        name: optional model name.

    Call arguments:
        inputs: dict with `"image"`, float `(batch, height, width, channels)`,
            and `"caption_in"`, int `(batch, time)` token ids starting with
            the start token.

    Output shape: `(batch, time, len(vocabulary))`, next-token logits.

    Example:

    >>> import numpy as np, rnnzoo
    >>> vocab = ["<pad>", "<start>", "<end>", "zero", "one"]
    >>> model = Captioner(rnnzoo.layers.GRU(8), vocab, image_shape=(8, 16, 1))
    >>> inputs, targets = model.teacher_forcing(np.zeros((2, 8, 16, 1)), ["one zero", "one"])
    >>> inputs["caption_in"].tolist(), targets.tolist()
    ([[1, 4, 3], [1, 4, 2]], [[4, 3, 2], [4, 2, 0]])
    >>> tuple(model(inputs).shape)
    (2, 3, 5)
    >>> len(model.caption(np.zeros((3, 8, 16, 1), "float32"), max_length=4))
    3

    Reference:
        Vinyals, Toshev, Bengio & Erhan (2015), Show and tell: a neural image
        caption generator, CVPR. Xu et al. (2015), Show, attend and tell,
        ICML (initial states from the image).
    """

    def __init__(
        self,
        decoder,
        vocabulary,
        image_shape,
        embedding_dim=32,
        encoder_filters=(16, 32),
        image_embedding_dim=64,
        conditioning="state",
        max_length=20,
        dropout=0.0,
        pad_token="<pad>",
        start_token="<start>",
        end_token="<end>",
        name=None,
        **kwargs,
    ):
        # === Layers ===
        templates = as_layer_list(decoder, "Captioner", "decoder")
        for i, layer in enumerate(templates):
            if not isinstance(layer, keras.layers.RNN):
                raise ValueError(
                    "Received an invalid value for argument `decoder` of Captioner, "
                    "expected recurrent layers (keras.layers.RNN, e.g. "
                    f"rnnzoo.layers.GRU(64)); layer {i} is {type(layer).__name__}."
                )
            if layer.go_backwards or layer.stateful:
                raise ValueError(
                    "Received an invalid value for argument `decoder` of Captioner: a "
                    "decoder reads its words left to right from the image's state, so "
                    f"layer {i} must not set go_backwards=True or stateful=True."
                )
        vocabulary = _check_vocabulary(vocabulary, (pad_token, start_token, end_token))
        filters = list(encoder_filters) if isinstance(encoder_filters, (list, tuple)) else None
        if not filters or not all(
            isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in filters
        ):
            raise _invalid("encoder_filters", "a non-empty list of positive integers",
                           encoder_filters)
        image_shape = self._check_image_shape(image_shape, len(filters))
        embedding_dim = _positive_int("embedding_dim", embedding_dim)
        image_embedding_dim = _positive_int("image_embedding_dim", image_embedding_dim)
        max_length = _positive_int("max_length", max_length)
        if conditioning not in CONDITIONING:
            raise _invalid("conditioning", f"one of {list(CONDITIONING)}", conditioning)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
                0 <= dropout < 1):
            raise _invalid("dropout", "a float in [0, 1)", dropout)

        decoders, state_sizes, features = [], [], embedding_dim
        for i, template in enumerate(templates):
            layer = clone_layer(
                template, name=f"decoder_{i}", return_sequences=True, return_state=True
            )
            layer.build((None, None, features))
            sizes = _state_sizes(layer, i)
            if conditioning == "state" and min(sizes) <= 0:
                raise ValueError(
                    f"Decoder layer {i} ({type(layer).__name__}) has state sizes {sizes}; "
                    "conditioning='state' needs a state to project the image into. "
                    "Use conditioning='input'."
                )
            decoders.append(layer)
            state_sizes.append(sizes)
            output_size = layer.cell.output_size
            if isinstance(output_size, (list, tuple)):
                output_size = output_size[0]
            features = int(output_size)
        encoder = []
        for i, count in enumerate(filters):
            encoder.append(keras.layers.Conv2D(
                count, 3, padding="same", activation="relu", name=f"encoder_conv_{i}"))
            encoder.append(keras.layers.MaxPooling2D(2, name=f"encoder_pool_{i}"))
        encoder.append(keras.layers.Flatten(name="encoder_flatten"))
        encoder.append(
            keras.layers.Dense(image_embedding_dim, activation="relu", name="image_embedding"))
        encoder.append(keras.layers.Dropout(dropout, name="image_dropout"))
        if conditioning == "state":
            bridge = [
                [keras.layers.Dense(size, name=f"init_state_{i}_{j}")
                 for j, size in enumerate(sizes)]
                for i, sizes in enumerate(state_sizes)
            ]
        else:
            bridge = [
                keras.layers.Dense(embedding_dim, name="image_to_input"),
                keras.layers.Reshape((1, embedding_dim), name="image_step"),
            ]
        embedding = keras.layers.Embedding(len(vocabulary), embedding_dim, name="token_embedding")
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(len(vocabulary), name="logits")

        # === Functional model ===
        image = keras.Input(image_shape, name="image")
        caption_in = keras.Input((None,), dtype="int32", name="caption_in")
        x = embedding(caption_in)
        if conditioning == "state":
            starting = _starting_states(encoder, bridge, decoders, conditioning, image)
            for layer, states in zip(decoders, starting):
                x = layer(x, initial_state=states)[0]
        else:
            first = bridge[1](bridge[0](_encode(encoder, image)))
            x = keras.layers.Concatenate(axis=1, name="image_then_words")([first, x])
            for layer in decoders:
                x = layer(x)[0]
            x = x[:, 1:]  # the step that read the image predicts nothing
        logits = head(head_dropout(x))
        super().__init__(inputs={"image": image, "caption_in": caption_in}, outputs=logits,
                         name=name, **kwargs)

        # === Config ===
        self.decoder_layers = decoders
        self.vocabulary = list(vocabulary)
        self.image_shape = image_shape
        self.embedding_dim = embedding_dim
        self.encoder_filters = filters
        self.image_embedding_dim = image_embedding_dim
        self.conditioning = conditioning
        self.max_length = max_length
        self.dropout = float(dropout)
        self.pad_token, self.start_token, self.end_token = pad_token, start_token, end_token
        self.state_sizes = state_sizes
        self._encoder_layers, self._bridge = encoder, bridge
        self._embedding, self._head = embedding, head
        self._output_features = features
        # A plain holder (not tracked by Keras, so not saved): the derived graphs.
        self._graphs = types.SimpleNamespace(initial=None, step=None)

    # ------------------------------------------------------------------ building blocks

    @staticmethod
    def _check_image_shape(image_shape, blocks):
        shape = tuple(image_shape) if isinstance(image_shape, (list, tuple)) else None
        ok = shape is not None and len(shape) == 3 and all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape
        )
        if not ok:
            raise _invalid("image_shape", "(height, width, channels) with positive integers",
                           image_shape)
        smallest = 2 ** blocks
        if shape[0] < smallest or shape[1] < smallest:
            raise ValueError(
                f"Received an invalid value for argument `image_shape` of Captioner: "
                f"{blocks} pooling blocks need height and width >= {smallest}, got "
                f"{shape}. Use fewer `encoder_filters` or larger images."
            )
        return tuple(int(d) for d in shape)

    # ------------------------------------------------------------------ exportable graphs

    def initial_state_model(self):
        """A Keras model `image -> [*states]`: the decoder's starting states.

        States are flat, layer by layer in decoder order, each layer's in
        `cell.state_size` order. Export it with `rnnzoo.export` to run the
        image encoder on a device; feed its outputs to `export_model()`.
        """
        if self._graphs.initial is None:
            image = keras.Input(self.image_shape, name="image")
            starting = _starting_states(self._encoder_layers, self._bridge, self.decoder_layers,
                                        self.conditioning, image)
            states = [s for layer_states in starting for s in layer_states]
            self._graphs.initial = keras.Model(image, states, name=f"{self.name}_initial_state")
        return self._graphs.initial

    def export_model(self):
        """One decoding step as a Keras model with explicit state in and out.

        Inputs `[token (batch,) int32, *states]`, outputs
        `[log_probs (batch, vocabulary), *new_states]`; the states are those
        of `initial_state_model()`. `rnnzoo.export(model.export_model(), path)`
        writes it as builtins-only TFLite so a phone can run the loop.
        """
        if self._graphs.step is None:
            token = keras.Input((), dtype="int32", name="token")
            state_inputs, new_states = [], []
            x = keras.layers.Reshape((1, self.embedding_dim), name="token_step")(
                self._embedding(token))
            for i, (layer, sizes) in enumerate(zip(self.decoder_layers, self.state_sizes)):
                inputs = [keras.Input((size,), name=f"state_{i}_{j}")
                          for j, size in enumerate(sizes)]
                outputs = layer(x, initial_state=inputs)
                x = outputs[0]
                state_inputs.extend(inputs)
                new_states.extend(outputs[1:])
            x = keras.layers.Reshape((self._output_features,), name="step_output")(x)
            log_probs = keras.layers.Activation("log_softmax", name="log_probs")(self._head(x))
            self._graphs.step = keras.Model(
                [token, *state_inputs], [log_probs, *new_states], name=f"{self.name}_step"
            )
        return self._graphs.step

    # ------------------------------------------------------------------ vocabulary

    @property
    def pad_id(self):
        return self.vocabulary.index(self.pad_token)

    @property
    def start_id(self):
        return self.vocabulary.index(self.start_token)

    @property
    def end_id(self):
        return self.vocabulary.index(self.end_token)

    def check_vocabulary(self, vocabulary):
        """Raises a ValueError unless `vocabulary` equals the model's, id for id."""
        theirs = list(vocabulary)
        if theirs == self.vocabulary:
            return
        first = next((i for i, (a, b) in enumerate(zip(self.vocabulary, theirs)) if a != b),
                     min(len(theirs), len(self.vocabulary)))
        ours_at = self.vocabulary[first] if first < len(self.vocabulary) else "(none)"
        theirs_at = theirs[first] if first < len(theirs) else "(none)"
        raise ValueError(
            f"Vocabulary mismatch: the Captioner has {len(self.vocabulary)} tokens, the "
            f"data {len(theirs)}; they first differ at id {first} (model {ours_at!r}, "
            f"data {theirs_at!r}). Re-encode the captions with the model's vocabulary "
            "(`model.encode`)."
        )

    def encode(self, captions):
        """Captions (strings of space-separated words) -> int32 ids.

        Each row is `<start> words <end>` followed by pad ids, as wide as the
        longest caption.

        Raises:
            ValueError: for an empty list, a word outside the vocabulary (a
                vocabulary mismatch) or a caption longer than `max_length`.
        """
        if isinstance(captions, str) or not len(captions):
            raise ValueError(
                f"Expected a non-empty list of caption strings, got {captions!r}.")
        index = {word: i for i, word in enumerate(self.vocabulary)}
        specials = {self.pad_token, self.start_token, self.end_token}
        rows = []
        for caption in captions:
            words = str(caption).split()
            unknown = sorted({w for w in words if w not in index or w in specials})
            if unknown:
                raise ValueError(
                    f"Vocabulary mismatch: caption {caption!r} has words outside the "
                    f"Captioner's vocabulary (or special tokens): {unknown}. Known words: "
                    f"{[w for w in self.vocabulary if w not in specials]}."
                )
            rows.append([self.start_id] + [index[w] for w in words] + [self.end_id])
        ids = np.full((len(rows), max(len(r) for r in rows)), self.pad_id, np.int32)
        for row, tokens in zip(ids, rows):
            row[: len(tokens)] = tokens
        self._check_ids(ids)
        return ids

    def decode(self, ids, lengths=None):
        """Token ids -> caption strings, cut before the first end token.

        A leading start token and trailing pad tokens are dropped; any other
        token (even a special one emitted by an untrained model) is kept.
        """
        texts = []
        for r, row in enumerate(np.asarray(ids)):
            row = [int(t) for t in row[: None if lengths is None else int(lengths[r])]]
            if row and row[0] == self.start_id:
                row = row[1:]
            if self.end_id in row:
                row = row[: row.index(self.end_id)]
            while row and row[-1] == self.pad_id:
                row.pop()
            texts.append(" ".join(self.vocabulary[t] for t in row))
        return texts

    def _check_ids(self, ids):
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[0] == 0 or ids.shape[1] < 2 or not np.issubdtype(
                ids.dtype, np.integer):
            raise ValueError(
                "Expected caption ids as an int array (batch >= 1, time >= 2) of "
                f"`<start> words <end> <pad>...` rows, got shape {ids.shape} and dtype {ids.dtype}."
            )
        if ids.min() < 0 or ids.max() >= len(self.vocabulary):
            raise ValueError(
                f"Vocabulary mismatch: caption ids must lie in [0, {len(self.vocabulary)}) "
                f"for this Captioner's vocabulary; got ids from {ids.min()} to {ids.max()}."
            )
        wrong = np.flatnonzero(ids[:, 0] != self.start_id)
        if wrong.size:
            raise ValueError(
                f"Expected every caption to start with the start token id {self.start_id} "
                f"({self.start_token!r}); rows {wrong[:5].tolist()} do not."
            )
        longest = int((ids[:, 1:] != self.pad_id).sum(axis=1).max())
        if longest > self.max_length:
            raise ValueError(
                f"Captions of up to max_length={self.max_length} tokens (words and end) "
                f"are supported; got one of {longest}. Build the Captioner with a larger "
                "`max_length`."
            )
        return ids.astype(np.int32)

    def check_images(self, images):
        """Validated float32 images `(batch, *image_shape)`, or a ValueError."""
        images = np.asarray(images)
        if images.ndim != 4 or tuple(images.shape[1:]) != self.image_shape:
            hint = " (add a channel axis: images[..., None])" if images.ndim == 3 else ""
            raise ValueError(
                f"Wrong image size: this Captioner reads images of shape (batch, "
                f"{', '.join(map(str, self.image_shape))}), got {images.shape}{hint}."
            )
        if images.shape[0] == 0:
            raise ValueError("Received an empty batch of images (0 rows); expected at least one.")
        if not np.issubdtype(images.dtype, np.number):
            raise ValueError(f"Expected numeric images, got dtype {images.dtype}.")
        return images.astype(np.float32)

    def teacher_forcing(self, images, captions):
        """Training pairs: `({"image", "caption_in"}, targets)` for `fit`.

        Args:
            images: float `(batch, *image_shape)`.
            captions: list (or 1-D array) of strings, or int ids
                `(batch, time)` of rows `<start> words <end> <pad>...` over
                this vocabulary (e.g. `caption_ids` of `digit_strips`).

        Returns:
            `(inputs, targets)` with `caption_in = ids[:, :-1]` and
            `targets = ids[:, 1:]`.
        """
        images = self.check_images(images)
        array = np.asarray(captions)
        if array.dtype.kind in "USO" and array.ndim == 1:
            ids = self.encode([str(c) for c in array])
        else:
            ids = self._check_ids(array)
        if ids.shape[0] != images.shape[0]:
            raise ValueError(
                f"Expected one caption per image, got {images.shape[0]} images and "
                f"{ids.shape[0]} captions."
            )
        return {"image": images, "caption_in": ids[:, :-1]}, ids[:, 1:]

    # ------------------------------------------------------------------ decoding

    def step_function(self):
        """The `(tokens, states) -> (log_probs, new_states)` function of `decoding`."""
        step = self.export_model()

        def step_fn(tokens, states):
            outputs = step.predict_on_batch([np.asarray(tokens, np.int32), *states])
            return outputs[0], list(outputs[1:])

        return step_fn

    def initial_states(self, images, batch_size=256):
        """The decoder's starting states for `images`, as a list of arrays."""
        images = self.check_images(images)
        states = self.initial_state_model().predict(images, batch_size=batch_size, verbose=0)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def caption(self, images, method="greedy", beam_width=4, max_length=None,
                length_penalty=0.0, return_ids=False):
        """Captions images with greedy decoding or beam search.

        Args:
            images: float `(batch, *image_shape)`.
            method: `"greedy"` or `"beam"`.
            beam_width: int, hypotheses kept per image for `"beam"`.
            max_length: int, most tokens to emit (default the model's).
            length_penalty: float >= 0, beam scores divided by length ** it.
            return_ids: bool; also return the token ids and lengths.

        Returns:
            list of caption strings (the words before the first end token), or
            `(captions, ids, lengths)` when `return_ids`.
        """
        if method not in METHODS:
            raise _invalid("method", f"one of {list(METHODS)}", method)
        if max_length is None:
            max_length = self.max_length
        max_length = _positive_int("max_length", max_length)
        states = self.initial_states(images)
        step_fn = self.step_function()
        if method == "greedy":
            ids, lengths = decoding.greedy_decode(
                step_fn, states, self.start_id, max_length, end_token=self.end_id)
        else:
            ids, lengths, _ = decoding.beam_search(
                step_fn, states, self.start_id, max_length, end_token=self.end_id,
                beam_width=beam_width, length_penalty=length_penalty)
        texts = self.decode(ids, lengths)
        return (texts, ids, lengths) if return_ids else texts

    # ------------------------------------------------------------------ Keras plumbing

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3), cross-entropy ignoring pads,
        token accuracy over non-pad tokens.

        `"auto"` picks the default for that argument; anything else is passed
        to Keras unchanged.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(
                from_logits=True, ignore_class=self.pad_id)
        if metrics == "auto":
            metrics = [MaskedTokenAccuracy(pad_id=self.pad_id)]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        return {
            "decoder": serialize_layers(self.decoder_layers),
            "vocabulary": list(self.vocabulary),
            "image_shape": list(self.image_shape),
            "embedding_dim": self.embedding_dim,
            "encoder_filters": list(self.encoder_filters),
            "image_embedding_dim": self.image_embedding_dim,
            "conditioning": self.conditioning,
            "max_length": self.max_length,
            "dropout": self.dropout,
            "pad_token": self.pad_token,
            "start_token": self.start_token,
            "end_token": self.end_token,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(decoder=deserialize_layers(config.pop("decoder")), **config)


registry.TASKS.register("captioner", Captioner)
