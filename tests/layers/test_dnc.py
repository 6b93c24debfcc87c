"""DNC layer: full steps against an independent NumPy DNC, allocation and links in the cell.

Shapes, masking, save/load and export are covered by `test_conformance.py`;
the memory operations one by one by `test_memory_addressing.py`.
"""

import numpy as np
import pytest

from rnnzoo.layers import DNC, DNCCell
from tests.layers.test_memory_addressing import np_allocation, np_content
from tests.layers.test_ntm import random_weights, sigmoid, softmax, softplus

pytestmark = pytest.mark.usefixtures("keras_seed")

B, T, F, UNITS, CU = 2, 6, 3, 4, 5
N, W, R = 6, 3, 2


def np_dnc(x, p, start):
    """A plain float64 DNC loop (Graves et al. 2016, Methods), dense controller."""
    memory, usage, links, precedence, read_w, write_w, reads = (
        np.array(start[key], "float64") for key in STATE_KEYS
    )
    outputs, allocations = [], []
    for t in range(T):
        h = np.tanh(np.concatenate([x[:, t], reads], -1) @ p["controller_kernel"]
                    + p["controller_bias"])
        iface = h @ p["interface_kernel"] + p["interface_bias"]
        write_key, write_beta = iface[:, :W], 1 + softplus(iface[:, W])
        erase, vector = sigmoid(iface[:, W + 1 : 2 * W + 1]), iface[:, 2 * W + 1 : 3 * W + 1]
        alloc_gate, write_gate = sigmoid(iface[:, 3 * W + 1]), sigmoid(iface[:, 3 * W + 2])
        heads = iface[:, 3 * W + 3 :].reshape(B, R, W + 5)
        read_keys, read_beta = heads[..., :W], 1 + softplus(heads[..., W])
        free, modes = sigmoid(heads[..., W + 1]), softmax(heads[..., W + 2 :])

        psi = np.prod(1 - free[..., None] * read_w, axis=1)
        usage = (usage + write_w - usage * write_w) * psi
        allocation = np_allocation(usage)
        allocations.append(allocation)
        content = np_content(memory, write_key[:, None], write_beta[:, None, None])[:, 0]
        write_w = write_gate[:, None] * (alloc_gate[:, None] * allocation
                                         + (1 - alloc_gate[:, None]) * content)
        memory = memory * (1 - write_w[:, :, None] * erase[:, None, :]) + (
            write_w[:, :, None] * vector[:, None, :]
        )
        new_links = np.zeros_like(links)
        for i in range(N):
            for j in range(N):
                if i != j:
                    new_links[:, i, j] = ((1 - write_w[:, i] - write_w[:, j]) * links[:, i, j]
                                          + write_w[:, i] * precedence[:, j])
        links = new_links
        precedence = (1 - write_w.sum(-1, keepdims=True)) * precedence + write_w
        forward = np.einsum("bij,brj->bri", links, read_w)
        backward = np.einsum("bij,bri->brj", links, read_w)
        content = np_content(memory, read_keys, read_beta[..., None])
        read_w = modes[..., 0:1] * backward + modes[..., 1:2] * content + modes[..., 2:3] * forward
        reads = np.einsum("brn,bnw->brw", read_w, memory).reshape(B, -1)
        y = np.concatenate([h, reads], -1) @ p["output_kernel"] + p["output_bias"]
        outputs.append(np.tanh(y))
    return np.stack(outputs, 1), dict(memory=memory, usage=usage, links=links,
                                      precedence=precedence, reads=reads)


STATE_KEYS = ("memory", "usage", "links", "precedence", "read_w", "write_w", "reads")


def random_start(rng):
    """A start without ties in usage or memory: from an all-zero start, unused slots
    tie exactly in float64 but only nearly in float32, and the allocation order of
    near-ties is decided by rounding."""
    read_w = rng.random((B, R, N))
    return {
        "memory": rng.normal(0.0, 0.5, (B, N, W)),
        "usage": rng.uniform(0.0, 0.9, (B, N)),
        "links": rng.uniform(0.0, 0.1, (B, N, N)) * (1 - np.eye(N)),
        "precedence": rng.uniform(0.0, 0.1, (B, N)),
        "read_w": read_w / read_w.sum(-1, keepdims=True),
        "write_w": rng.uniform(0.0, 0.1, (B, N)),
        "reads": rng.normal(0.0, 0.5, (B, R * W)),
    }


def test_full_steps_match_numpy_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, F)).astype("float32")
    start = random_start(rng)
    initial_state = [start[k].reshape(B, -1).astype("float32") for k in STATE_KEYS]
    layer = DNC(UNITS, memory_rows=N, memory_width=W, num_read_heads=R, controller="dense",
                controller_units=CU, return_sequences=True, return_state=True)
    layer.build((None, None, F))
    # Moderate weights: usage stays away from 1, where float32 rounding could tie
    # two slots that float64 orders (and allocate them in the other order).
    params = random_weights(layer.cell, rng, scale=0.3)
    outputs, memory, usage, links, precedence, _, _, reads = layer(
        x, initial_state=initial_state
    )
    start = {k: v.reshape(start[k].shape) for k, v in zip(STATE_KEYS, initial_state)}
    expected, final = np_dnc(x.astype("float64"), params, start)
    np.testing.assert_allclose(outputs, expected, atol=1e-5)
    np.testing.assert_allclose(memory, final["memory"].reshape(B, -1), atol=1e-5)
    np.testing.assert_allclose(usage, final["usage"], atol=1e-5)
    np.testing.assert_allclose(links, final["links"].reshape(B, -1), atol=1e-5)
    np.testing.assert_allclose(precedence, final["precedence"], atol=1e-5)
    np.testing.assert_allclose(reads, final["reads"], atol=1e-5)


def forced_cell(write_vector_scale=1.0):
    """A dense-controller DNC cell whose interface is a fixed bias (kernels zero):
    write gate and allocation gate fully open, erase all, free gates closed,
    read mode `forward`, so each step writes the input into a fresh slot."""
    cell = DNCCell(W, memory_rows=N, memory_width=W, num_read_heads=1, controller="dense",
                   controller_units=W)
    cell.build((None, W))
    for weight in cell.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    # The controller copies the input: h = tanh(x); the write vector is h.
    cell.controller_kernel.assign(np.vstack([np.eye(W), np.zeros((W, W))]).astype("float32"))
    bias = np.zeros(cell.interface_size, "float32")
    kernel = np.zeros((W, cell.interface_size), "float32")
    kernel[:, 2 * W + 1 : 3 * W + 1] = np.eye(W) * write_vector_scale  # write vector
    bias[W + 1 : 2 * W + 1] = 20.0  # erase everything in the written slot
    bias[3 * W + 1] = 20.0  # allocation gate
    bias[3 * W + 2] = 20.0  # write gate
    start = 3 * W + 3
    bias[start + W + 1] = -20.0  # free gate closed
    bias[start + W + 2 : start + W + 5] = [-20.0, -20.0, 20.0]  # read forward
    cell.interface_kernel.assign(kernel)
    cell.interface_bias.assign(bias)
    return cell


def test_allocation_writes_fill_the_least_used_slots():
    cell = forced_cell()
    states = [np.zeros((1, s), "float32") for s in cell.state_size]
    slots = []
    for step in range(4):
        x = np.eye(W, dtype="float32")[step % W][None]
        _, states = cell(x, states)
        # states[1] is u_t, the usage this step's allocation was computed from.
        usage, write_w = np.asarray(states[1])[0], np.asarray(states[5])[0]
        assert write_w.max() > 0.99
        # Least used after the allocation's `eps + (1 - eps) u` map (in float32,
        # where the tiny usages of untouched slots tie; ties go to the lowest index).
        mapped = np.float32(1e-6) + np.float32(1 - 1e-6) * usage
        assert write_w.argmax() == mapped.argmin()
        slots.append(int(write_w.argmax()))
    assert slots[0] == 0  # all free: ties go to the lowest index
    assert len(set(slots)) == 4  # a used slot is never taken again
    usage = np.asarray(cell(x, states)[1][1])[0]
    assert np.all(usage[slots] > 0.99)


def test_forward_read_after_reading_slot_i_gives_slot_i_plus_one():
    cell = forced_cell(write_vector_scale=3.0)
    states = [np.zeros((1, s), "float32") for s in cell.state_size]
    vectors = np.eye(W, dtype="float32")
    written = []
    for step in range(W):
        _, states = cell(vectors[step][None], states)
        written.append(int(np.asarray(states[5])[0].argmax()))
    memory = np.asarray(states[0]).reshape(N, W)
    links = np.asarray(states[2]).reshape(1, N, N)
    for k in range(W - 1):
        at = np.eye(N, dtype="float32")[written[k]][None, None]
        forward = np.einsum("bij,brj->bri", links, at)[0, 0]
        assert forward.argmax() == written[k + 1] and forward.max() > 0.99
        # Reading there returns the vector written right after the one at slot k.
        np.testing.assert_allclose(forward @ memory, 3.0 * np.tanh(vectors[k + 1]), atol=1e-3)


def test_initial_state_is_all_zero_and_sizes_are_flat():
    cell = DNCCell(UNITS, memory_rows=N, memory_width=W, num_read_heads=R, controller="lstm")
    assert cell.state_size == [UNITS, UNITS, N * W, N, N * N, N, R * N, N, R * W]
    config = DNC(UNITS, controller="gru", memory_rows=N).get_config()
    assert DNC.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, text",
    [({"memory_rows": 0}, "memory_rows"), ({"num_read_heads": -1}, "num_read_heads"),
     ({"controller": "dnc"}, "controller"), ({"controller_units": 0}, "controller_units")],
)
def test_bad_arguments_name_the_argument(kwargs, text):
    with pytest.raises(ValueError, match=text):
        DNC(UNITS, **kwargs)
