"""Bidirectional associative memory (Kosko 1988) and its stochastic, annealed variant.

A BAM stores pairs of bipolar patterns `(x_k, y_k)` in one correlation matrix
and recalls a pair by bouncing activity between its two layers until the pair
is stable. Not a sequence layer: the input is a batch of probes.
"""

import keras
from keras import ops

from rnnzoo.layers.base import check_positive_int, zoo_layer
from rnnzoo.layers.hopfield import (
    _check_seed,
    bipolar_threshold,
    check_bipolar_patterns,
    checked_matrix_input,
)


@zoo_layer("bam")
class BAM(keras.layers.Layer):
    """Bidirectional associative memory: recall stored (x, y) pattern pairs.

    Two layers of bipolar units, X (n units) and Y (`units` = p units), are
    coupled by one non-trainable correlation matrix `M` (n x p), written by
    `store(x_patterns, y_patterns)` from pairs `(x_k, y_k)`:

        M = sum_k x_k^T y_k

    Recall from a probe `x` (and optionally a probe `y`) alternates

        y <- sgn(x M),   x <- sgn(y M^T)

    where `sgn` keeps the unit's current value when its net input is 0 (an
    `x`-only probe starts from `y = +1`). It stops when the pair no longer
    changes (a stable pair, reached in finitely many steps because the energy

        E(x, y) = -x M y^T

    never increases; `energy(x, y)`) or after `max_iterations` round trips.
    The loop has a fixed maximum and frozen converged pairs, so results equal
    early stopping and the graph exports to TFLite.

    Args:
        units: positive int, the size p of the Y layer.
        max_iterations: positive int, the most round trips x -> y -> x.
            Default 20.

    Call arguments:
        inputs: `x (batch, n)`, or a list `[x (batch, n), y (batch, p)]`;
            the sign of each entry is used (zeros count as +1).

    Input shape: `(batch, n)` or `[(batch, n), (batch, p)]`.
    Output: a list `[x, y]` of recalled states, `(batch, n)` and `(batch, p)`.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xs = np.where(rng.random((3, 31)) < 0.5, -1.0, 1.0)
    >>> ys = np.where(rng.random((3, 15)) < 0.5, -1.0, 1.0)
    >>> bam = BAM(15)
    >>> bam.store(xs, ys)
    >>> noisy = xs.copy(); noisy[:, :3] *= -1                  # 3 flipped bits
    >>> x, y = bam(noisy.astype("float32"))                    # (3, 31), (3, 15)
    >>> bool(np.all(np.asarray(y) == ys)), bool(np.all(np.asarray(x) == xs))
    (True, True)

    Reference:
        Kosko, B. (1988). Bidirectional associative memories. IEEE
        Transactions on Systems, Man, and Cybernetics 18(1), 49-60.
    """

    def __init__(self, units, max_iterations=20, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = check_positive_int(owner, "units", units)
        self.max_iterations = check_positive_int(owner, "max_iterations", max_iterations)
        self.input_units = None

    def _shapes(self, input_shape):
        if input_shape and isinstance(input_shape[0], (list, tuple)):
            if len(input_shape) != 2:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expected x or [x, y], "
                    f"got a list of {len(input_shape)} inputs."
                )
            return tuple(input_shape[0]), tuple(input_shape[1])
        return tuple(input_shape), None

    def build(self, input_shape):
        shape_x, shape_y = self._shapes(input_shape)
        checked_matrix_input(self, keras.KerasTensor(shape_x), self.input_units, "x")
        if shape_y is not None:
            checked_matrix_input(self, keras.KerasTensor(shape_y), self.units, "y")
        self.input_units = int(shape_x[-1])
        self.kernel = self.add_weight(
            shape=(self.input_units, self.units), name="kernel", initializer="zeros",
            trainable=False,
        )

    def store(self, x_patterns, y_patterns):
        """Writes `M = sum_k x_k^T y_k` for the pairs' rows (replacing earlier pairs).

        Args:
            x_patterns: array `(num_pairs, n)` of +1/-1.
            y_patterns: array `(num_pairs, p)` of +1/-1.
        """
        owner = type(self).__name__
        xs = check_bipolar_patterns(owner, "x_patterns", x_patterns, self.input_units)
        ys = check_bipolar_patterns(owner, "y_patterns", y_patterns, self.units)
        if xs.shape[0] != ys.shape[0]:
            raise ValueError(
                f"Arguments `x_patterns` and `y_patterns` of {owner} must hold the same "
                f"number of patterns, got {xs.shape[0]} and {ys.shape[0]}."
            )
        if not self.built:
            self.build((None, xs.shape[1]))
        self.kernel.assign((xs.T @ ys).astype(self.kernel.dtype))

    def energy(self, x, y):
        """E(x, y) = -x M y^T for states `(batch, n)`, `(batch, p)`; returns `(batch,)`."""
        x = checked_matrix_input(self, ops.convert_to_tensor(x), self.input_units, "x")
        y = checked_matrix_input(self, ops.convert_to_tensor(y), self.units, "y")
        return -ops.sum(ops.matmul(x, self.kernel) * y, axis=-1)

    def _probes(self, inputs):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expected x or [x, y], "
                    f"got a list of {len(inputs)} inputs."
                )
            x = checked_matrix_input(self, inputs[0], self.input_units, "x")
            y = checked_matrix_input(self, inputs[1], self.units, "y")
        else:
            x = checked_matrix_input(self, inputs, self.input_units, "x")
            y = None
        x = ops.where(x >= 0, ops.ones_like(x), -ops.ones_like(x))
        if y is None:
            y = ops.ones((ops.shape(x)[0], self.units), dtype=x.dtype)
        else:
            y = ops.where(y >= 0, ops.ones_like(y), -ops.ones_like(y))
        return x, y

    def call(self, inputs):
        x, y = self._probes(inputs)

        def running(i, x, y, changed):
            return ops.logical_and(i < self.max_iterations, changed)

        def step(i, x, y, changed):
            new_y = bipolar_threshold(ops.matmul(x, self.kernel), y)
            new_x = bipolar_threshold(ops.matmul(new_y, ops.transpose(self.kernel)), x)
            moved = ops.logical_or(ops.any(ops.not_equal(new_x, x)),
                                   ops.any(ops.not_equal(new_y, y)))
            return i + 1, new_x, new_y, moved

        start = (ops.convert_to_tensor(0, "int32"), x, y, ops.convert_to_tensor(True))
        _, x, y, _ = ops.while_loop(running, step, start)
        return [x, y]

    def compute_output_shape(self, input_shape):
        shape_x, _ = self._shapes(input_shape)
        return [shape_x, (shape_x[0], self.units)]

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "max_iterations": self.max_iterations})
        return config


@zoo_layer("stochastic_bam")
class StochasticBAM(BAM):
    """BAM with temperature-controlled Markov stepping and an annealing schedule.

    Same storage and layers as `BAM`; recall samples each unit instead of
    thresholding it. At round trip `k = 0, 1, ...` the temperature is

        T_k = max(temperature * decay^k, min_temperature)

    and every unit of Y, then of X, is set to +1 with probability

        P(y_j = +1) = sigmoid(2 net_j / T_k),   net = x M   (resp. y M^T for x)

    (the Glauber rule). The sampling runs exactly `max_iterations` round
    trips (a sampled chain has no fixed point to stop at). As `T -> 0` it
    becomes the deterministic BAM (except at net inputs of exactly 0, where it
    flips a fair coin instead of keeping the unit).

    Random numbers come from `keras.random` with a `SeedGenerator(seed)`: a
    layer built with a given seed produces the same sequence of recalls.

    Args:
        units: positive int, the size p of the Y layer.
        temperature: positive float, the initial temperature. Default 1.0.
        decay: float in (0, 1], the annealing factor per round trip.
            Default 0.9.
        min_temperature: positive float, the temperature floor. Default 0.05.
        max_iterations: positive int, the number of round trips. Default 20.
        seed: optional int, seeds the sampling.

    Call arguments, input and output: as `BAM`.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xs = np.where(rng.random((3, 31)) < 0.5, -1.0, 1.0)
    >>> ys = np.where(rng.random((3, 15)) < 0.5, -1.0, 1.0)
    >>> bam = StochasticBAM(15, temperature=2.0, decay=0.7, seed=0)
    >>> bam.store(xs, ys)
    >>> x, y = bam(xs.astype("float32"))                       # (3, 31), (3, 15)
    >>> tuple(x.shape), tuple(y.shape)
    ((3, 31), (3, 15))

    Reference:
        Kosko, B. (1988). Bidirectional associative memories. IEEE
        Transactions on Systems, Man, and Cybernetics 18(1), 49-60.
        Glauber, R. J. (1963). Time-dependent statistics of the Ising model.
        J. Math. Phys. 4(2). Kirkpatrick, S., Gelatt, C. D. & Vecchi, M. P.
        (1983). Optimization by simulated annealing. Science 220.
    """

    def __init__(self, units, temperature=1.0, decay=0.9, min_temperature=0.05,
                 max_iterations=20, seed=None, **kwargs):
        super().__init__(units, max_iterations=max_iterations, **kwargs)
        owner = type(self).__name__
        for argument, value, upper in (("temperature", temperature, None),
                                       ("decay", decay, 1.0),
                                       ("min_temperature", min_temperature, None)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            if not ok or (upper is not None and value > upper):
                expected = "a float in (0, 1]" if upper else "a positive float"
                raise ValueError(
                    f"Received an invalid value for argument `{argument}` of {owner}, "
                    f"expected {expected}, got {value!r}."
                )
        self.temperature = float(temperature)
        self.decay = float(decay)
        self.min_temperature = float(min_temperature)
        self.seed = _check_seed(owner, seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def temperatures(self):
        """The annealing schedule T_0..T_{max_iterations-1}, a list of floats."""
        return [max(self.temperature * self.decay**k, self.min_temperature)
                for k in range(self.max_iterations)]

    def _sample(self, net, temperature, noise):
        probability = ops.sigmoid(2.0 * net / temperature)
        one = ops.ones_like(net)
        return ops.where(noise < probability, one, -one)

    def call(self, inputs):
        x, y = self._probes(inputs)
        batch = ops.shape(x)[0]
        noise_y = keras.random.uniform((self.max_iterations, batch, self.units),
                                       seed=self.seed_generator, dtype=x.dtype)
        noise_x = keras.random.uniform((self.max_iterations, batch, self.input_units),
                                       seed=self.seed_generator, dtype=x.dtype)
        for k, temperature in enumerate(self.temperatures()):
            y = self._sample(ops.matmul(x, self.kernel), temperature, noise_y[k])
            x = self._sample(ops.matmul(y, ops.transpose(self.kernel)), temperature, noise_x[k])
        return [x, y]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "temperature": self.temperature,
                "decay": self.decay,
                "min_temperature": self.min_temperature,
                "seed": self.seed,
            }
        )
        return config
