"""Attention over encoder outputs: additive (Bahdanau) and multiplicative (Luong) scores.

Both layers take a query sequence `(batch, Tq, Dq)` (decoder outputs), the
values `(batch, S, Dv)` (encoder outputs) and an optional values mask
`(batch, S)` (true or 1 for real source positions), and return the context
vectors `(batch, Tq, Dv)` and the attention weights `(batch, Tq, S)`:

    a_ti = softmax_i(score(q_t, v_i))   over the valid positions i only
    c_t  = sum_i a_ti v_i

A padded position gets weight exactly 0 (its score is replaced by a large
negative number before the softmax, whose exponential underflows to 0), so
the weights of a row sum to 1 over its valid positions. A row without any
valid position is the caller's error (the weights would be uniform).

Written with `keras.ops` only, so they run on every backend and convert to
builtin TFLite ops (BATCH_MATMUL, TANH, SOFTMAX, SELECT_V2).
"""

import keras
from keras import ops

from rnnzoo.layers.base import PACKAGE, check_positive_int

_NEGATIVE = -1e9
MULTIPLICATIVE_SCORES = ("general", "dot")


def _masked_softmax(scores, mask):
    if mask is None:
        return ops.softmax(scores, axis=-1)
    valid = ops.expand_dims(ops.cast(mask, "bool"), axis=1)  # (batch, 1, S)
    scores = ops.where(valid, scores, ops.full_like(scores, _NEGATIVE))
    return ops.softmax(scores, axis=-1)


def _check_ranks(owner, query_shape, values_shape):
    if len(query_shape) != 3 or len(values_shape) != 3:
        raise ValueError(
            f"{owner} expects a query (batch, Tq, Dq) and values (batch, S, Dv), got "
            f"shapes {tuple(query_shape)} and {tuple(values_shape)}."
        )
    if query_shape[-1] is None or values_shape[-1] is None:
        raise ValueError(
            f"{owner} needs known feature sizes, got shapes {tuple(query_shape)} and "
            f"{tuple(values_shape)}."
        )


class _Attention(keras.layers.Layer):
    """Shared call: scores -> masked softmax -> weighted sum of the values."""

    def compute_mask(self, *args, **kwargs):
        return None  # the outputs are per query step; the source mask does not apply

    def score(self, query, values):
        raise NotImplementedError

    def call(self, query, values, values_mask=None):
        weights = _masked_softmax(self.score(query, values), values_mask)
        return ops.matmul(weights, values), weights

    def compute_output_spec(self, query, values, values_mask=None):
        batch, steps, length = query.shape[0], query.shape[1], values.shape[1]
        dtype = self.compute_dtype
        return (
            keras.KerasTensor((batch, steps, values.shape[-1]), dtype=dtype),
            keras.KerasTensor((batch, steps, length), dtype=dtype),
        )


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdditiveAttention(_Attention):
    """Additive attention (Bahdanau et al. 2015): a one-hidden-layer score network.

        score(q_t, v_i) = w^T tanh(W_q q_t + W_v v_i + b)

    Args:
        units: int, the width of the score network (the size of `w`).
        seed: optional int seeding the initializers.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        query: float `(batch, Tq, Dq)`, e.g. decoder outputs.
        values: float `(batch, S, Dv)`, e.g. encoder outputs.
        values_mask: optional bool or 0/1 `(batch, S)`; padded positions get 0 weight.

    Returns:
        `(context, weights)`: `(batch, Tq, Dv)` and `(batch, Tq, S)`.

    Example:

    >>> import numpy as np
    >>> attention = AdditiveAttention(8, seed=1)
    >>> query, values = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 6), "float32")
    >>> context, weights = attention(query, values, values_mask=np.array([[1, 1, 1, 0, 0]] * 2))
    >>> tuple(context.shape), tuple(weights.shape), float(weights[0, 0, 3])
    ((2, 3, 6), (2, 3, 5), 0.0)

    Reference:
        Bahdanau, D., Cho, K. & Bengio, Y. (2015). Neural machine translation by
        jointly learning to align and translate. ICLR 2015.
    """

    def __init__(self, units, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("AdditiveAttention", "units", units)
        self.seed = seed
        self._seed_offset = 0

    def _initializer(self):
        self._seed_offset += 1
        seed = None if self.seed is None else self.seed * 1000 + self._seed_offset
        return keras.initializers.GlorotUniform(seed=seed)

    def build(self, query_shape, values_shape, values_mask_shape=None):
        _check_ranks("AdditiveAttention", query_shape, values_shape)
        self._seed_offset = 0
        self.query_kernel = self.add_weight(
            shape=(query_shape[-1], self.units), initializer=self._initializer(),
            name="query_kernel",
        )
        self.values_kernel = self.add_weight(
            shape=(values_shape[-1], self.units), initializer=self._initializer(),
            name="values_kernel",
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.score_vector = self.add_weight(
            shape=(self.units, 1), initializer=self._initializer(), name="score_vector"
        )

    def score(self, query, values):
        q = ops.expand_dims(ops.matmul(query, self.query_kernel), axis=2)  # (B, Tq, 1, U)
        v = ops.expand_dims(ops.matmul(values, self.values_kernel), axis=1)  # (B, 1, S, U)
        hidden = ops.tanh(q + v + self.bias)  # (B, Tq, S, U)
        return ops.squeeze(ops.matmul(hidden, self.score_vector), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiplicativeAttention(_Attention):
    """Multiplicative attention (Luong et al. 2015): "general" or "dot" scores.

        general: score(q_t, v_i) = q_t^T W v_i
        dot:     score(q_t, v_i) = q_t^T v_i          (needs Dq == Dv)

    Args:
        score: `"general"` (default) or `"dot"`.
        seed: optional int seeding the initializer of `W`.
        **kwargs: base layer arguments.

    Call arguments, returns: as `AdditiveAttention`.

    Example:

    >>> import numpy as np
    >>> attention = MultiplicativeAttention("dot")
    >>> query, values = np.ones((1, 2, 4), "float32"), np.ones((1, 3, 4), "float32")
    >>> context, weights = attention(query, values)
    >>> tuple(context.shape), [round(float(w), 3) for w in weights[0, 0]]
    ((1, 2, 4), [0.333, 0.333, 0.333])

    Reference:
        Luong, M.-T., Pham, H. & Manning, C. D. (2015). Effective approaches to
        attention-based neural machine translation. EMNLP 2015.
    """

    def __init__(self, score="general", seed=None, **kwargs):
        super().__init__(**kwargs)
        if score not in MULTIPLICATIVE_SCORES:
            raise ValueError(
                "Received an invalid value for argument `score` of MultiplicativeAttention, "
                f"expected one of {list(MULTIPLICATIVE_SCORES)}, got {score!r}."
            )
        self.score_type = score
        self.seed = seed

    def build(self, query_shape, values_shape, values_mask_shape=None):
        _check_ranks("MultiplicativeAttention", query_shape, values_shape)
        if self.score_type == "dot":
            if query_shape[-1] != values_shape[-1]:
                raise ValueError(
                    "MultiplicativeAttention with score='dot' needs query and values of "
                    f"the same size, got {query_shape[-1]} and {values_shape[-1]}; use "
                    "score='general' or match the decoder and encoder output sizes."
                )
            return
        self.kernel = self.add_weight(
            shape=(values_shape[-1], query_shape[-1]),
            initializer=keras.initializers.GlorotUniform(seed=self.seed),
            name="kernel",
        )

    def score(self, query, values):
        keys = values if self.score_type == "dot" else ops.matmul(values, self.kernel)
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))

    def get_config(self):
        config = super().get_config()
        config.update({"score": self.score_type, "seed": self.seed})
        return config
