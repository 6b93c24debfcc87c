"""Recursive networks over trees: the recursive neural network and the RNTN.

Both layers read a batch of trees in the post-ordered node encoding of
`rnnzoo.data.tree_encoding` (children before parents, padding after the last
real node) and compute one state per node, children first, in a single pass
over the node positions. They are not step-wise `keras.layers.RNN` layers:
the recurrence runs over the tree's structure, not over time.

Input contract (integer arrays, batch first, M = max_nodes):

- `tokens` (batch, M): the token id of every node, in `[0, vocabulary_size)`;
- `left`, `right` (batch, M): the index of the node's first and second child,
  -1 for none (a leaf has both -1, a unary node has only `left`); every child
  index lies below its parent's index (topological order);
- `node_mask` (batch, M), optional: True (or 1) on real nodes, a prefix of
  each row; without it every position is a real node.

Pass them as a list `[tokens, left, right]` / `[tokens, left, right,
node_mask]` or as a dict with those keys (the dict `encode_trees` returns;
its other keys `node_values`, `root` and `num_nodes` are ignored: the root is
the last real node, where `encode_trees` puts it).

What is checked: the structure, rank 2, integer dtypes (booleans also for the
mask) and equal shapes, always (when the layer is built or called); the
values (token ids in range, child indices in `[-1, own index)`, real nodes
only referring to real nodes, the mask a non-empty prefix) only for concrete
(eager) inputs, since a traced graph cannot look at them. In a traced graph
a child index that is out of range, or not below its parent's, reads a zero
vector instead of failing.
"""

import keras
import numpy as np
from keras import ops

from rnnzoo.layers.base import check_positive_int, counted_loop, zoo_layer

_KEYS = ("tokens", "left", "right", "node_mask")
_IGNORED_KEYS = ("node_values", "root", "num_nodes")


def _concrete(value):
    """The NumPy value of an eager tensor or array; None for a symbolic one."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, keras.KerasTensor):
        return None
    try:
        return np.asarray(keras.ops.convert_to_numpy(value))
    except Exception:  # a symbolic backend tensor inside a traced function
        return None


class _TreeComposition(keras.layers.Layer):
    """Shared machinery of the tree layers: arguments, input checks, the node loop."""

    def __init__(
        self,
        units,
        vocabulary_size,
        activation="tanh",
        use_bias=True,
        return_nodes=False,
        embeddings_initializer="uniform",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        embeddings_regularizer=None,
        kernel_regularizer=None,
        bias_regularizer=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = check_positive_int(owner, "units", units)
        self.vocabulary_size = check_positive_int(owner, "vocabulary_size", vocabulary_size)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"Received an invalid value for argument `seed` of {owner}, "
                f"expected an integer or None, got {seed!r}."
            )
        self.seed = seed
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.return_nodes = bool(return_nodes)
        self.initializers = {
            "embeddings": keras.initializers.get(embeddings_initializer),
            "kernel": keras.initializers.get(kernel_initializer),
            "bias": keras.initializers.get(bias_initializer),
        }
        self.regularizers = {
            "embeddings": keras.regularizers.get(embeddings_regularizer),
            "kernel": keras.regularizers.get(kernel_regularizer),
            "bias": keras.regularizers.get(bias_regularizer),
        }
        self._seed_offset = 0

    # ----------------------------------------------------------------- weights

    def _add(self, name, shape, role, initializer=None):
        initializer = self.initializers[role] if initializer is None else initializer
        if self.seed is not None and "seed" in initializer.get_config():
            self._seed_offset += 1
            config = dict(initializer.get_config(), seed=self.seed * 1000 + self._seed_offset)
            initializer = initializer.__class__.from_config(config)
        return self.add_weight(shape=shape, name=name, initializer=initializer,
                               regularizer=self.regularizers[role])

    def build(self, input_shape=None):
        if input_shape is not None:
            self._check_shapes(self._unpack(input_shape, shapes=True))
        self._seed_offset = 0
        u = self.units
        self.embeddings = self._add("embeddings", (self.vocabulary_size, u), "embeddings")
        self.kernel = self._add("kernel", (2 * u, u), "kernel")
        self.bias = self._add("bias", (u,), "bias") if self.use_bias else None
        self._build_extra()

    def _build_extra(self):
        pass

    # ------------------------------------------------------------------ inputs

    def _owner(self):
        return f"layer '{self.name}' ({type(self).__name__})"

    def _unpack(self, inputs, shapes=False):
        """(tokens, left, right, node_mask or None) from a list or dict."""
        what = "shapes" if shapes else "inputs"
        expected = ("a list [tokens, left, right] or [tokens, left, right, node_mask], or a "
                    "dict with keys 'tokens', 'left', 'right' and optionally 'node_mask'")
        if isinstance(inputs, dict):
            unknown = sorted(set(inputs) - set(_KEYS) - set(_IGNORED_KEYS))
            missing = [k for k in _KEYS[:3] if k not in inputs]
            if unknown or missing:
                raise ValueError(
                    f"Input of {self._owner()} must be {expected}; got a dict with keys "
                    f"{sorted(inputs)} (missing {missing}, unknown {unknown}).")
            return tuple(inputs.get(k) for k in _KEYS)
        if isinstance(inputs, (list, tuple)) and len(inputs) in (3, 4) and not (
                shapes and all(d is None or isinstance(d, int) for d in inputs)):
            parts = list(inputs)
            return tuple(parts) + ((None,) if len(parts) == 3 else ())
        got = f"{len(inputs)} {what}" if isinstance(inputs, (list, tuple)) else (
            f"a single tensor of shape {tuple(getattr(inputs, 'shape', ()))}")
        raise ValueError(f"Input of {self._owner()} must be {expected}; got {got}.")

    def _check_shapes(self, shapes):
        tokens = shapes[0]
        for key, shape in zip(_KEYS, shapes):
            if shape is None:
                continue
            shape = tuple(shape)
            if len(shape) != 2:
                raise ValueError(
                    f"Input `{key}` of {self._owner()} must be 2-D (batch, max_nodes), got "
                    f"a {len(shape)}-D input with shape {shape}.")
            if any(a is not None and b is not None and a != b
                   for a, b in zip(shape, tuple(tokens))):
                raise ValueError(
                    f"Inputs of {self._owner()} must share one shape (batch, max_nodes); "
                    f"`tokens` has shape {tuple(tokens)}, `{key}` has shape {shape}.")
            if shape[1] == 0:
                raise ValueError(
                    f"Input `{key}` of {self._owner()} has no nodes (shape {shape}); "
                    "expected max_nodes >= 1.")

    def _check_dtypes(self, parts):
        for key, value in zip(_KEYS, parts):
            if value is None:
                continue
            dtype = keras.backend.standardize_dtype(value.dtype)
            allowed = "int" in dtype or (key == "node_mask" and dtype == "bool")
            if not allowed:
                kind = "integer or boolean" if key == "node_mask" else "integer"
                raise ValueError(
                    f"Input `{key}` of {self._owner()} must have an {kind} dtype, got "
                    f"dtype {dtype}.")

    def _check_values(self, parts):
        values = [None if p is None else _concrete(p) for p in parts]
        if any(v is None for v, p in zip(values, parts) if p is not None):
            return  # symbolic inputs: a traced graph cannot look at the values
        tokens, left, right, mask = values
        m = tokens.shape[1]
        mask = np.ones(tokens.shape, bool) if mask is None else mask.astype(bool)
        owner = self._owner()
        bad = (tokens < 0) | (tokens >= self.vocabulary_size)
        if np.any(bad & mask):
            b, i = np.argwhere(bad & mask)[0]
            raise ValueError(
                f"Input `tokens` of {owner} must hold ids in [0, vocabulary_size="
                f"{self.vocabulary_size}), got {int(tokens[b, i])} at tree {b}, node {i}.")
        counts = mask.sum(axis=1)
        prefix = np.arange(m)[None, :] < counts[:, None]
        if np.any(mask != prefix) or np.any(counts == 0):
            b = int(np.argwhere(np.any(mask != prefix, axis=1) | (counts == 0))[0, 0])
            raise ValueError(
                f"Input `node_mask` of {owner} must mark a non-empty prefix of real nodes "
                f"in every tree, got {mask[b].astype(int).tolist()} for tree {b}.")
        position = np.arange(m)[None, :]
        for key, child in (("left", left), ("right", right)):
            wrong = mask & ((child < -1) | (child >= position))
            if np.any(wrong):
                b, i = np.argwhere(wrong)[0]
                raise ValueError(
                    f"Input `{key}` of {owner} must hold child indices in [-1, {i}) for "
                    f"node {i} (-1 for none; children come before their parent), got "
                    f"{int(child[b, i])} at tree {b}, node {i}.")

    # ------------------------------------------------------------------- call

    def _compose(self, children, token_vectors):
        """Pre-activation of internal nodes from `[c_left; c_right]` (batch, 2 units)."""
        pre = ops.matmul(children, self.kernel) + token_vectors
        if self.use_bias:
            pre = pre + self.bias
        return pre

    def call(self, inputs, training=None):
        parts = self._unpack(inputs)
        self._check_shapes([None if p is None else p.shape for p in parts])
        self._check_dtypes(parts)
        self._check_values(parts)
        tokens, left, right, mask = parts
        dtype = self.compute_dtype
        tokens = ops.cast(tokens, "int32")
        left = ops.cast(left, "int32")
        right = ops.cast(right, "int32")
        size = tokens.shape[1] if tokens.shape[1] is not None else ops.shape(tokens)[1]
        if mask is None:
            mask = ops.ones_like(tokens, dtype=dtype)
        else:
            mask = ops.cast(ops.cast(mask, "bool"), dtype)
        vectors = ops.take(self.embeddings, ops.clip(tokens, 0, self.vocabulary_size - 1),
                           axis=0)
        vectors = ops.cast(vectors, dtype)
        leaf = ops.cast(ops.logical_and(left < 0, right < 0), dtype)
        # One-hot rows select a child's state by a matrix product; -1 (and any
        # index outside [0, size)) selects nothing, i.e. a zero vector.
        pick_left = ops.one_hot(left, size, dtype=dtype)
        pick_right = ops.one_hot(right, size, dtype=dtype)
        positions = ops.arange(size, dtype="int32")
        batch = ops.shape(tokens)[0]
        states = ops.zeros((batch, size, self.units), dtype=dtype)

        def step(i, states):
            c_left = ops.matmul(ops.take(pick_left, i, axis=1)[:, None, :], states)[:, 0]
            c_right = ops.matmul(ops.take(pick_right, i, axis=1)[:, None, :], states)[:, 0]
            vector = ops.take(vectors, i, axis=1)
            is_leaf = ops.take(leaf, i, axis=1)[:, None]
            composed = self.activation(self._compose(
                ops.concatenate([c_left, c_right], axis=-1), vector))
            h = (is_leaf * vector + (1.0 - is_leaf) * composed) * ops.take(mask, i, axis=1)[:, None]
            here = ops.cast(ops.equal(positions, i), dtype)[None, :, None]
            return states + here * h[:, None, :]

        states = counted_loop(size, step, states)
        root = ops.cast(ops.sum(mask, axis=1), "int32") - 1
        root_state = ops.matmul(ops.one_hot(root, size, dtype=dtype)[:, None, :], states)[:, 0]
        if self.return_nodes:
            return states, root_state
        return root_state

    def compute_output_shape(self, input_shape):
        tokens = tuple(self._unpack(input_shape, shapes=True)[0])
        root = (tokens[0], self.units)
        if self.return_nodes:
            return (tokens[0], tokens[1], self.units), root
        return root

    def compute_output_spec(self, inputs, training=None):
        parts = self._unpack(inputs)
        self._check_shapes([None if p is None else p.shape for p in parts])
        self._check_dtypes(parts)
        shape = tuple(parts[0].shape)
        root = keras.KerasTensor((shape[0], self.units), dtype=self.compute_dtype)
        if self.return_nodes:
            nodes = keras.KerasTensor((shape[0], shape[1], self.units), dtype=self.compute_dtype)
            return nodes, root
        return root

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "vocabulary_size": self.vocabulary_size,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "return_nodes": self.return_nodes,
            "seed": self.seed,
        })
        for role in ("embeddings", "kernel", "bias"):
            config[f"{role}_initializer"] = keras.initializers.serialize(self.initializers[role])
            config[f"{role}_regularizer"] = keras.regularizers.serialize(self.regularizers[role])
        return config


@zoo_layer("recursive")
class Recursive(_TreeComposition):
    """Recursive neural network: one composition function applied over a tree.

    Every node of a binary (or unary) tree gets a state of `units` values,
    computed from its children's states, children first (post-order):

        leaf:            h_i = e(token_i)
        internal node:   h_i = activation(W [h_left(i); h_right(i)] + b + e(token_i))

    `e` is a learned token embedding (vocabulary_size, units), `W` the
    (2 units, units) composition kernel shared by every node; a missing child
    (a unary node's right child) is a zero vector. The token term lets an
    internal node's label (an operator such as `and`, `+`) steer the
    composition; trees with unlabelled internal nodes give them one fixed token
    and it acts as a second bias. Padding nodes get a zero state.

    Args:
        units: int, the size of every node state.
        vocabulary_size: int, the number of token ids (ids lie in
            `[0, vocabulary_size)`).
        activation: default `"tanh"`.
        use_bias: bool, default `True`.
        return_nodes: bool, default `False`: return the root state only;
            `True`: return `(node_states, root_state)`.
        embeddings_initializer: default `"uniform"`.
        kernel_initializer: default `"glorot_uniform"`.
        bias_initializer: default `"zeros"`.
        embeddings_regularizer, kernel_regularizer, bias_regularizer: default
            None.
        seed: optional int; the same seed draws the same weights.

    Call arguments:
        inputs: `[tokens, left, right]`, `[tokens, left, right, node_mask]` or a
            dict with those keys (see `rnnzoo.layers.recursive` and
            `rnnzoo.data.tree_encoding.encode_trees`).
        training: unused.

    Input shape: each part `(batch, max_nodes)`, integers (the mask may be
    boolean). Output shape: `(batch, units)` (the root state; the root is the
    last real node); with `return_nodes=True` also `(batch, max_nodes, units)`
    before it, zero on padding nodes.

    Example:

    >>> from rnnzoo.data import tree_encoding
    >>> enc = tree_encoding.encode_trees(["(and T (not F))", "(or F T)"])
    >>> layer = Recursive(8, vocabulary_size=len(tree_encoding.VOCABULARY),
    ...                   return_nodes=True, seed=0)
    >>> nodes, root = layer(enc)
    >>> tuple(nodes.shape), tuple(root.shape)
    ((2, 4, 8), (2, 8))

    References:
        Goller, C., Kuechler, A. (1996). Learning task-dependent distributed
        representations by backpropagation through structure. ICNN 1996.
        Socher, R., Lin, C. C., Ng, A. Y., Manning, C. D. (2011). Parsing
        natural scenes and natural language with recursive neural networks.
        ICML 2011.
    """


@zoo_layer("rntn")
class RNTN(_TreeComposition):
    """Recursive neural tensor network: a bilinear tensor term in the composition.

    As `Recursive`, with a quadratic interaction of the two children added
    (Socher et al. 2013, eq. for the RNTN), for `x = [h_left(i); h_right(i)]`:

        leaf:            h_i = e(token_i)
        internal node:   h_i = activation(x^T V^[1:units] x + W x + b + e(token_i))

    where slice `k` of the tensor `V` (2 units, 2 units, units) gives output
    unit `k`: `(x^T V^[1:units] x)_k = sum_ij x_i V[i, j, k] x_j`. The tensor
    lets one child multiplicatively change how the other is read.

    Args:
        units, vocabulary_size, activation, use_bias, return_nodes,
            embeddings_initializer, kernel_initializer, bias_initializer,
            embeddings_regularizer, kernel_regularizer, bias_regularizer, seed:
            as in `Recursive`.
        tensor_initializer: default `RandomUniform(-1 / (4 units), 1 / (4 units))`,
            small, so that training starts near the plain recursive network.
        tensor_regularizer: default None.

    Call arguments, input and output shapes: as in `Recursive`.

    Example:

    >>> from rnnzoo.data import tree_encoding
    >>> enc = tree_encoding.encode_trees(["(xor T F)", "(not (and T T))"])
    >>> layer = RNTN(4, vocabulary_size=len(tree_encoding.VOCABULARY), seed=0)
    >>> tuple(layer(enc).shape)  # one root state per tree
    (2, 4)

    Reference:
        Socher, R., Perelygin, A., Wu, J., Chuang, J., Manning, C. D., Ng, A.,
        Potts, C. (2013). Recursive deep models for semantic compositionality
        over a sentiment treebank. EMNLP 2013.
    """

    def __init__(self, units, vocabulary_size, tensor_initializer=None,
                 tensor_regularizer=None, **kwargs):
        super().__init__(units, vocabulary_size, **kwargs)
        if tensor_initializer is None:
            scale = 1.0 / (4.0 * self.units)
            tensor_initializer = keras.initializers.RandomUniform(-scale, scale)
        self.initializers["tensor"] = keras.initializers.get(tensor_initializer)
        self.regularizers["tensor"] = keras.regularizers.get(tensor_regularizer)

    def _build_extra(self):
        u = self.units
        self.tensor_kernel = self._add("tensor_kernel", (2 * u, 2 * u, u), "tensor")

    def _compose(self, children, token_vectors):
        u = self.units
        pairs = ops.reshape(ops.matmul(children, ops.reshape(self.tensor_kernel,
                                                             (2 * u, 2 * u * u))),
                            (-1, 2 * u, u))
        bilinear = ops.sum(pairs * children[:, :, None], axis=1)
        return super()._compose(children, token_vectors) + bilinear

    def get_config(self):
        config = super().get_config()
        config["tensor_initializer"] = keras.initializers.serialize(self.initializers["tensor"])
        config["tensor_regularizer"] = keras.regularizers.serialize(self.regularizers["tensor"])
        return config
