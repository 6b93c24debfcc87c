"""Captioner: shapes, conditioning, masked loss, decoding, round trip, export, errors;
corpus BLEU-4 against hand-counted n-grams."""

import itertools
import json
import math

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import Captioner
from rnnzoo.tasks.metrics import MaskedTokenAccuracy, bleu_statistics, corpus_bleu, exact_match

VOCAB = ["<pad>", "<start>", "<end>", "zero", "one", "two"]
CAPTIONS = ["one two", "two", "zero zero one"]  # the caption of image kinds 0, 1, 2


def make(decoder=None, **kwargs):
    decoder = rnnzoo.layers.GRU(8, seed=1) if decoder is None else decoder
    args = dict(decoder=decoder, vocabulary=VOCAB,
                image_shape=(8, 8, 1), embedding_dim=4, encoder_filters=(4,),
                image_embedding_dim=8, max_length=5)
    args.update(kwargs)
    return Captioner(**args)


def kinds_data(n, seed=0):
    """Images of three kinds (left bars, right bars, none) and their captions."""
    rng = np.random.default_rng(seed)
    kinds = np.arange(n) % 3
    images = rng.normal(0, 0.1, (n, 8, 8, 1)).astype("float32")
    images[kinds == 0, :, 0:3] += 1.0
    images[kinds == 1, :, 5:8] += 1.0
    return images, [CAPTIONS[k] for k in kinds]


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = make(rnnzoo.layers.GRU(16, seed=1), embedding_dim=8, image_embedding_dim=16)
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    inputs, targets = model.teacher_forcing(*kinds_data(48))
    model.fit(inputs, targets, epochs=8, batch_size=8, verbose=0)
    return model


def sequence_log_probs(model, image, sequences):
    """log p(tokens | image) of each token sequence (without the start token), by
    teacher forcing all of them in one batch."""
    width = max(len(seq) for seq in sequences)
    caption_in = np.full((len(sequences), width), model.pad_id, "int32")
    caption_in[:, 0] = model.start_id
    for row, seq in enumerate(sequences):
        caption_in[row, 1 : len(seq)] = seq[:-1]
    images = np.repeat(image[None], len(sequences), axis=0)
    logits = model({"image": images, "caption_in": caption_in})
    log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits, axis=-1))
    return [float(sum(log_probs[row, t, token] for t, token in enumerate(seq)))
            for row, seq in enumerate(sequences)]


# ---------------------------------------------------------------------------- BLEU


def test_bleu_modified_unigram_precision_of_papineni():
    # Papineni et al. (2002), section 2.1: "the" occurs at most twice in a reference.
    stats = bleu_statistics(
        [["the cat is on the mat", "there is a cat on the mat"]],
        ["the the the the the the the"], max_order=1)
    assert stats.matches == (2,) and stats.totals == (7,)
    # c = 7; the closest reference length is 7, so no brevity penalty.
    assert stats.reference_length == 7 and stats.brevity_penalty == 1.0
    assert stats.score == pytest.approx(2 / 7)


def test_corpus_bleu4_by_hand():
    references = ["one two three four five", "six seven eight nine zero one"]
    hypotheses = ["one two three four", "six seven eight zero one two"]
    # Sentence 1: every n-gram matches: 4/4, 3/3, 2/2, 1/1 (c = 4, r = 5).
    # Sentence 2: unigrams 5/6 ("two" is not in the reference); bigrams
    # "six seven", "seven eight", "zero one" = 3/5; trigrams "six seven eight"
    # = 1/4; 4-grams 0/3 (c = 6, r = 6). Pooled over the corpus:
    stats = bleu_statistics(references, hypotheses)
    assert stats.matches == (9, 6, 3, 1)
    assert stats.totals == (10, 8, 6, 4)
    assert (stats.hypothesis_length, stats.reference_length) == (10, 11)
    assert stats.brevity_penalty == pytest.approx(math.exp(1 - 11 / 10))
    expected = math.exp(1 - 11 / 10) * (9 / 10 * 6 / 8 * 3 / 6 * 1 / 4) ** 0.25
    assert stats.score == pytest.approx(expected)
    assert corpus_bleu(references, hypotheses) == pytest.approx(0.4876677, abs=1e-7)


def test_bleu_clips_by_the_best_reference_and_picks_the_closest_length():
    # "one" twice: clipped to 2 (the second reference has it twice); bigrams
    # "one one" (reference 2) and "one two" (reference 1) both match.
    stats = bleu_statistics([["one two", "one one three"]], ["one one two"], max_order=2)
    assert stats.matches == (3, 2) and stats.totals == (3, 2)
    # Hypothesis length 3: references of lengths 2 and 4 are equally close; the
    # shorter one counts, so there is no brevity penalty.
    stats = bleu_statistics([["a b", "a b c d"]], ["a b c"], max_order=1)
    assert stats.reference_length == 2 and stats.brevity_penalty == 1.0
    stats = bleu_statistics([["a b c d e f"]], ["a b c"], max_order=1)
    assert stats.brevity_penalty == pytest.approx(math.exp(1 - 6 / 3))


def test_bleu_edge_cases_and_exact_match():
    assert corpus_bleu(["three zero seven one"], [["three", "zero", "seven", "one"]]) == 1.0
    assert corpus_bleu([[["three", "zero", "seven", "one"]]], ["three zero seven one"]) == 1.0
    assert corpus_bleu(["three zero seven"], ["three zero seven"]) == 0.0  # no 4-grams at all
    assert corpus_bleu(["three zero seven"], ["three zero"]) == 0.0  # no 3- or 4-grams
    assert corpus_bleu(["a b"], [""]) == 0.0
    assert exact_match(["one two", ["zero", "two one"]], ["one two", "two one"]) == 1.0
    assert exact_match(["one two", "zero"], ["one", "zero"]) == 0.5
    with pytest.raises(ValueError, match="one entry in `references` per hypothesis"):
        corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="non-empty corpus"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="max_order"):
        corpus_bleu(["a"], ["a"], max_order=0)


def test_masked_token_accuracy_ignores_padding():
    metric = MaskedTokenAccuracy(pad_id=0)
    y_true = np.array([[4, 2, 0, 0], [3, 3, 2, 0]])
    y_pred = np.eye(6)[[[4, 3, 0, 0], [3, 3, 5, 5]]]  # 4 right out of 5 non-pad
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(3 / 5)


# ---------------------------------------------------------------------------- model


@pytest.mark.parametrize("conditioning", ["state", "input"])
@pytest.mark.parametrize(
    "decoder, sizes",
    [
        (lambda: rnnzoo.layers.GRU(8, seed=1), [[8]]),
        (lambda: rnnzoo.layers.LSTM(8, seed=1), [[8, 8]]),  # h and c
        (lambda: rnnzoo.get_layer("jordan")(8, output_units=3, seed=1), [[3]]),
        (lambda: [rnnzoo.layers.LSTM(6, seed=1), rnnzoo.layers.Elman(5, seed=2)], [[6, 6], [5]]),
    ],
)
def test_shapes_and_states(decoder, sizes, conditioning):
    model = make(decoder(), conditioning=conditioning)
    assert model.state_sizes == sizes
    images, captions = kinds_data(3)
    inputs, targets = model.teacher_forcing(images, captions)
    assert inputs["caption_in"].shape == targets.shape == (3, 4)
    assert tuple(model(inputs).shape) == (3, 4, len(VOCAB))
    states = model.initial_states(images)
    flat = [size for layer in sizes for size in layer]
    assert [s.shape for s in states] == [(3, size) for size in flat]
    outputs = model.export_model()([np.full((3,), model.start_id, "int32"), *states])
    assert tuple(outputs[0].shape) == (3, len(VOCAB))
    assert [tuple(s.shape) for s in outputs[1:]] == [(3, size) for size in flat]
    np.testing.assert_allclose(np.exp(keras.ops.convert_to_numpy(outputs[0])).sum(-1), 1, atol=1e-5)


@pytest.mark.parametrize("conditioning", ["state", "input"])
def test_step_model_matches_teacher_forcing(conditioning):
    model = make(rnnzoo.layers.LSTM(8, seed=3), conditioning=conditioning, dropout=0.3)
    images, captions = kinds_data(3, seed=2)
    inputs, _ = model.teacher_forcing(images, captions)
    logits = keras.ops.convert_to_numpy(model(inputs))
    expected = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits, axis=-1))
    step, states = model.step_function(), model.initial_states(images)
    for t in range(inputs["caption_in"].shape[1]):
        log_probs, states = step(inputs["caption_in"][:, t], states)
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)


def test_the_image_conditions_the_decoder():
    model = make(rnnzoo.layers.GRU(8, seed=1))
    images = np.stack([np.zeros((8, 8, 1)), np.ones((8, 8, 1))]).astype("float32")
    logits = keras.ops.convert_to_numpy(
        model({"image": images, "caption_in": np.ones((2, 3), "int32")}))
    assert np.abs(logits[0] - logits[1]).max() > 1e-4


def test_loss_ignores_padded_caption_positions():
    model = make()
    model.compile()
    images, _ = kinds_data(2)
    ids = model.encode(["one", "two zero"])  # [[<start> one <end> <pad>], [<start> two zero <end>]]
    wide = np.concatenate([ids, np.full((2, 3), model.pad_id, "int32")], axis=1)
    short_inputs, short_targets = model.teacher_forcing(images, ids)
    wide_inputs, wide_targets = model.teacher_forcing(images, wide)
    short_loss = float(model.loss(short_targets, model(short_inputs)))
    wide_loss = float(model.loss(wide_targets, model(wide_inputs)))
    # By hand: the mean cross-entropy over the 5 non-pad targets ("one <end>",
    # "two zero <end>"); pads contribute nothing, however many there are.
    log_probs = keras.ops.convert_to_numpy(keras.ops.log_softmax(model(short_inputs)))
    valid = short_targets != model.pad_id
    picked = np.take_along_axis(log_probs, short_targets[..., None], axis=-1)[..., 0]
    assert valid.sum() == 5
    assert short_loss == pytest.approx(-picked[valid].mean(), rel=1e-5)
    assert wide_loss == pytest.approx(short_loss, rel=1e-5)
    evaluated = model.evaluate(wide_inputs, wide_targets, verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(short_loss, rel=1e-5)


def test_decoding_a_trained_model(trained):
    images, captions = kinds_data(9, seed=5)
    assert trained.caption(images) == captions
    assert trained.caption(images, method="beam", beam_width=3) == captions
    texts, ids, lengths = trained.caption(images[:3], return_ids=True)
    assert ids.shape == (3, trained.max_length)
    assert lengths.tolist() == [len(c.split()) + 1 for c in captions[:3]]
    assert trained.decode(ids, lengths) == texts


def test_beam_search_finds_the_most_likely_caption():
    # Exhaustive beams (vocabulary ** (max_length - 1) hypotheses) must find the
    # best sequence by brute force; beam_width=1 is greedy decoding.
    keras.utils.set_random_seed(4)
    model = make(rnnzoo.layers.GRU(6, seed=4), max_length=3,
                 vocabulary=["<pad>", "<start>", "<end>", "zero", "one"])
    image = np.random.default_rng(4).normal(size=(8, 8, 1)).astype("float32")
    vocab, end = len(model.vocabulary), model.end_id
    candidates = [seq for n in range(1, 4) for seq in itertools.product(range(vocab), repeat=n)
                  if (seq[-1] == end or n == 3) and end not in seq[:-1]]
    scores = dict(zip(candidates, sequence_log_probs(model, image, candidates)))
    best = max(scores, key=scores.get)
    _, ids, lengths = model.caption(image[None], method="beam", beam_width=vocab ** 2,
                                    return_ids=True)
    assert tuple(ids[0, : lengths[0]]) == best
    _, greedy, greedy_lengths = model.caption(image[None], return_ids=True)
    _, width1, width1_lengths = model.caption(image[None], method="beam", beam_width=1,
                                              return_ids=True)
    np.testing.assert_array_equal(width1, greedy)
    assert scores[tuple(greedy[0, : greedy_lengths[0]])] <= scores[best]


def test_config_round_trip(trained, tmp_path):
    path = tmp_path / "captioner.keras"
    trained.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, Captioner) and loaded.vocabulary == VOCAB
    as_json = lambda config: json.loads(json.dumps(config))  # noqa: E731 (tuples vs lists)
    assert as_json(loaded.get_config()) == as_json(trained.get_config())
    assert loaded.loss.get_config()["ignore_class"] == trained.pad_id
    images, captions = kinds_data(6, seed=7)
    assert loaded.caption(images) == trained.caption(images) == captions
    rebuilt = Captioner.from_config(make(conditioning="input", dropout=0.1).get_config())
    assert rebuilt.conditioning == "input" and rebuilt.dropout == 0.1


@pytest.mark.slow
def test_tflite_encoder_and_step_run_the_decoding_loop(trained, tmp_path):
    from rnnzoo.export import run_tflite

    encoder = rnnzoo.export(trained.initial_state_model(), tmp_path / "encoder.tflite")
    step = rnnzoo.export(trained.export_model(), tmp_path / "step.tflite")
    assert encoder.max_abs_diff <= 1e-5 and step.max_abs_diff <= 1e-5
    images, captions = kinds_data(3, seed=9)
    for image, caption in zip(images, captions):
        states = run_tflite(encoder.path, [image[None]])
        token, words = trained.start_id, []
        for _ in range(trained.max_length):
            log_probs, *states = run_tflite(step.path, [np.array([token], "int32"), *states])
            token = int(np.argmax(log_probs[0]))
            if token == trained.end_id:
                break
            words.append(trained.vocabulary[token])
        assert " ".join(words) == caption


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": ["<pad>", "<start>", "zero"]}, "missing \\['<end>'\\]"),
        ({"vocabulary": VOCAB + ["one"]}, "unique"),
        ({"vocabulary": ["<pad>", "<start>", "<end>"]}, "at least one word"),
        ({"vocabulary": "abc"}, "vocabulary"),
        ({"image_shape": (8, 8)}, "image_shape"),
        ({"image_shape": (8, 8, 1), "encoder_filters": (4, 4, 4, 4)}, "height and width >= 16"),
        ({"encoder_filters": ()}, "encoder_filters"),
        ({"conditioning": "attention"}, "conditioning"),
        ({"dropout": 1.0}, "dropout"),
        ({"max_length": 0}, "max_length"),
        ({"decoder": keras.layers.Dense(4)}, "recurrent layers"),
        ({"decoder": []}, "decoder"),
        ({"decoder": rnnzoo.layers.GRU(4, go_backwards=True)}, "go_backwards"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_bad_inputs_are_clear():
    model = make()
    images, captions = kinds_data(2)
    wrong_size = r"Wrong image size.*\(batch, 8, 8, 1\), got \(2, 8, 9, 1\)"
    with pytest.raises(ValueError, match=wrong_size):
        model.caption(np.zeros((2, 8, 9, 1)))
    with pytest.raises(ValueError, match="add a channel axis"):
        model.teacher_forcing(images[..., 0], captions)
    with pytest.raises(ValueError, match="empty batch"):
        model.caption(np.zeros((0, 8, 8, 1)))
    with pytest.raises(ValueError, match=r"Vocabulary mismatch.*\['three'\]"):
        model.encode(["one three"])
    with pytest.raises(ValueError, match=r"Vocabulary mismatch: caption ids must lie in \[0, 6\)"):
        model.teacher_forcing(images, np.array([[1, 9, 2], [1, 3, 2]]))
    with pytest.raises(ValueError, match="start token"):
        model.teacher_forcing(images, np.array([[3, 4, 2], [1, 3, 2]]))
    with pytest.raises(ValueError, match="max_length=5"):
        model.encode(["one two one two one"])  # 5 words + <end>
    with pytest.raises(ValueError, match="one caption per image"):
        model.teacher_forcing(images, ["one"])
    with pytest.raises(ValueError, match="non-empty list"):
        model.encode([])
    with pytest.raises(ValueError, match="method"):
        model.caption(images, method="sample")
    with pytest.raises(ValueError, match="first differ at id 3"):
        model.check_vocabulary(VOCAB[:3] + ["three"] + VOCAB[4:])
    model.check_vocabulary(tuple(VOCAB))
    with pytest.raises(ValueError, match="incompatible|expected shape"):
        model({"image": np.zeros((2, 8, 9, 1)), "caption_in": np.ones((2, 3), "int32")})


def test_nearest_neighbour_baseline_of_the_recipe():
    from rnnzoo.presets.recipes.captioner import nearest_neighbour_captions

    train = np.stack([np.zeros((2, 3, 1)), np.ones((2, 3, 1)), np.full((2, 3, 1), 5.0)])
    found = nearest_neighbour_captions(train, ["zero", "one", "five"],
                                       np.stack([np.full((2, 3, 1), 0.8), np.full((2, 3, 1), 9.0)]))
    assert found == ["one", "five"]
