"""Gated recurrent unit: Keras' own GRU, available in the zoo."""

import keras

from rnnzoo.layers.base import zoo_layer
from rnnzoo.layers.lstm import KerasRecurrentMixin


@zoo_layer("gru")
class GRU(KerasRecurrentMixin, keras.layers.GRU):
    """Gated recurrent unit layer: `keras.layers.GRU`, available in the zoo.

    Identical numbers and weights to `keras.layers.GRU` (and its cuDNN path);
    the zoo adds early input validation with clear messages and a `seed` that
    also seeds the initializers. Serialized as `rnnzoo>GRU`.

    Equations with Keras' default `reset_after=True` (gates in the order z, r,
    n of the `kernel` and `recurrent_kernel` columns; `bias` has two rows, the
    input bias `b` and the recurrent bias `b'`):

        z_t = sigma(x_t W_z + b_z + h_{t-1} U_z + b'_z)
        r_t = sigma(x_t W_r + b_r + h_{t-1} U_r + b'_r)
        n_t = tanh(x_t W_n + b_n + r_t * (h_{t-1} U_n + b'_n))
        h_t = z_t * h_{t-1} + (1 - z_t) * n_t

    With `reset_after=False` the reset gate multiplies `h_{t-1}` before `U_n`
    (Cho et al.'s original form) and `bias` is one vector.

    Args:
        units: int, hidden units.
        activation: default `"tanh"`; recurrent_activation: default `"sigmoid"`.
        reset_after: bool, default `True` (the cuDNN-compatible convention).
        seed: optional int; seeds the initializers and the dropout.
        use_bias, *_initializer, *_regularizer, *_constraint, dropout,
            recurrent_dropout, return_sequences, return_state, go_backwards,
            stateful, unroll, use_cudnn: exactly as in `keras.layers.GRU`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h]`, `(batch, units)`.
        mask: optional boolean `(batch, timesteps)`.
        training: bool (dropout).

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)` or `(batch, timesteps, units)`; with
    `return_state=True` the final `h` `(batch, units)` follows.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((4, 10, 3), "float32")
    >>> y, h = GRU(8, return_sequences=True, return_state=True, seed=1)(x)
    >>> tuple(y.shape), tuple(h.shape)
    ((4, 10, 8), (4, 8))

    Reference:
        Cho, K., van Merrienboer, B., Gulcehre, C., Bahdanau, D., Bougares, F.,
        Schwenk, H. & Bengio, Y. (2014). Learning phrase representations using
        RNN encoder-decoder for statistical machine translation. EMNLP 2014.
    """
