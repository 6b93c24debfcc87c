"""The shared memory operations of the NTM and the DNC against plain NumPy loops.

Each NumPy reference below is written from the papers' equations, element by
element, independently of `rnnzoo.layers.memory_addressing`.
"""

import numpy as np
import pytest

from rnnzoo.layers import memory_addressing as mem

B, H, N, W = 2, 3, 6, 4
ATOL = 1e-5


def rng(seed=0):
    return np.random.default_rng(seed)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def np_content(memory, keys, strengths, eps=1e-6):
    out = np.zeros(keys.shape[:2] + (memory.shape[1],))
    for b in range(memory.shape[0]):
        for h in range(keys.shape[1]):
            sims = [
                keys[b, h] @ memory[b, i]
                / (np.linalg.norm(keys[b, h]) * np.linalg.norm(memory[b, i]) + eps)
                for i in range(memory.shape[1])
            ]
            out[b, h] = softmax(strengths[b, h, 0] * np.array(sims))
    return out


def np_shift(weights, shifts):
    n, radius = weights.shape[-1], shifts.shape[-1] // 2
    out = np.zeros_like(weights)
    for i in range(n):
        for k in range(shifts.shape[-1]):
            out[..., i] += shifts[..., k] * weights[..., (i - (k - radius)) % n]
    return out


def distributions(r, shape):
    z = r.random(shape)
    return z / z.sum(-1, keepdims=True)


def test_content_weights_match_reference_and_find_the_key():
    r = rng(1)
    memory = r.standard_normal((B, N, W)).astype("float32")
    keys = r.standard_normal((B, H, W)).astype("float32")
    strengths = r.uniform(0.5, 5.0, (B, H, 1)).astype("float32")
    np.testing.assert_allclose(
        mem.content_weights(memory, keys, strengths), np_content(memory, keys, strengths), atol=ATOL
    )
    # A key equal to a row (up to scale), with a large strength, picks that row.
    keys = 3.0 * memory[:, [4, 1, 0]]
    weights = np.asarray(mem.content_weights(memory, keys, np.full((B, H, 1), 100.0, "float32")))
    assert (weights.argmax(-1) == [[4, 1, 0]] * B).all()
    assert (weights.max(-1) > 0.99).all()


def test_interpolate_shift_and_sharpen_match_reference():
    r = rng(2)
    content, previous = distributions(r, (B, H, N)), distributions(r, (B, H, N))
    gate = r.random((B, H, 1))
    gated = gate * content + (1 - gate) * previous
    np.testing.assert_allclose(mem.interpolate(content, previous, gate), gated, atol=ATOL)
    for radius in (0, 1, 2):
        shifts = distributions(r, (B, H, 2 * radius + 1)).astype("float32")
        expected = np_shift(gated, shifts)
        np.testing.assert_allclose(
            mem.circular_shift(gated.astype("float32"), shifts), expected, atol=ATOL
        )
    gamma = r.uniform(1.0, 4.0, (B, H, 1))
    sharp = (expected + 1e-6) ** gamma
    sharp /= sharp.sum(-1, keepdims=True)
    np.testing.assert_allclose(
        mem.sharpen(expected.astype("float32"), gamma.astype("float32")), sharp, atol=ATOL
    )


def test_shift_by_one_moves_a_one_hot_weighting_circularly():
    weights = np.zeros((1, 1, N), "float32")
    weights[..., N - 1] = 1.0
    plus_one = np.array([[[0.0, 0.0, 1.0]]], "float32")  # offsets -1, 0, +1
    moved = np.asarray(mem.circular_shift(weights, plus_one))
    assert moved[0, 0].argmax() == 0 and moved[0, 0, 0] == 1.0  # wraps around


def test_erase_add_write_matches_reference_for_several_heads():
    r = rng(3)
    memory = r.standard_normal((B, N, W))
    weights, erase, add = distributions(r, (B, H, N)), r.random((B, H, W)), r.random((B, H, W))
    expected = memory.copy()
    for b in range(B):
        for i in range(N):
            for j in range(W):
                keep = np.prod([1 - weights[b, h, i] * erase[b, h, j] for h in range(H)])
                added = sum(weights[b, h, i] * add[b, h, j] for h in range(H))
                expected[b, i, j] = memory[b, i, j] * keep + added
    cast = [a.astype("float32") for a in (memory, weights, erase, add)]
    np.testing.assert_allclose(mem.write(*cast), expected, atol=ATOL)


def test_write_then_content_read_returns_the_written_vector():
    r = rng(4)
    memory = np.full((1, N, W), 1e-6, "float32")
    vector = np.sign(r.standard_normal((1, 1, W))).astype("float32")
    slot = np.zeros((1, 1, N), "float32")
    slot[..., 2] = 1.0
    memory = mem.write(memory, slot, np.ones((1, 1, W), "float32"), vector)
    weights = mem.content_weights(memory, vector, np.full((1, 1, 1), 50.0, "float32"))
    np.testing.assert_allclose(mem.read(memory, weights), vector, atol=1e-4)


def np_allocation(usage, eps=1e-6):
    """The paper's sort-based formula (stable sort, ascending usage)."""
    usage = eps + (1 - eps) * usage
    out = np.zeros_like(usage)
    for b in range(usage.shape[0]):
        order = np.argsort(usage[b], kind="stable")
        product = 1.0
        for j in order:
            out[b, j] = (1 - usage[b, j]) * product
            product *= usage[b, j]
    return out


@pytest.mark.parametrize("seed", [5, 6])
def test_allocation_matches_the_sort_based_formula(seed):
    r = rng(seed)
    usage = r.random((B, N)).astype("float32")
    usage[0, 3] = usage[0, 1]  # a tie: the smaller index is allocated first
    np.testing.assert_allclose(mem.allocation_weighting(usage), np_allocation(usage), atol=ATOL)


def test_allocation_picks_the_least_used_slot():
    usage = np.array([[0.9, 0.95, 0.0, 1.0, 0.5, 0.99]], "float32")
    allocation = np.asarray(mem.allocation_weighting(usage))
    assert allocation[0].argmax() == 2 and allocation[0, 2] > 0.99


def test_usage_retention_precedence_and_links_match_reference():
    r = rng(7)
    usage, previous_write = r.random((B, N)), distributions(r, (B, N)) * 0.8
    free, read_weights = r.random((B, H, 1)), distributions(r, (B, H, N))
    psi = np.ones((B, N))
    for h in range(H):
        psi *= 1 - free[:, h] * read_weights[:, h]
    np.testing.assert_allclose(mem.retention(free, read_weights), psi, atol=ATOL)
    new_usage = (usage + previous_write - usage * previous_write) * psi
    np.testing.assert_allclose(mem.update_usage(usage, previous_write, psi), new_usage, atol=ATOL)

    links, precedence = r.random((B, N, N)), distributions(r, (B, N)) * 0.9
    write = distributions(r, (B, N)) * 0.7
    expected = np.zeros_like(links)
    for b in range(B):
        for i in range(N):
            for j in range(N):
                if i != j:
                    expected[b, i, j] = (1 - write[b, i] - write[b, j]) * links[b, i, j] + write[
                        b, i
                    ] * precedence[b, j]
    np.testing.assert_allclose(mem.update_links(links, write, precedence), expected, atol=ATOL)
    new_precedence = (1 - write.sum(-1, keepdims=True)) * precedence + write
    np.testing.assert_allclose(
        mem.update_precedence(precedence, write), new_precedence, atol=ATOL
    )


def test_link_matrix_orders_writes_forward_and_backward():
    order = [3, 0, 5, 1]  # slots written one after another
    links = np.zeros((1, N, N), "float32")
    precedence = np.zeros((1, N), "float32")
    for slot in order:
        write = np.eye(N, dtype="float32")[slot][None]
        links = mem.update_links(links, write, precedence)
        precedence = mem.update_precedence(precedence, write)
    for before, after in zip(order[:-1], order[1:]):
        at = np.eye(N, dtype="float32")[before][None, None]
        forward, _ = mem.directional_weights(links, at)
        np.testing.assert_allclose(forward[0, 0], np.eye(N)[after], atol=ATOL)
        at = np.eye(N, dtype="float32")[after][None, None]
        _, backward = mem.directional_weights(links, at)
        np.testing.assert_allclose(backward[0, 0], np.eye(N)[before], atol=ATOL)


def test_content_addressing_of_a_zero_memory_has_finite_gradients():
    import tensorflow as tf

    memory = tf.Variable(np.zeros((1, N, W), "float32"))
    keys = tf.Variable(np.zeros((1, 1, W), "float32"))
    with tf.GradientTape() as tape:
        weights = mem.content_weights(memory, keys, tf.ones((1, 1, 1)))
        loss = tf.reduce_sum(weights * tf.range(N, dtype="float32"))
    np.testing.assert_allclose(weights, np.full((1, 1, N), 1.0 / N), atol=1e-6)
    for grad in tape.gradient(loss, [memory, keys]):
        assert np.all(np.isfinite(grad))
