"""Hopfield networks: the classic bipolar attractor memory and the modern continuous one.

`Hopfield` is Hopfield's (1982) content-addressable memory: patterns are
stored in a symmetric weight matrix by a storage rule (`store(patterns)`),
and a call lets probes relax to the nearest attractor. `ModernHopfield` is the
continuous modern Hopfield layer of Ramsauer et al. (2020): one step of
softmax retrieval over stored patterns, with trainable projections, usable
inside any model (association, pooling and lookup forms).

Neither reads a sequence step by step, so neither is a `keras.layers.RNN`;
each has its own input contract (see the class docstrings).
"""

import keras
import numpy as np
from keras import ops

from rnnzoo.layers.base import (
    check_choice,
    check_positive_int,
    check_rank,
    counted_loop,
    layer_owner,
    zoo_layer,
)

HOPFIELD_RULES = ("hebbian", "pseudo_inverse", "storkey")
HOPFIELD_UPDATES = ("synchronous", "asynchronous")
HOPFIELD_ORDERS = ("sequential", "random")
MODERN_MODES = ("association", "pooling", "lookup")


def _check_seed(owner, seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(
            f"Received an invalid value for argument `seed` of {owner}, "
            f"expected an integer or None, got {seed!r}."
        )
    return seed


def bipolar_threshold(net, previous):
    """+1 where `net > 0`, -1 where `net < 0`, `previous` where `net == 0`."""
    one = ops.ones_like(net)
    return ops.where(net > 0, one, ops.where(net < 0, -one, previous))


def check_bipolar_patterns(owner, argument, patterns, width=None):
    """Validates stored patterns: a 2-D array of +1/-1 values. Returns float64."""
    array = np.asarray(ops.convert_to_numpy(patterns) if not isinstance(patterns, np.ndarray)
                       else patterns)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"Argument `{argument}` of {owner} must be a non-empty 2-D array "
            f"(num_patterns, units), got shape {array.shape}."
        )
    if width is not None and array.shape[1] != width:
        raise ValueError(
            f"Argument `{argument}` of {owner} must have {width} columns (the layer's "
            f"units), got shape {array.shape}."
        )
    if not np.all(np.isin(array, (-1, 1))):
        raise ValueError(
            f"Argument `{argument}` of {owner} must hold bipolar values (+1/-1 only), "
            f"got values {np.unique(array)[:6].tolist()}."
        )
    return array.astype(np.float64)


def checked_matrix_input(layer, inputs, width, what):
    """Validates a (batch, width) numeric input and casts it to the compute dtype."""
    owner = layer_owner(layer)
    shape = tuple(inputs.shape)
    check_rank(layer, shape, ("batch", "units"), what)
    if shape[1] is None or shape[1] == 0 or (width is not None and shape[1] != width):
        expected = "a known, non-zero size" if width is None else f"{width} units"
        raise ValueError(
            f"Input {what} of {owner} must have {expected} on its last axis, got shape "
            f"{shape}."
        )
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    if dtype == "string":
        raise ValueError(f"Input {what} of {owner} must be numeric, got dtype {dtype}.")
    if dtype != layer.compute_dtype:
        inputs = ops.cast(inputs, layer.compute_dtype)
    return inputs


def hebbian_weights(patterns):
    """W = X^T X / N with a zero diagonal (Hopfield 1982)."""
    n = patterns.shape[1]
    weights = patterns.T @ patterns / n
    np.fill_diagonal(weights, 0.0)
    return weights


def pseudo_inverse_weights(patterns):
    """W = X^+ X (projector on the patterns' span, Personnaz et al. 1985), zero diagonal."""
    weights = np.linalg.pinv(patterns) @ patterns
    np.fill_diagonal(weights, 0.0)
    return weights


def storkey_weights(patterns):
    """Storkey's (1997) incremental rule, one pattern at a time, zero diagonal.

    w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N, h_ij = sum_{k != i, j} w_ik xi_k.
    """
    n = patterns.shape[1]
    weights = np.zeros((n, n))
    for xi in patterns:
        field = weights @ xi
        # h_ij = field_i - w_ii xi_i - w_ij xi_j (the diagonal is kept at zero).
        local = field[:, None] - weights * xi[None, :]
        weights = weights + (np.outer(xi, xi) - xi[:, None] * local.T - local * xi[None, :]) / n
        np.fill_diagonal(weights, 0.0)
    return weights


_STORAGE = {
    "hebbian": hebbian_weights,
    "pseudo_inverse": pseudo_inverse_weights,
    "storkey": storkey_weights,
}


@zoo_layer("hopfield")
class Hopfield(keras.layers.Layer):
    """Classic bipolar Hopfield network: store patterns, then recall them from probes.

    The layer holds `N x N` symmetric weights `W` with a zero diagonal (a
    non-trainable weight, filled by a storage rule, so it is saved, loaded
    and exported with the model). `store(patterns)` writes them; calling the
    layer on probes lets each probe relax to an attractor.

    Storage rules, for bipolar patterns `xi^1..xi^P` (rows of `X`, `P x N`):

        hebbian:         W = X^T X / N
        pseudo_inverse:  W = X^+ X     (projector on the patterns' span)
        storkey:         W += (xi xi^T - xi h^T - h xi^T) / N, pattern by pattern,
                         h_ij = sum_{k != i,j} w_ik xi_k
    each followed by zeroing the diagonal. Rough capacities for random
    patterns: 0.138 N (Hebbian), N (pseudo-inverse: stored patterns stay fixed
    points while P < N), about N / sqrt(2 ln N) (Storkey).

    Recall, with `sgn(h) = +1 / -1` for `h > 0 / h < 0` and "keep the current
    value" for `h = 0`, starting from `s = sgn(probe)` (zeros count as +1):

        synchronous:   s <- sgn(s W)               (all units at once)
        asynchronous:  s_j <- sgn(s W[:, j])        for j in the update order,
                                                    one unit at a time

    The asynchronous order is the same for every sweep: `0..N-1`
    (`order="sequential"`) or one random permutation drawn at build time from
    `seed` and kept as a non-trainable weight (`order="random"`). One
    iteration is one synchronous step or one asynchronous sweep over all N
    units. Recall stops when no probe changes in an iteration (a fixed point)
    or after `max_iterations`; stopping is a fixed-size loop whose converged
    probes stay frozen, so results equal early stopping and the graph exports
    to TFLite. Asynchronous updates never increase the energy

        E(s) = -1/2 s W s^T

    (`energy(states)`), so they always reach a fixed point; synchronous updates
    may end in a 2-cycle, which `max_iterations` then cuts.

    Args:
        rule: str, the default storage rule of `store`: `"hebbian"` (default),
            `"pseudo_inverse"` or `"storkey"`.
        update: `"synchronous"` (default) or `"asynchronous"`.
        order: the asynchronous update order, `"sequential"` (default) or
            `"random"` (a fixed seeded permutation). Ignored when synchronous.
        max_iterations: positive int, the most iterations of recall. Default 20.
        return_trajectory: bool; if True the call returns every iteration's
            states. Default False.
        seed: optional int, seeds the random update order.

    Call arguments:
        probes: float tensor `(batch, N)`; the sign of each entry is the
            initial state (bipolar probes are used as they are).

    Input shape: `(batch, N)`; N is fixed by the first call or `store`.
    Output shape: `(batch, N)` recalled states (+1/-1), or
    `(batch, max_iterations + 1, N)` with `return_trajectory=True` (the
    probe's sign first; converged states repeat).

    Example:

    >>> import numpy as np
    >>> patterns = np.where(np.random.default_rng(0).random((3, 64)) < 0.5, -1.0, 1.0)
    >>> net = Hopfield(rule="hebbian", update="synchronous")
    >>> net.store(patterns)
    >>> noisy = patterns.copy(); noisy[:, :5] *= -1          # 5 flipped bits
    >>> recalled = net(noisy.astype("float32"))             # (3, 64)
    >>> bool(np.all(np.asarray(recalled) == patterns))
    True
    >>> tuple(net.energy(recalled).shape)                   # (3,)
    (3,)

    Reference:
        Hopfield, J. J. (1982). Neural networks and physical systems with
        emergent collective computational abilities. PNAS 79(8).
        Storkey, A. (1997). Increasing the capacity of a Hopfield network
        without sacrificing functionality. ICANN 1997.
        Personnaz, L., Guyon, I. & Dreyfus, G. (1985). Information storage and
        retrieval in spin-glass like neural networks. J. Physique Lett. 46.
    """

    def __init__(
        self,
        rule="hebbian",
        update="synchronous",
        order="sequential",
        max_iterations=20,
        return_trajectory=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rule = check_choice(owner, "rule", rule, HOPFIELD_RULES)
        self.update = check_choice(owner, "update", update, HOPFIELD_UPDATES)
        self.order = check_choice(owner, "order", order, HOPFIELD_ORDERS)
        self.max_iterations = check_positive_int(owner, "max_iterations", max_iterations)
        self.return_trajectory = bool(return_trajectory)
        self.seed = _check_seed(owner, seed)
        self.units = None

    def build(self, input_shape):
        checked_matrix_input(self, keras.KerasTensor(input_shape), self.units, "probes")
        self.units = int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(self.units, self.units), name="kernel", initializer="zeros",
            trainable=False,
        )
        self.update_order = None
        if self.update == "asynchronous":
            if self.order == "random":
                order = np.random.default_rng(self.seed).permutation(self.units)
            else:
                order = np.arange(self.units)
            self.update_order = self.add_weight(
                shape=(self.units,), name="update_order", dtype="int32", trainable=False,
                initializer=lambda shape, dtype=None: ops.convert_to_tensor(order, "int32"),
            )

    def store(self, patterns, rule=None):
        """Writes the weights that store `patterns` (replacing earlier ones).

        Args:
            patterns: array `(num_patterns, N)` of +1/-1 values.
            rule: optional storage rule overriding the layer's `rule`.
        """
        owner = type(self).__name__
        rule = self.rule if rule is None else check_choice(owner, "rule", rule, HOPFIELD_RULES)
        patterns = check_bipolar_patterns(owner, "patterns", patterns, self.units)
        if not self.built:
            self.build((None, patterns.shape[1]))
        self.kernel.assign(_STORAGE[rule](patterns).astype(self.kernel.dtype))

    def energy(self, states):
        """E(s) = -1/2 s W s^T for states `(batch, N)`; returns `(batch,)`."""
        states = checked_matrix_input(self, ops.convert_to_tensor(states), self.units, "states")
        return -0.5 * ops.sum(ops.matmul(states, self.kernel) * states, axis=-1)

    def _sweep(self, states):
        if self.update == "synchronous":
            return bipolar_threshold(ops.matmul(states, self.kernel), states)

        def visit(k, s):
            unit = self.update_order[k]
            net = ops.matmul(s, ops.take(self.kernel, unit, axis=1)[:, None])[:, 0]
            current = ops.take(s, unit, axis=1)
            new = bipolar_threshold(net, current)
            hot = ops.one_hot(unit, self.units, dtype=s.dtype)
            return s + (new - current)[:, None] * hot[None, :]

        return counted_loop(self.units, visit, states)

    def call(self, probes):
        probes = checked_matrix_input(self, probes, self.units, "probes")
        states = ops.where(probes >= 0, ops.ones_like(probes), -ops.ones_like(probes))
        if self.return_trajectory:
            trajectory = [states]
            for _ in range(self.max_iterations):
                states = self._sweep(states)
                trajectory.append(states)
            return ops.stack(trajectory, axis=1)

        def running(i, s, changed):
            return ops.logical_and(i < self.max_iterations, changed)

        def step(i, s, changed):
            new = self._sweep(s)
            return i + 1, new, ops.any(ops.not_equal(new, s))

        start = (ops.convert_to_tensor(0, "int32"), states, ops.convert_to_tensor(True))
        _, states, _ = ops.while_loop(running, step, start)
        return states

    def compute_output_shape(self, input_shape):
        if self.return_trajectory:
            return (input_shape[0], self.max_iterations + 1, input_shape[-1])
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rule": self.rule,
                "update": self.update,
                "order": self.order,
                "max_iterations": self.max_iterations,
                "return_trajectory": self.return_trajectory,
                "seed": self.seed,
            }
        )
        return config


@zoo_layer("modern_hopfield")
class ModernHopfield(keras.layers.Layer):
    """Modern (continuous) Hopfield layer: one step of softmax retrieval.

    Ramsauer et al.'s update of a state (query) pattern `xi` over stored
    patterns `X` (columns), with inverse temperature `beta`:

        xi_new = X softmax(beta X^T xi)

    With trainable projections (`use_projections=True`) the layer retrieves
    in a learned space, for state patterns `R` and stored patterns `Y`:

        Z = softmax(beta (R W_q) (Y W_k)^T) (Y W_v)

    Three forms (`mode`):

    - `"association"`: `call([R, Y])` (or `call(R)` for `Y = R`): states
      `R (batch, S, d_r)` retrieve from stored `Y (batch, P, d_y)`; output
      `(batch, S, units)`.
    - `"pooling"` (HopfieldPooling): `num_queries` trainable state patterns
      `Q (num_queries, units)` retrieve from the input set `Y (batch, P, d_y)`;
      output `(batch, num_queries, units)`, a learned, permutation-invariant
      pooling of the set.
    - `"lookup"` (HopfieldLayer): the stored patterns are trainable weights,
      keys `K (num_patterns, units)` and values `V (num_patterns, units)`;
      states `R (batch, S, d_r)` look them up; output `(batch, S, units)`.

    Without projections (`use_projections=False`) `W_q`, `W_k`, `W_v` are the
    identity (all feature sizes must equal `units`, which may then be None),
    and in lookup mode the values are the keys: exactly the update above.

    Masking: a boolean mask over stored patterns (the `Y` input in association
    mode, the set in pooling mode), e.g. from `keras.layers.Masking`, removes
    padded patterns from the softmax. In association and lookup modes the
    states' mask is passed on to the output.

    Args:
        units: int, size of the Hopfield (projected) space, or None with
            `use_projections=False` (then the input feature size).
        mode: `"association"` (default), `"pooling"` or `"lookup"`.
        beta: positive float, the inverse temperature; default `1/sqrt(units)`.
        num_queries: positive int, the learned state patterns of pooling
            mode. Default 1.
        num_patterns: positive int, the learned stored patterns of lookup
            mode (required there).
        use_projections: bool, trainable `W_q`, `W_k`, `W_v`. Default True.
        kernel_initializer: initializer of projections and learned patterns.
            Default `"glorot_uniform"`.
        seed: optional int; the same seed draws the same initial weights.

    Call arguments:
        inputs: see the modes above.
        mask: optional boolean mask (see Masking).

    Example:

    >>> import numpy as np
    >>> sets = np.random.default_rng(0).normal(size=(2, 7, 5)).astype("float32")
    >>> pool = ModernHopfield(8, mode="pooling", num_queries=2, seed=0)
    >>> tuple(pool(sets).shape)                  # (batch, num_queries, units)
    (2, 2, 8)
    >>> lookup = ModernHopfield(4, mode="lookup", num_patterns=10, seed=0)
    >>> tuple(lookup(sets).shape)                # (batch, S, units)
    (2, 7, 4)

    Reference:
        Ramsauer, H. et al. (2020). Hopfield Networks is All You Need.
        arXiv:2008.02217 (ICLR 2021).
    """

    def __init__(
        self,
        units=None,
        mode="association",
        beta=None,
        num_queries=1,
        num_patterns=None,
        use_projections=True,
        kernel_initializer="glorot_uniform",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.use_projections = bool(use_projections)
        self.units = check_positive_int(owner, "units", units,
                                        allow_none=not self.use_projections)
        self.mode = check_choice(owner, "mode", mode, MODERN_MODES)
        if beta is not None and (isinstance(beta, bool) or not isinstance(beta, (int, float))
                                 or beta <= 0):
            raise ValueError(
                f"Received an invalid value for argument `beta` of {owner}, expected a "
                f"positive float or None, got {beta!r}."
            )
        self.beta = None if beta is None else float(beta)
        self.num_queries = check_positive_int(owner, "num_queries", num_queries)
        self.num_patterns = check_positive_int(
            owner, "num_patterns", num_patterns, allow_none=self.mode != "lookup"
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.seed = _check_seed(owner, seed)
        self.supports_masking = True

    def _initializer(self, offset):
        if self.seed is None or "seed" not in self.kernel_initializer.get_config():
            return self.kernel_initializer
        config = self.kernel_initializer.get_config()
        config["seed"] = self.seed * 1000 + offset
        return self.kernel_initializer.__class__.from_config(config)

    def _check(self, tensor, what, width):
        owner = layer_owner(self)
        shape = tuple(tensor.shape)
        check_rank(self, shape, ("batch", "patterns", "features"), what)
        if shape[2] is None or shape[2] == 0 or (width is not None and shape[2] != width):
            expected = "a known, non-zero size" if width is None else f"{width} features"
            raise ValueError(
                f"Input {what} of {owner} must have {expected} on its last axis, got "
                f"shape {shape}."
            )

    def _split(self, inputs, multi=None):
        """(states, stored) from the call's inputs (or their shapes), per mode."""
        if multi is None:
            multi = isinstance(inputs, (list, tuple))
        if multi:
            if self.mode != "association" or len(inputs) != 2:
                raise ValueError(
                    f"Layer '{self.name}' (ModernHopfield, mode={self.mode!r}) expected "
                    + ("[states, stored_patterns] (2 tensors)" if self.mode == "association"
                       else "one tensor")
                    + f", got a list of {len(inputs)} inputs."
                )
            return inputs[0], inputs[1]
        if self.mode == "association":
            return inputs, inputs
        if self.mode == "pooling":
            return None, inputs
        return inputs, None

    def _dims(self, shape_r, shape_y):
        for what, shape in (("states", shape_r), ("stored patterns", shape_y)):
            if shape is not None:
                self._check(keras.KerasTensor(shape), what, None)
                if not self.use_projections and self.units is not None and \
                        shape[-1] != self.units:
                    raise ValueError(
                        f"Input {what} of layer '{self.name}' (ModernHopfield) must have "
                        f"{self.units} features when use_projections=False, got shape "
                        f"{tuple(shape)}."
                    )

    def build(self, input_shape):
        multi = bool(input_shape) and isinstance(input_shape[0], (list, tuple))
        if multi:
            shapes = self._split([tuple(s) for s in input_shape], multi=True)
        else:
            shapes = self._split(tuple(input_shape), multi=False)
        self._dims(*shapes)
        shape_r, shape_y = shapes
        self.state_dim = None if shape_r is None else int(shape_r[-1])
        self.stored_dim = None if shape_y is None else int(shape_y[-1])
        if self.units is None:
            self.units = self.state_dim or self.stored_dim
        units, offset = self.units, 0
        self.query_kernel = self.key_kernel = self.value_kernel = None
        self.state_patterns = self.stored_keys = self.stored_values = None

        def weight(name, shape):
            nonlocal offset
            offset += 1
            return self.add_weight(shape=shape, name=name, initializer=self._initializer(offset))

        if self.use_projections:
            if self.state_dim is not None:
                self.query_kernel = weight("query_kernel", (self.state_dim, units))
            if self.stored_dim is not None:
                self.key_kernel = weight("key_kernel", (self.stored_dim, units))
                self.value_kernel = weight("value_kernel", (self.stored_dim, units))
        if self.mode == "pooling":
            self.state_patterns = weight("state_patterns", (self.num_queries, units))
        if self.mode == "lookup":
            self.stored_keys = weight("stored_keys", (self.num_patterns, units))
            if self.use_projections:
                self.stored_values = weight("stored_values", (self.num_patterns, units))

    def _project(self, tensor, kernel):
        if keras.backend.standardize_dtype(tensor.dtype) != self.compute_dtype:
            tensor = ops.cast(tensor, self.compute_dtype)
        return tensor if kernel is None else ops.matmul(tensor, kernel)

    def call(self, inputs, mask=None):
        states, stored = self._split(inputs)
        for what, tensor, width in (("states", states, self.state_dim),
                                    ("stored patterns", stored, self.stored_dim)):
            if tensor is not None:
                self._check(tensor, what, width)
        if isinstance(mask, (list, tuple)):
            mask = mask[1]
        elif self.mode == "association" and isinstance(inputs, (list, tuple)):
            mask = None
        beta = self.beta if self.beta is not None else 1.0 / float(np.sqrt(self.units))
        if self.mode == "lookup":
            keys = self.stored_keys
            values = self.stored_values if self.use_projections else keys
            queries = self._project(states, self.query_kernel)
            logits = beta * ops.matmul(queries, ops.transpose(keys))
            return ops.matmul(ops.softmax(logits, axis=-1), values)
        keys = self._project(stored, self.key_kernel)
        values = self._project(stored, self.value_kernel)
        if self.mode == "pooling":
            queries = ops.broadcast_to(
                self.state_patterns[None], (ops.shape(stored)[0], self.num_queries, self.units)
            )
        else:
            queries = self._project(states, self.query_kernel)
        logits = beta * ops.matmul(queries, ops.transpose(keys, (0, 2, 1)))
        if mask is not None and self.mode != "lookup":
            keep = ops.cast(mask, "bool")[:, None, :]
            logits = ops.where(keep, logits, ops.full_like(logits, -1e9))
        return ops.matmul(ops.softmax(logits, axis=-1), values)

    def compute_mask(self, inputs, mask=None):
        if self.mode == "pooling" or mask is None:
            return None
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape and \
                isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        units = self.units if self.units is not None else input_shape[-1]
        if self.mode == "pooling":
            return (input_shape[0], self.num_queries, units)
        return (input_shape[0], input_shape[1], units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units if self.use_projections else None,
                "mode": self.mode,
                "beta": self.beta,
                "num_queries": self.num_queries,
                "num_patterns": self.num_patterns,
                "use_projections": self.use_projections,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "seed": self.seed,
            }
        )
        return config
