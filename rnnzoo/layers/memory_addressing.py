"""External-memory operations shared by the NTM and the DNC: pure `keras.ops` functions.

Shapes use `B` for the batch, `H` for a number of heads, `N` for the memory
rows (slots) and `W` for the memory width (the size of a row):

- memory `(B, N, W)`; head weightings `(B, H, N)`; keys, erase and add
  vectors `(B, H, W)`; per-head scalars (strengths, gates, sharpening) `(B, H, 1)`.

Every function is differentiable and uses only ops that TFLite has as builtins
(matmul, softmax, slices and concatenation, select, product reduction), so a
model using them exports without Flex ops. In particular the DNC's allocation
weighting is computed without a sort (see `allocation_weighting`).

Example:

>>> import numpy as np
>>> memory = np.eye(3, 4, dtype="float32")[None]          # (1, 3, 4)
>>> w = content_weights(memory, memory[:, 1:2], np.full((1, 1, 1), 50.0, "float32"))
>>> tuple(w.shape), int(np.argmax(w[0, 0]))
((1, 1, 3), 1)

References:
    Graves, A., Wayne, G. & Danihelka, I. (2014). Neural Turing machines.
    arXiv:1410.5401, section 3.
    Graves, A., Wayne, G., Reynolds, M. et al. (2016). Hybrid computing using a
    neural network with dynamic external memory. Nature 538, Methods.
"""

from keras import ops

EPSILON = 1e-6


def cosine_similarity(memory, keys, epsilon=EPSILON):
    """Cosine similarity of every key with every memory row.

    `K(k, M_i) = k . M_i / (|k| |M_i| + epsilon)` with `|v| = sqrt(v . v + epsilon^2)`;
    a zero row has similarity 0, and a finite gradient.

    Args:
        memory: `(B, N, W)`.
        keys: `(B, H, W)`.

    Returns:
        `(B, H, N)`.
    """
    dots = ops.matmul(keys, ops.transpose(memory, (0, 2, 1)))
    # epsilon^2 under the roots: the gradient of sqrt is infinite at 0, and a
    # DNC memory starts all zero (the norms change by at most epsilon).
    tiny = epsilon * epsilon
    key_norms = ops.sqrt(ops.sum(ops.square(keys), axis=-1, keepdims=True) + tiny)
    row_norms = ops.sqrt(ops.sum(ops.square(memory), axis=-1) + tiny)[:, None, :]
    return dots / (key_norms * row_norms + epsilon)


def content_weights(memory, keys, strengths, epsilon=EPSILON):
    """Content addressing: a softmax over rows of the key strength times the similarity.

    `w_i = exp(beta K(k, M_i)) / sum_j exp(beta K(k, M_j))` (NTM eq. 5, DNC eq. 3).

    Args:
        memory: `(B, N, W)`.
        keys: `(B, H, W)`.
        strengths: `(B, H, 1)`, the key strengths `beta >= 0` (larger is sharper).

    Returns:
        `(B, H, N)`, each row summing to 1.
    """
    return ops.softmax(strengths * cosine_similarity(memory, keys, epsilon), axis=-1)


def interpolate(content, previous, gate):
    """The interpolation gate: `w_g = g w_c + (1 - g) w_{t-1}` (NTM eq. 7).

    Args:
        content, previous: `(B, H, N)`; gate: `(B, H, 1)` in [0, 1].
    """
    return gate * content + (1.0 - gate) * previous


def circular_shift(weights, shifts):
    """Circular convolution of each weighting with its shift distribution (NTM eq. 8).

    `w~_i = sum_s s_s w_{(i - s) mod N}` for the offsets `s = -r .. r`, where
    `shifts[..., k]` is the probability of offset `k - r`. A weighting
    concentrated on row `i` with all shift mass on offset `+1` moves to row
    `i + 1` (mod N). Built from slices and concatenations (no gather, no roll).

    Args:
        weights: `(B, H, N)`.
        shifts: `(B, H, 2 r + 1)`, each a distribution over the offsets; `2 r + 1 <= N`.

    Returns:
        `(B, H, N)`.
    """
    n = weights.shape[-1]
    count = shifts.shape[-1]
    radius = count // 2
    result = None
    for k in range(count):
        offset = (k - radius) % n
        # Row i takes the weight of row i - offset: a roll to the right by `offset`.
        if offset == 0:
            rolled = weights
        else:
            rolled = ops.concatenate([weights[..., n - offset:], weights[..., : n - offset]], -1)
        term = shifts[..., k : k + 1] * rolled
        result = term if result is None else result + term
    return result


def sharpen(weights, gamma, epsilon=EPSILON):
    """Sharpening: `w_i = w~_i^gamma / sum_j w~_j^gamma` with `gamma >= 1` (NTM eq. 9).

    `epsilon` keeps the power finite for zero weights (its gradient too).

    Args:
        weights: `(B, H, N)`, non-negative; gamma: `(B, H, 1)`.
    """
    powered = ops.exp(gamma * ops.log(weights + epsilon))
    return powered / ops.sum(powered, axis=-1, keepdims=True)


def read(memory, weights):
    """Weighted reads `r = sum_i w_i M_i` (NTM eq. 2), one vector per head.

    Args:
        memory: `(B, N, W)`; weights: `(B, H, N)`.

    Returns:
        `(B, H, W)`.
    """
    return ops.matmul(weights, memory)


def write(memory, weights, erase, add):
    """Erase then add, for any number of write heads (NTM eqs. 3-4, DNC eq. 1).

    `M~ = M * prod_h (1 - w_h e_h^T)`, then `M = M~ + sum_h w_h a_h^T`: the
    erasures of all heads commute (a product), so do the additions (a sum).

    Args:
        memory: `(B, N, W)`.
        weights: `(B, H, N)`.
        erase: `(B, H, W)` in [0, 1]; add: `(B, H, W)`.

    Returns:
        The new memory `(B, N, W)`.
    """
    # (B, H, N, W): what each head keeps of each cell.
    keep = 1.0 - weights[..., :, None] * erase[..., None, :]
    kept = memory * ops.prod(keep, axis=1)
    return kept + ops.matmul(ops.transpose(weights, (0, 2, 1)), add)


# ------------------------------------------------------------------------ DNC


def retention(free_gates, read_weights):
    """Memory retention `psi = prod_i (1 - f_i w^r_{t-1,i})` (DNC eq. 6).

    Args:
        free_gates: `(B, R, 1)` in [0, 1]; read_weights: `(B, R, N)`.

    Returns:
        `(B, N)`.
    """
    return ops.prod(1.0 - free_gates * read_weights, axis=1)


def update_usage(usage, write_weights, psi):
    """Usage `u_t = (u + w^w - u * w^w) * psi` (DNC eq. 7).

    Args:
        usage, psi: `(B, N)`; write_weights: the previous step's `(B, N)`.
    """
    return (usage + write_weights - usage * write_weights) * psi


def allocation_weighting(usage, epsilon=EPSILON):
    """The allocation weighting of the DNC (eq. 8), without a sort.

    With the slots sorted by increasing usage `phi`,
    `a_{phi_j} = (1 - u_{phi_j}) prod_{i < j} u_{phi_i}`. Here the product for
    slot `j` runs over every slot `k` that sorts before it (smaller usage, or
    equal usage and a smaller index: the stable order), selected by an
    `N x N` comparison. The result equals the sort-based formula; like it, the
    gradient flows through the usage values but not through the ordering. It
    needs only comparisons, select and a product reduction, which TFLite has
    as builtins (a sort would need TOPK_V2 plus gathers). Cost `O(N^2)`, the
    same order as the link matrix.

    As in the paper's reference code, usage is first mapped to
    `epsilon + (1 - epsilon) u` so that a fully used memory still allocates.

    Args:
        usage: `(B, N)` in [0, 1].

    Returns:
        `(B, N)`; it sums to at most 1, and to nearly 1 when some slot is free.
    """
    usage = epsilon + (1.0 - epsilon) * usage
    n = usage.shape[-1]
    other = usage[:, :, None]  # u_k along axis 1
    this = usage[:, None, :]  # u_j along axis 2
    index = ops.arange(n)
    earlier_index = ops.less(index[:, None], index[None, :])  # k < j
    before = ops.logical_or(
        ops.less(other, this), ops.logical_and(ops.equal(other, this), earlier_index[None])
    )
    products = ops.prod(ops.where(before, other, ops.ones_like(other)), axis=1)
    return (1.0 - usage) * products


def update_precedence(precedence, write_weights):
    """Precedence `p_t = (1 - sum_i w^w_i) p_{t-1} + w^w` (DNC eq. 9). `(B, N)` each."""
    return (1.0 - ops.sum(write_weights, axis=-1, keepdims=True)) * precedence + write_weights


def update_links(links, write_weights, precedence):
    """Temporal links `L_t[i, j] = (1 - w_i - w_j) L[i, j] + w_i p_{t-1, j}`, `L[i, i] = 0`.

    (DNC eq. 10.) `L[i, j]` is the degree to which slot `i` was written right
    after slot `j`.

    Args:
        links: `(B, N, N)`; write_weights: `(B, N)` of this step;
        precedence: `(B, N)` of the previous step.

    Returns:
        `(B, N, N)`.
    """
    n = write_weights.shape[-1]
    w_i = write_weights[:, :, None]
    w_j = write_weights[:, None, :]
    new = (1.0 - w_i - w_j) * links + w_i * precedence[:, None, :]
    return new * (1.0 - ops.eye(n, dtype=links.dtype))[None]


def directional_weights(links, read_weights):
    """Forward `f = L w^r` and backward `b = L^T w^r` weightings (DNC eqs. 11-12).

    Forward moves each read head to the slot written right after the one it
    read; backward to the one written right before.

    Args:
        links: `(B, N, N)`; read_weights: `(B, R, N)` of the previous step.

    Returns:
        `(forward, backward)`, each `(B, R, N)`.
    """
    forward = ops.matmul(read_weights, ops.transpose(links, (0, 2, 1)))
    backward = ops.matmul(read_weights, links)
    return forward, backward
