"""Neural history compressor: stacked predictors, each fed what the one below mispredicted."""

import keras
from keras import ops

from rnnzoo.layers.base import ZooCell, ZooRNN, serializable, zoo_layer

SURPRISES = ("error", "argmax")


@serializable
class HistoryCompressorCell(ZooCell):
    """One step of a neural history compressor (Schmidhuber 1992).

    Level 0 (the automatizer) reads every input; level `k + 1` (a chunker)
    reads only the inputs that level `k` received and failed to predict.
    Every level `k` is a simple recurrent network with hidden state `h_k`
    that, after each update, predicts the next input it will receive, `p_k`.
    At step `t`, with `r_0 = 1`:

        surprise_k = r_k * [x_t mispredicted by p_k]
        r_{k+1}    = surprise_k                     (x_t is passed upward)
        u_k        = x_t                 for k = 0
                     [x_t, log(dt_k)]    for k > 0 (dt_k: steps since level k
                                                    last received an input)
        h_k <- activation(u_k W_k + h_k U_k + b_k)  if r_k else h_k   (held)
        p_k <- h_k V_k + c_k                        if r_k else p_k   (held)

    "Mispredicted" is `max_f |x_f - p_f| > threshold` (`surprise="error"`,
    real inputs) or `argmax(p) != argmax(x)` (`surprise="argmax"`, one-hot
    symbols, `p` are logits). Holding a level's state on the steps it does
    not receive makes level `k + 1` exactly the RNN run on the compressed
    subsequence (plus time stamps) of level `k`'s surprises, in a fixed-shape
    batched graph.

    The predictors learn from their own prediction loss, which the layer adds
    with `add_loss`: the squared error (`"error"`) or softmax cross-entropy
    (`"argmax"`) of `p_k` against each input level `k` received, averaged per
    level over the inputs it received. With `distill=True` the automatizer
    also predicts the first chunker's state, `h_0 D + e` against
    `stop_gradient(h_1)` (squared error, every step): the chunker's knowledge
    is distilled into the automatizer ("collapsing" the hierarchy).

    Args:
        units: int, hidden units per level.
        levels: int >= 2, number of levels. Default 2 (automatizer, chunker).
        surprise: `"error"` (default) or `"argmax"`.
        threshold: float > 0, the error above which an input counts as
            mispredicted with `surprise="error"`. Default 0.5.
        time_stamps: bool, give chunkers `log(dt)` as an extra input. Default
            `True`.
        distill: bool, add the distillation loss. Default `False`.
        prediction_weight: float >= 0, weight of the prediction loss.
            Default 1.0.
        distill_weight: float >= 0, weight of the distillation loss.
            Default 1.0.
        activation (default `"tanh"`), use_bias, *_initializer,
            *_regularizer, *_constraint, seed: as in
            `keras.layers.SimpleRNNCell` (the prediction readouts use the
            kernel role).

    State: `[h, p, dt, stats]`: `h` `(batch, levels * units)` the levels'
    hidden states; `p` `(batch, levels * features)` their predictions;
    `dt` `(batch, levels - 1)` steps since each chunker's last input; `stats`
    `(batch, 2 * levels + 1)` running sums: steps, inputs passed to levels
    1.., prediction losses of levels 0.., distillation loss.
    """

    def __init__(
        self,
        units,
        levels=2,
        surprise="error",
        threshold=0.5,
        time_stamps=True,
        distill=False,
        prediction_weight=1.0,
        distill_weight=1.0,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        owner = type(self).__name__
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
            raise ValueError(
                f"Received an invalid value for argument `levels` of {owner}, "
                f"expected an integer >= 2, got {levels!r}."
            )
        if surprise not in SURPRISES:
            raise ValueError(
                f"Received an invalid value for argument `surprise` of {owner}, "
                f"expected one of {list(SURPRISES)}, got {surprise!r}."
            )
        for argument, value, low in (
            ("threshold", threshold, "a float > 0"),
            ("prediction_weight", prediction_weight, "a float >= 0"),
            ("distill_weight", distill_weight, "a float >= 0"),
        ):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and (value > 0 if argument == "threshold" else value >= 0)
            if not ok:
                raise ValueError(
                    f"Received an invalid value for argument `{argument}` of {owner}, "
                    f"expected {low}, got {value!r}."
                )
        self.levels = levels
        self.surprise = surprise
        self.threshold = float(threshold)
        self.time_stamps = bool(time_stamps)
        self.distill = bool(distill)
        self.prediction_weight = float(prediction_weight)
        self.distill_weight = float(distill_weight)
        self.output_size = levels * self.units

    @property
    def state_size(self):
        # `keras.layers.RNN` reads the sizes before the feature size is known;
        # `ZooRNN.build` reads them again once built.
        features = self.input_dim or 0
        levels = self.levels
        return [levels * self.units, levels * features, levels - 1, 2 * levels + 1]

    def build(self, input_shape):
        super().build(input_shape)
        n, f = self.units, self.input_dim
        self.kernels, self.recurrent_kernels, self.biases = [], [], []
        self.prediction_kernels, self.prediction_biases = [], []
        for k in range(self.levels):
            fan_in = f + (1 if k > 0 and self.time_stamps else 0)
            self.kernels.append(self.add_role_weight(f"kernel_{k}", (fan_in, n), "kernel"))
            self.recurrent_kernels.append(
                self.add_role_weight(f"recurrent_kernel_{k}", (n, n), "recurrent")
            )
            if self.use_bias:
                self.biases.append(self.add_role_weight(f"bias_{k}", (n,), "bias"))
            self.prediction_kernels.append(
                self.add_role_weight(f"prediction_kernel_{k}", (n, f), "kernel")
            )
            self.prediction_biases.append(
                self.add_role_weight(f"prediction_bias_{k}", (f,), "bias", "zeros")
            )
        if self.distill:
            self.distill_kernel = self.add_role_weight("distill_kernel", (n, n), "kernel")
            self.distill_bias = self.add_role_weight("distill_bias", (n,), "bias", "zeros")

    def mispredicted(self, prediction, inputs):
        """1.0 where `prediction` misses `inputs`, else 0.0; shape `(batch, 1)`."""
        if self.surprise == "argmax":
            miss = ops.not_equal(ops.argmax(prediction, axis=-1), ops.argmax(inputs, axis=-1))
            return ops.cast(ops.expand_dims(miss, -1), inputs.dtype)
        error = ops.max(ops.abs(inputs - prediction), axis=-1, keepdims=True)
        return ops.cast(ops.greater(error, self.threshold), inputs.dtype)

    def prediction_loss(self, prediction, inputs):
        """Per-example loss of `prediction` against `inputs`, shape `(batch, 1)`."""
        if self.surprise == "argmax":
            return -ops.sum(inputs * ops.log_softmax(prediction, axis=-1), -1, keepdims=True)
        return ops.mean(ops.square(inputs - prediction), axis=-1, keepdims=True)

    def call(self, inputs, states, training=False):
        hidden, predictions, elapsed, stats = states
        n, f = self.units, self.input_dim
        receive = ops.ones_like(inputs[:, :1])
        new_hidden, new_predictions, new_elapsed, passed, losses = [], [], [], [], []
        for k in range(self.levels):
            h = hidden[:, k * n : (k + 1) * n]
            p = predictions[:, k * f : (k + 1) * f]
            losses.append(receive * self.prediction_loss(p, inputs))
            level_inputs = inputs
            if k > 0:
                passed.append(receive)
                dt = elapsed[:, k - 1 : k] + 1.0
                new_elapsed.append(ops.where(receive > 0, ops.zeros_like(dt), dt))
                if self.time_stamps:
                    level_inputs = ops.concatenate([inputs, ops.log(dt)], axis=-1)
            pre = ops.matmul(level_inputs, self.kernels[k])
            pre = pre + ops.matmul(h, self.recurrent_kernels[k])
            if self.use_bias:
                pre = pre + self.biases[k]
            h = ops.where(receive > 0, self.activation(pre), h)
            fresh = ops.matmul(h, self.prediction_kernels[k]) + self.prediction_biases[k]
            new_predictions.append(ops.where(receive > 0, fresh, p))
            new_hidden.append(h)
            receive = receive * self.mispredicted(p, inputs)
        distilled = ops.zeros_like(receive)
        if self.distill:
            guess = ops.matmul(new_hidden[0], self.distill_kernel) + self.distill_bias
            target = ops.stop_gradient(new_hidden[1])
            distilled = ops.mean(ops.square(guess - target), axis=-1, keepdims=True)
        step = ops.ones_like(receive)
        stats = stats + ops.concatenate([step, *passed, *losses, distilled], axis=-1)
        output = ops.concatenate(new_hidden, axis=-1)
        state = [
            output,
            ops.concatenate(new_predictions, axis=-1),
            ops.concatenate(new_elapsed, axis=-1),
            stats,
        ]
        return output, state

    def pass_rates(self, stats):
        """Fraction of steps whose input reached levels 1.., `(batch, levels - 1)`."""
        steps = ops.maximum(stats[:, :1], 1.0)
        return stats[:, 1 : self.levels] / steps

    def auxiliary_loss(self, stats):
        """The weighted prediction (and distillation) loss, a float32 (or wider) scalar."""
        levels = self.levels
        # Keras sums the added losses in float32; under a float16 policy
        # (mixed precision) the running sums arrive in float16.
        stats = ops.cast(stats, keras.backend.result_type(stats.dtype, "float32"))
        steps = ops.maximum(stats[:, :1], 1.0)
        counts = ops.concatenate([steps, ops.maximum(stats[:, 1:levels], 1.0)], axis=-1)
        per_level = stats[:, levels : 2 * levels] / counts
        loss = self.prediction_weight * ops.mean(ops.sum(per_level, axis=-1))
        if self.distill:
            loss = loss + self.distill_weight * ops.mean(stats[:, -1:] / steps)
        return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "levels": self.levels,
                "surprise": self.surprise,
                "threshold": self.threshold,
                "time_stamps": self.time_stamps,
                "distill": self.distill,
                "prediction_weight": self.prediction_weight,
                "distill_weight": self.distill_weight,
            }
        )
        return config


@zoo_layer("history_compressor", aliases=("neural_history_compressor",))
class HistoryCompressor(ZooRNN):
    """Neural history compressor: an automatizer and chunkers that see only surprises.

    A stack of recurrent predictors (Schmidhuber 1992). Level 0, the
    automatizer, reads every input and predicts the next one; level `k + 1`,
    a chunker, receives only the inputs that level `k` mispredicted, with a
    time stamp (`log` of the steps since its previous input), and holds its
    state otherwise. Predictable stretches therefore never reach the upper
    levels, which see a much shorter sequence: a long time lag below becomes
    a short one above. See `HistoryCompressorCell` for the equations.

    Design: "passing only the mispredicted steps" is a gated recurrence in
    which a level updates its state only at the steps it receives and holds
    it otherwise. This equals running the upper RNN on the compressed
    subsequence (tested against that), keeps batches of fixed shape, and
    exports to TFLite like any recurrent layer.

    Training: the predictors are trained by their own prediction loss (and
    the optional distillation loss), which the layer adds with `add_loss`
    on every call, so `model.fit` with any task loss trains both. The
    surprise gates themselves are not differentiable. With `stateful=True`
    the running sums (and so the added loss and the pass rates) cover every
    step since the last `reset_state()`. Keras keeps every state in the
    compute dtype, so under a float16 policy (mixed precision) the running
    sums are float16 and count steps exactly up to 2,048; the added loss
    itself is formed in float32.

    Compression: `pass_rates(sequences)` (eager) returns the fraction of
    steps that reached each upper level; in a graph, take the last state of
    `return_state=True` and `HistoryCompressor.rates_from_stats(stats)`.

    Args:
        units: int, hidden units per level.
        levels: int >= 2. Default 2.
        surprise: `"error"` (default; `max |x - p| > threshold`) or
            `"argmax"` (one-hot symbols; predictions are logits).
        threshold: float > 0. Default 0.5.
        time_stamps: bool. Default `True`.
        distill: bool, distil the chunker's state into the automatizer.
            Default `False`.
        prediction_weight, distill_weight: floats >= 0. Default 1.0.
        activation (default `"tanh"`), use_bias, initializers, regularizers,
            constraints, seed: passed to `HistoryCompressorCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
            zero_output_for_mask: as in `keras.layers.RNN`.

    Call arguments:
        sequences: float tensor `(batch, timesteps, features)`.
        initial_state: optional list `[h, p, dt, stats]` (see the cell).
        mask: optional boolean `(batch, timesteps)`; masked steps change no
            state (and count in no statistic).
        training: bool.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, levels * units)` (every level's state,
    automatizer first) or `(batch, timesteps, levels * units)`; with
    `return_state=True` the four states follow.

    Example:

    >>> import numpy as np
    >>> x = np.tile(np.eye(3, dtype="float32"), (2, 4, 1))  # (2, 12, 3)
    >>> layer = HistoryCompressor(5, levels=3, surprise="argmax", seed=1)
    >>> tuple(layer(x).shape)  # the states of the three levels
    (2, 15)
    >>> rates = layer.pass_rates(x)  # fraction of steps reaching levels 1, 2
    >>> rates.shape, bool(np.all((rates >= 0) & (rates <= 1)))
    ((2, 2), True)

    Reference:
        Schmidhuber, J. (1992). Learning complex, extended sequences using
        the principle of history compression. Neural Computation 4(2),
        234-242.
    """

    cell_class = HistoryCompressorCell

    @property
    def levels(self):
        return self.cell.levels

    def call(self, sequences, initial_state=None, mask=None, training=False):
        wanted = self.return_state
        self.return_state = True  # the running sums in the last state give the loss
        try:
            output, *states = super().call(
                sequences, initial_state=initial_state, mask=mask, training=training
            )
        finally:
            self.return_state = wanted
        self.add_loss(self.cell.auxiliary_loss(states[-1]))
        return [output, *states] if wanted else output

    @staticmethod
    def rates_from_stats(stats, levels=None):
        """Pass rates `(batch, levels - 1)` from the last `stats` state."""
        levels = (int(stats.shape[-1]) - 1) // 2 if levels is None else levels
        return stats[:, 1:levels] / ops.maximum(stats[:, :1], 1.0)

    def pass_rates(self, sequences, mask=None):
        """Fraction of each sequence's steps that reached levels 1.. (eager).

        Returns:
            NumPy array `(batch, levels - 1)`.
        """
        wanted = self.return_state
        self.return_state = True
        try:
            _, *states = self(sequences, mask=mask)
        finally:
            self.return_state = wanted
        return keras.ops.convert_to_numpy(self.cell.pass_rates(states[-1]))
