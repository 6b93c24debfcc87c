"""Seq2Seq with attention: attention masking, decoding, round trips, validation, export."""

import itertools
import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import Seq2Seq
from rnnzoo.tasks.attention import AdditiveAttention, MultiplicativeAttention


def small(encoder="gru", decoder="gru", compile=True, **kwargs):
    keras.utils.set_random_seed(0)
    options = dict(source_vocabulary_size=7, target_vocabulary_size=6, max_source_length=5,
                   embedding_dim=4)
    options.update(kwargs)
    model = Seq2Seq(rnnzoo.layers.GRU(6, seed=1) if encoder == "gru" else encoder,
                    rnnzoo.layers.GRU(6, seed=2) if decoder == "gru" else decoder, **options)
    if compile:
        model.compile()
    return model


SOURCE = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 6]], np.int32)


# ---------------------------------------------------------------- attention layers


@pytest.mark.parametrize("layer", [
    AdditiveAttention(5, seed=1), MultiplicativeAttention("general"), MultiplicativeAttention("dot"),
], ids=["additive", "general", "dot"])
def test_attention_weights_sum_to_one_over_valid_positions(layer, rng):
    query = rng.normal(size=(3, 4, 6)).astype("float32")
    values = rng.normal(size=(3, 7, 6)).astype("float32")
    mask = np.arange(7)[None] < np.array([[7], [3], [1]])
    context, weights = (np.asarray(t) for t in layer(query, values, values_mask=mask))
    assert context.shape == (3, 4, 6) and weights.shape == (3, 4, 7)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert (weights[~np.broadcast_to(mask[:, None], weights.shape)] == 0.0).all()
    assert (weights[np.broadcast_to(mask[:, None], weights.shape)] > 0.0).all()
    np.testing.assert_allclose(context, weights @ values, atol=1e-5)
    # Changing what sits in the padding changes nothing.
    noisy = values.copy()
    noisy[~mask] = 100.0
    np.testing.assert_allclose(np.asarray(layer(query, noisy, values_mask=mask)[0]), context,
                               atol=1e-5)


def test_attention_scores_match_their_equations(rng):
    query = rng.normal(size=(2, 3, 4)).astype("float32")
    values = rng.normal(size=(2, 5, 4)).astype("float32")

    def softmax(x):
        x = np.exp(x - x.max(-1, keepdims=True))
        return x / x.sum(-1, keepdims=True)

    dot = MultiplicativeAttention("dot")
    np.testing.assert_allclose(np.asarray(dot(query, values)[1]),
                               softmax(query @ values.transpose(0, 2, 1)), atol=1e-6)
    general = MultiplicativeAttention("general", seed=3)
    weights = np.asarray(general(query, values)[1])
    kernel = general.kernel.numpy()
    np.testing.assert_allclose(weights, softmax(query @ (values @ kernel).transpose(0, 2, 1)),
                               atol=1e-6)
    additive = AdditiveAttention(3, seed=2)
    weights = np.asarray(additive(query, values)[1])
    hidden = np.tanh((query @ additive.query_kernel.numpy())[:, :, None]
                     + (values @ additive.values_kernel.numpy())[:, None]
                     + additive.bias.numpy())
    np.testing.assert_allclose(weights, softmax((hidden @ additive.score_vector.numpy())[..., 0]),
                               atol=1e-6)


def test_attention_layers_round_trip_and_validate():
    for layer in (AdditiveAttention(4, seed=1), MultiplicativeAttention("dot")):
        clone = layer.__class__.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="`score`.*'general', 'dot'"):
        MultiplicativeAttention("concat")
    with pytest.raises(ValueError, match="same size, got 4 and 3"):
        MultiplicativeAttention("dot")(np.ones((1, 2, 4)), np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="positive integer"):
        AdditiveAttention(0)


# ---------------------------------------------------------------- the model


@pytest.mark.parametrize("attention", ["additive", "general", "dot", None])
def test_shapes_and_teacher_forcing_match_the_step_model(attention):
    model = small(attention=attention, decoder=[rnnzoo.layers.LSTM(6, seed=2),
                                                rnnzoo.layers.get_layer("elman")(6, seed=3)])
    target = np.array([[1, 3, 4, 5, 2], [1, 5, 2, 0, 0]], np.int32)
    target_in, _ = Seq2Seq.teacher_forcing(target)
    logits = np.asarray(model({"source": SOURCE, "target_in": target_in}))
    assert logits.shape == (2, 4, 6)
    expected = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    states = model.initial_states(SOURCE)
    assert [s.shape for s in states] == [(2, 6), (2, 6), (2, 6), (2, 5, 6), (2, 5)]
    for t in range(target_in.shape[1]):
        log_probs, states = model.step(target_in[:, t], states)
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)


@pytest.mark.parametrize("encoder", [
    rnnzoo.layers.GRU(6, seed=1),
    keras.layers.Bidirectional(rnnzoo.layers.LSTM(3, seed=1)),
    [rnnzoo.layers.get_layer("elman")(6, seed=1), rnnzoo.layers.get_layer("indrnn")(6, seed=2)],
], ids=["gru", "bidirectional_lstm", "elman_indrnn"])
def test_source_padding_gets_no_attention_and_changes_nothing(encoder):
    model = small(encoder=encoder)
    target_in = np.array([[1, 3, 4], [1, 4, 4]], np.int32)
    short = np.asarray(model({"source": SOURCE[:1, :3], "target_in": target_in[:1]}))
    padded = np.asarray(model({"source": SOURCE[:1], "target_in": target_in[:1]}))
    np.testing.assert_allclose(padded, short, atol=1e-5)
    states = model.initial_states(SOURCE)
    outputs = model.export_model()([np.array([[1], [1]], np.int32), states[0], *states[-2:]])
    weights = np.asarray(outputs[-1])
    assert weights.shape == (2, 5)
    np.testing.assert_array_equal(states[-1], SOURCE != 0)
    assert (weights[0, 3:] == 0.0).all() and (weights[0, :3] > 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def markov_model():
    """A hand-set model whose next token depends only on the previous one (table below)."""
    eps = 1e-6
    table = np.full((5, 5), eps)
    table[0, 2] = table[2, 2] = 1.0  # pad, end -> end
    table[1, 3:] = [0.6, 0.4]  # start -> 3 (greedy's pick) or 4
    table[3, 2:] = [0.34, 0.33, 0.33]  # after 3: end only just ahead
    table[4, 2:] = [0.95, 0.025, 0.025]  # after 4: end almost surely
    table /= table.sum(-1, keepdims=True)
    model = Seq2Seq(rnnzoo.layers.get_layer("elman")(4, seed=1),
                    rnnzoo.layers.get_layer("elman")(5, activation="linear", seed=2),
                    source_vocabulary_size=6, target_vocabulary_size=5, max_source_length=3,
                    embedding_dim=5, attention=None)
    model.get_layer("target_embedding").set_weights([np.eye(5)])
    model.get_layer("decoder_0").set_weights([np.eye(5), np.zeros((5, 5)), np.zeros(5)])
    model.get_layer("bridge_0").set_weights([np.zeros((4, 5)), np.zeros(5)])
    model.get_layer("logits").set_weights([np.log(table), np.zeros(5)])
    return model, table


def test_hand_set_model_decodes_as_computed_by_hand():
    model, table = markov_model()
    source = np.array([[3, 1, 5], [2, 0, 0]])
    states = model.initial_states(source)
    log_probs, _ = model.step(np.array([1, 4]), states)
    np.testing.assert_allclose(np.exp(log_probs), table[[1, 4]], atol=1e-6)
    # Greedy takes 3 (p 0.6), then ends (0.34): 0.204. Beam finds 4, end: 0.4 * 0.95 = 0.38.
    greedy, greedy_scores = model.translate(source, max_length=3, return_scores=True)
    beam, beam_scores = model.translate(source, method="beam", beam_width=2, max_length=3,
                                        return_scores=True)
    np.testing.assert_array_equal(greedy, [[3, 2, 0]] * 2)
    np.testing.assert_array_equal(beam, [[4, 2, 0]] * 2)
    np.testing.assert_allclose(greedy_scores, np.log(0.6 * 0.34), atol=1e-5)
    np.testing.assert_allclose(beam_scores, np.log(0.4 * 0.95), atol=1e-5)
    np.testing.assert_array_equal(model.translate(source, method="beam", beam_width=1,
                                                  max_length=3), greedy)


def test_exhaustive_beam_finds_the_most_likely_sequence_and_beats_greedy():
    model = small(target_vocabulary_size=4, attention="general")
    source = SOURCE
    greedy, greedy_scores = model.translate(source, max_length=3, return_scores=True)
    beam, beam_scores = model.translate(source, method="beam", beam_width=16, max_length=3,
                                        return_scores=True)
    every = np.array(list(itertools.product(range(4), repeat=3)), np.int32)
    for row in range(len(source)):
        scores = model.score(np.repeat(source[row : row + 1], len(every), axis=0), every)
        assert beam_scores[row] == pytest.approx(scores.max(), abs=1e-5)
        assert beam_scores[row] >= greedy_scores[row] - 1e-6
        assert model.score(source[row : row + 1], beam[row : row + 1])[0] == pytest.approx(
            beam_scores[row], abs=1e-6)


def test_round_trips_through_config_and_keras_files(tmp_path, rng):
    model = small(encoder=keras.layers.Bidirectional(rnnzoo.layers.GRU(3, seed=1)),
                  decoder=[rnnzoo.layers.LSTM(6, seed=2), rnnzoo.layers.GRU(5, seed=3)],
                  attention="additive", attention_units=7, dropout=0.1, max_target_length=4,
                  compile=False)
    target = np.array([[1, 3, 4, 5, 2], [1, 5, 2, 0, 0]], np.int32)
    target_in, _ = Seq2Seq.teacher_forcing(target)
    inputs = {"source": SOURCE, "target_in": target_in}
    # Weights unlike any fresh model's, so that loading them is what is tested.
    model.set_weights([w + rng.normal(scale=0.3, size=w.shape) for w in model.get_weights()])
    config = model.get_config()
    clone = Seq2Seq.from_config(json.loads(json.dumps(config)))
    assert json.loads(json.dumps(clone.get_config())) == json.loads(json.dumps(config))
    assert clone.count_params() == model.count_params()
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, Seq2Seq) and loaded.attention == "additive"
    np.testing.assert_allclose(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0),
                               atol=1e-6)
    np.testing.assert_array_equal(loaded.translate(SOURCE, method="beam"),
                                  model.translate(SOURCE, method="beam"))
    assert model.translate(SOURCE).shape == (2, 4)  # max_target_length


def test_token_accuracy_and_loss_ignore_padding():
    model = small()
    target = np.array([[1, 3, 2, 0, 0]], np.int32)
    target_in, target_out = Seq2Seq.teacher_forcing(target)
    inputs = {"source": SOURCE[:1], "target_in": target_in}
    logits = np.asarray(model(inputs))
    predicted = logits.argmax(-1)[0, :2]
    results = model.evaluate(inputs, target_out, verbose=0, return_dict=True)
    assert results["token_accuracy"] == pytest.approx(np.mean(predicted == [3, 2]))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert results["loss"] == pytest.approx(-np.mean(log_probs[0, [0, 1], [3, 2]]), rel=1e-5)


# ---------------------------------------------------------------- validation


def test_bad_inputs_give_clear_errors():
    model = small()
    with pytest.raises(ValueError, match="source vocabulary has 7 ids.*vocabulary mismatch"):
        model.translate([[3, 9]])
    with pytest.raises(ValueError, match="target vocabulary has 6 ids.*vocabulary mismatch"):
        model.fit({"source": SOURCE, "target_in": np.array([[1, 7], [1, 3]])},
                  np.array([[3, 2], [2, 0]]), verbose=0)
    with pytest.raises(ValueError, match="target vocabulary has 6 ids.*vocabulary mismatch"):
        model.evaluate({"source": SOURCE, "target_in": np.array([[1, 3], [1, 3]])},
                       np.array([[3, 6], [2, 0]]), verbose=0)
    with pytest.raises(ValueError, match="up to 5 tokens.*got a source of 6"):
        model.translate(np.array([[3, 4, 5, 6, 1, 2]]))
    with pytest.raises(ValueError, match="up to 5 tokens.*got a source of 7"):
        model.predict({"source": np.ones((2, 7), np.int32), "target_in": np.ones((2, 2), np.int32)})
    model.translate(np.array([[3, 4, 0, 0, 0, 0, 0]]))  # trailing padding is fine
    with pytest.raises(ValueError, match="non-empty source batch"):
        model.translate(np.zeros((0, 3), np.int32))
    with pytest.raises(ValueError, match="at least one token"):
        model.translate([[3, 4], [0, 0]])
    with pytest.raises(ValueError, match="integer source token ids"):
        model.translate([[0.5, 1.0]])
    with pytest.raises(ValueError, match="`method`"):
        model.translate(SOURCE, method="sample")
    with pytest.raises(ValueError, match="length >= 2"):
        Seq2Seq.teacher_forcing([[1]])


@pytest.mark.parametrize("change, message", [
    ({"attention": "concat"}, "`attention`"),
    ({"bridge": "last"}, "`bridge`"),
    ({"attention": None, "bridge": "none"}, "never show the source"),
    ({"target_vocabulary_size": 2}, "`target_vocabulary_size`"),
    ({"end_token": 6}, r"`end_token`.*\[1, 5\]"),
    ({"start_token": 0}, "`start_token`"),
    ({"start_token": 2}, "different start and end tokens"),
    ({"max_source_length": 0}, "`max_source_length`"),
    ({"dropout": 1.0}, "`dropout`"),
    ({"decoder": keras.layers.Bidirectional(rnnzoo.layers.GRU(4))}, "unidirectional"),
    ({"decoder": rnnzoo.layers.GRU(4, go_backwards=True)}, "go_backwards"),
    ({"encoder": keras.layers.Dense(4)}, "encoder layer"),
    ({"encoder": []}, "`encoder`"),
    ({"attention": "dot", "decoder": rnnzoo.layers.GRU(5)}, "same size"),
])
def test_bad_arguments_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        small(**change)


# ---------------------------------------------------------------- export


@pytest.mark.slow
def test_phone_loop_over_tflite_models_matches_translate(tmp_path):
    from rnnzoo.export.exporter import run_tflite

    model = small(decoder=rnnzoo.layers.LSTM(6, seed=2), attention="additive")
    batch = 2
    encoder = rnnzoo.export(model.export_encoder(), tmp_path / "encoder.tflite", batch_size=batch)
    step = rnnzoo.export(model.export_model(), tmp_path / "step.tflite", batch_size=batch)
    assert encoder.max_abs_diff <= 1e-5 and step.max_abs_diff <= 1e-5
    assert not [op for op in encoder.ops + step.ops if op.startswith("Flex") or op == "CUSTOM"]
    # The phone's loop: encode once, then feed back argmax tokens and the states.
    values, mask, h, c = run_tflite(encoder.path, [SOURCE])
    tokens, out = np.full((batch, 1), model.start_token, np.int32), []
    for _ in range(6):
        log_probs, h, c, weights = run_tflite(step.path, [tokens, h, c, values, mask])
        tokens = log_probs.argmax(-1).astype(np.int32)[:, None]
        out.append(tokens[:, 0])
        assert np.allclose(weights.sum(-1), 1.0, atol=1e-5) and (weights[0, 3:] == 0).all()
    expected = model.translate(SOURCE, max_length=6)
    phone = np.stack(out, axis=1)
    for row, reference in zip(phone, expected):
        length = int(np.flatnonzero(reference == model.end_token)[0]) + 1 if (
            reference == model.end_token).any() else len(reference)
        np.testing.assert_array_equal(row[:length], reference[:length])
