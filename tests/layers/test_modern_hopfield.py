"""Modern Hopfield layer: softmax retrieval against NumPy, its three forms, masking.

The association form is swept by `test_structured_conformance.py`; the
pooling and lookup forms' save/load is checked here.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnzoo.layers import ModernHopfield

pytestmark = pytest.mark.usefixtures("keras_seed")


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def retrieve(X, xi, beta):
    """Ramsauer et al.'s update xi_new = X softmax(beta X^T xi); X holds patterns as columns."""
    return X @ softmax(beta * X.T @ xi)


def test_no_projection_retrieval_is_the_update_rule():
    rng = np.random.default_rng(0)
    stored = rng.standard_normal((2, 6, 5))  # (batch, P, d)
    states = rng.standard_normal((2, 3, 5))  # (batch, S, d)
    layer = ModernHopfield(mode="association", beta=2.0, use_projections=False)
    got = np.asarray(layer([states.astype("float32"), stored.astype("float32")]))
    assert got.shape == (2, 3, 5) and not layer.weights
    for b in range(2):
        for s in range(3):
            np.testing.assert_allclose(got[b, s], retrieve(stored[b].T, states[b, s], 2.0),
                                       atol=1e-5)


def test_one_step_retrieves_the_nearest_stored_pattern():
    rng = np.random.default_rng(1)
    patterns = np.where(rng.random((1, 10, 64)) < 0.5, -1.0, 1.0).astype("float32")
    noisy = patterns.copy()
    noisy[:, :, :12] *= -1
    layer = ModernHopfield(mode="association", beta=1.0, use_projections=False)
    got = np.asarray(layer([noisy, patterns]))
    np.testing.assert_allclose(got, patterns, atol=1e-6)


def test_projected_association_is_softmax_attention():
    rng = np.random.default_rng(2)
    states = rng.standard_normal((2, 4, 3)).astype("float32")
    stored = rng.standard_normal((2, 5, 7)).astype("float32")
    layer = ModernHopfield(6, seed=1)
    got = np.asarray(layer([states, stored]))
    Wq, Wk, Wv = (w.numpy() for w in (layer.query_kernel, layer.key_kernel, layer.value_kernel))
    beta = 1 / np.sqrt(6)
    for b in range(2):
        attention = softmax(beta * (states[b] @ Wq) @ (stored[b] @ Wk).T)
        np.testing.assert_allclose(got[b], attention @ (stored[b] @ Wv), atol=1e-5)


def test_pooling_and_lookup_forms():
    rng = np.random.default_rng(3)
    sets = rng.standard_normal((2, 6, 4)).astype("float32")
    pool = ModernHopfield(5, mode="pooling", num_queries=3, beta=0.5, seed=0)
    got = np.asarray(pool(sets))
    assert got.shape == (2, 3, 5)
    Q = pool.state_patterns.numpy()
    for b in range(2):
        K, V = sets[b] @ pool.key_kernel.numpy(), sets[b] @ pool.value_kernel.numpy()
        np.testing.assert_allclose(got[b], softmax(0.5 * Q @ K.T) @ V, atol=1e-5)
    # Pooling is invariant to the order of the set.
    np.testing.assert_allclose(pool(sets[:, ::-1]), got, atol=1e-5)

    lookup = ModernHopfield(mode="lookup", num_patterns=7, beta=3.0, use_projections=False,
                            seed=0)
    got = np.asarray(lookup(sets))
    keys = lookup.stored_keys.numpy()
    assert keys.shape == (7, 4) and len(lookup.weights) == 1
    for b in range(2):
        for s in range(6):
            np.testing.assert_allclose(got[b, s], retrieve(keys.T, sets[b, s], 3.0), atol=1e-5)


def test_masked_stored_patterns_are_ignored():
    rng = np.random.default_rng(4)
    states = rng.standard_normal((2, 3, 4)).astype("float32")
    stored = rng.standard_normal((2, 5, 4)).astype("float32")
    padded = np.concatenate([stored, np.zeros((2, 2, 4), "float32")], axis=1)
    layer = ModernHopfield(6, seed=2)
    expected = np.asarray(layer([states, stored]))
    r = keras.Input((3, 4))
    y = keras.Input((7, 4))
    model = keras.Model([r, y], layer([r, keras.layers.Masking(0.0)(y)]))
    np.testing.assert_allclose(model([states, padded]), expected, atol=1e-5)
    # Pooling over a padded set equals pooling over the set itself.
    pool = ModernHopfield(6, mode="pooling", seed=3)
    expected = np.asarray(pool(stored))
    y = keras.Input((7, 4))
    model = keras.Model(y, pool(keras.layers.Masking(0.0)(y)))
    np.testing.assert_allclose(model(padded), expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["pooling", "lookup"])
def test_save_load_and_gradients(mode, tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 6, 4)).astype("float32")
    inputs = keras.Input((6, 4))
    hidden = ModernHopfield(5, mode=mode, num_patterns=9, num_queries=2, seed=4)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(hidden)))
    own = model.layers[1].trainable_weights
    assert len(own) == 3  # pooling: W_k, W_v, queries; lookup: W_q, keys, values
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(x)))
    for weight, grad in zip(own, tape.gradient(loss, own)):
        assert grad is not None and np.any(np.asarray(grad) != 0), weight.path
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_argument_errors():
    with pytest.raises(ValueError, match="units"):
        ModernHopfield(0)
    with pytest.raises(ValueError, match="units"):
        ModernHopfield()  # projections need a size
    with pytest.raises(ValueError, match="mode"):
        ModernHopfield(4, mode="attention")
    with pytest.raises(ValueError, match="num_patterns"):
        ModernHopfield(4, mode="lookup")
    with pytest.raises(ValueError, match="beta"):
        ModernHopfield(4, beta=0.0)
    layer = ModernHopfield(4, mode="pooling")
    with pytest.raises(ValueError, match="ModernHopfield"):
        layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="one tensor"):
        layer([np.zeros((2, 3, 4), "float32")] * 2)
