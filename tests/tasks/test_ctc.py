import itertools
import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import CTCRecognizer
from rnnzoo.tasks.ctc import (
    CTCLoss,
    FrameLogProbs,
    character_error_rate,
    edit_distance,
    frames_needed,
    unpad_labels,
)


def make(**kwargs):
    args = dict(encoder=rnnzoo.layers.LSTM(8, seed=1), num_classes=3, input_shape=(None, 4))
    args.update(kwargs)
    return CTCRecognizer(**args)


def as_json(config):
    return json.loads(json.dumps(config))


def brute_force_ctc(log_probs, labels, blank):
    """-log p(labels | frames) by enumerating every frame path (tiny cases only)."""
    frames, classes = log_probs.shape
    total = -np.inf
    for path in itertools.product(range(classes), repeat=frames):
        collapsed = [c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1])]
        if collapsed == list(labels):
            total = np.logaddexp(total, sum(log_probs[t, c] for t, c in enumerate(path)))
    return -total


def toy_data(n=64, seed=0):
    """Sequences of 2-3 symbols, each drawn as 3 noisy one-hot frames with a blank frame after."""
    rng = np.random.default_rng(seed)
    x = np.full((n, 12, 4), -1.0, "float32")
    y = np.full((n, 3), -1, "int64")
    for row in range(n):
        labels = rng.integers(0, 3, rng.integers(2, 4))
        y[row, : len(labels)] = labels
        for k, label in enumerate(labels):
            x[row, 4 * k : 4 * k + 3] = 0.0
            x[row, 4 * k : 4 * k + 3, label] = 1.0
            x[row, 4 * k + 3] = 0.0
            x[row, 4 * k : 4 * k + 4, 3] = 0.5
    x[x > -1] += rng.normal(0, 0.1, x[x > -1].shape)
    return x, y


# --------------------------------------------------------------------------- metrics

@pytest.mark.parametrize(
    "reference, hypothesis, expected",
    [
        ([], [], 0),
        ([1, 2, 3], [], 3),
        ([], [4, 4], 2),
        ([1, 2, 3], [1, 2, 3], 0),
        ([1, 2, 3], [1, 3], 1),  # deletion
        ([1, 2, 3], [1, 2, 2, 3], 1),  # insertion
        ([1, 2, 3], [1, 5, 3], 1),  # substitution
        ([1, 2, 3, 4], [2, 1, 4, 3], 3),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
    ],
)
def test_edit_distance_by_hand(reference, hypothesis, expected):
    assert edit_distance(reference, hypothesis) == expected
    assert edit_distance(hypothesis, reference) == expected


def test_edit_distance_matches_an_independent_recursion(rng):
    from functools import lru_cache

    def recursive(a, b):
        @lru_cache(maxsize=None)
        def d(i, j):
            if i == 0 or j == 0:
                return i + j
            return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

        return d(len(a), len(b))

    for _ in range(50):
        a = tuple(rng.integers(0, 3, rng.integers(0, 7)))
        b = tuple(rng.integers(0, 3, rng.integers(0, 7)))
        assert edit_distance(a, b) == recursive(a, b)


def test_character_error_rate_is_corpus_level():
    # 1 edit over 3 labels plus 2 edits over 2 labels: 3 / 5, not the mean 0.67.
    assert character_error_rate([[1, 2, 3], [4, 5]], [[1, 2], [5, 4, 4]]) == pytest.approx(0.6)
    assert character_error_rate([[1]], [[2, 3, 4]]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="as many hypotheses"):
        character_error_rate([[1]], [])
    with pytest.raises(ValueError, match="undefined"):
        character_error_rate([[], []], [[1], []])


def test_label_helpers():
    assert frames_needed([1, 1, 2, 2, 2]) == 8 and frames_needed([]) == 0
    assert unpad_labels(np.array([[2, 0, -1], [-1, -1, -1]])) == [[2, 0], []]


# --------------------------------------------------------------------------- loss

def test_ctc_loss_matches_path_enumeration_with_last_class_blank(rng):
    logits = rng.normal(size=(3, 5, 3)).astype("float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    labels = np.array([[0, 1, -1], [1, 1, -1], [0, 0, 1]])  # repeats need a blank between
    per_example = CTCLoss(blank=2, reduction=None)(labels, logits)
    expected = [brute_force_ctc(log_probs[i], unpad_labels(labels)[i], blank=2) for i in range(3)]
    np.testing.assert_allclose(np.asarray(per_example), expected, rtol=1e-4)


def test_pinned_padding_frames_do_not_change_the_loss(rng):
    logits = rng.normal(size=(1, 4, 3)).astype("float32")
    mask = np.array([[True] * 4 + [False] * 3])
    padded = np.concatenate([logits, rng.normal(size=(1, 3, 3)).astype("float32")], axis=1)
    layer = FrameLogProbs(blank=2)
    short = CTCLoss(blank=2)(np.array([[1, 0]]), layer(logits))
    long = CTCLoss(blank=2)(np.array([[1, 0]]), layer(padded, mask=mask))
    np.testing.assert_allclose(float(long), float(short), rtol=1e-5)


def test_ctc_loss_decreases_and_greedy_and_beam_decode_a_toy_problem():
    keras.utils.set_random_seed(0)
    model = make(mask_value=-1.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    x, y = toy_data()
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.3 * before
    references = unpad_labels(y)
    assert character_error_rate(references, model.recognize(x)) < 0.1
    assert character_error_rate(references, model.recognize(x, "beam", beam_width=4)) < 0.1


# --------------------------------------------------------------------------- model

def test_output_is_frame_log_probs_with_blank_last_and_padding_pinned():
    model = make(mask_value=-1.0, num_classes=5)
    assert model.blank == 5
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype("float32")
    x[0, 4:] = -1.0
    out = np.asarray(model(x))
    assert out.shape == (2, 6, 6)
    np.testing.assert_allclose(np.exp(out).sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.exp(out[0, 4:]), np.eye(6)[[5, 5]], atol=1e-6)


def test_masking_equals_unpadded_input():
    model = make(mask_value=-1.0)
    x = np.random.default_rng(1).normal(size=(1, 5, 4)).astype("float32")
    padded = np.concatenate([x, np.full((1, 4, 4), -1.0, "float32")], axis=1)
    np.testing.assert_allclose(model(padded)[:, :5], model(x), atol=1e-6)
    assert model.recognize(padded, "beam") == model.recognize(x, "beam")


def test_recognize_uses_the_shared_decoders_on_the_frame_posteriors():
    model = make(encoder=[rnnzoo.layers.Elman(4, seed=1), rnnzoo.layers.GRU(4, seed=2)],
                 merge_mode="sum")
    x = np.random.default_rng(2).normal(size=(3, 7, 4)).astype("float32")
    log_probs = model.predict(x, verbose=0)
    greedy = [[int(c) for i, c in enumerate(row) if c != 3 and (i == 0 or c != row[i - 1])]
              for row in np.argmax(log_probs, -1)]
    assert model.recognize(x) == greedy
    beam = model.recognize(x, "beam", beam_width=16)
    assert beam == rnnzoo.tasks.decoding.ctc_prefix_beam_search(log_probs, blank=3, beam_width=16)


def test_decoders_on_hand_made_frame_posteriors():
    from rnnzoo.tasks.decoding import ctc_greedy_decode, ctc_prefix_beam_search

    # Blank is the last class (2). Best path: 0 0 b 0 -> "0 0"; greedy and beam agree.
    frames = np.log(np.array([[0.8, 0.1, 0.1], [0.7, 0.1, 0.2], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]))
    assert ctc_greedy_decode(frames[None], blank=2) == [[0, 0]]
    assert ctc_prefix_beam_search(frames[None], blank=2, beam_width=4) == [[0, 0]]
    # Best path is all blank (0.6 * 0.6), but "1" collects 0.4*0.6 + 0.6*0.4 + 0.4*0.4 = 0.64.
    frames = np.log(np.array([[0.0, 0.4, 0.6], [0.0, 0.4, 0.6]]) + 1e-12)
    assert ctc_greedy_decode(frames[None], blank=2) == [[]]
    assert ctc_prefix_beam_search(frames[None], blank=2, beam_width=4) == [[1]]


def test_config_round_trip_and_saved_model_predictions(tmp_path):
    model = make(encoder=[rnnzoo.layers.LSTM(6, seed=1), rnnzoo.layers.IndRNN(5, seed=2)],
                 dropout=0.2, mask_value=-1.0, merge_mode="ave")
    model.compile()
    x, y = toy_data(8)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "ctc.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, CTCRecognizer)
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    assert isinstance(loaded.loss, CTCLoss) and loaded.loss.blank == 3
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.recognize(x, "beam") == model.recognize(x, "beam")
    rebuilt = CTCRecognizer.from_config(model.get_config())
    assert rebuilt.count_params() == model.count_params()


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": True}, "num_classes"),
        ({"input_shape": (None,)}, "input_shape"),
        ({"input_shape": (None, 0)}, "input_shape"),
        ({"merge_mode": "max"}, "merge_mode"),
        ({"dropout": 1.0}, "dropout"),
        ({"mask_value": "pad"}, "mask_value"),
        ({"encoder": "lstm"}, "encoder"),
        ({"encoder": []}, "encoder"),
        ({"encoder": keras.layers.Dense(4)}, "Bidirectional"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_bad_batches_are_refused_before_training():
    model = make(mask_value=-1.0)
    model.compile()
    x = np.zeros((2, 5, 4), "float32")
    x[1, 3:] = -1.0  # three valid frames
    with pytest.raises(ValueError, match="need 4 frames.*only 3 valid frames"):
        model.fit(x, np.array([[0, 1, -1], [2, 2, 1]]), verbose=0)  # repeat needs a blank
    with pytest.raises(ValueError, match="has 4 labels.*only 3"):
        model.check_batch(x, np.array([[0, 1, 2, 0], [0, 1, 2, 1]]))
    with pytest.raises(ValueError, match=r"\[0, 3\).*class 3 is the blank"):
        model.fit(x, np.array([[0, 3], [1, -1]]), verbose=0)
    with pytest.raises(ValueError, match="only after the labels"):
        model.fit(x, np.array([[0, -1, 1], [1, -1, -1]]), verbose=0)
    with pytest.raises(ValueError, match="labels of shape"):
        model.fit(x, np.array([0, 1]), verbose=0)
    with pytest.raises(ValueError, match="empty batch"):
        model.fit(np.zeros((0, 5, 4), "float32"), np.zeros((0, 2), "int64"), verbose=0)


def test_bad_inputs_to_recognize():
    model = make()
    with pytest.raises(ValueError, match=r"\(batch, frames, 4\), got \(2, 5, 3\)"):
        model.recognize(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="empty batch"):
        model.recognize(np.zeros((0, 5, 4), "float32"))
    with pytest.raises(ValueError, match="method"):
        model.recognize(np.zeros((1, 5, 4), "float32"), method="viterbi")
    with pytest.raises(ValueError, match="beam_width"):
        model.recognize(np.zeros((1, 5, 4), "float32"), method="beam", beam_width=0)
    with pytest.raises(ValueError, match="blank"):
        CTCLoss(blank=-1)


# --------------------------------------------------------------------------- recipe

TINY_RECIPE = """
name: elman_ctc_recognizer.tiny
task: ctc_recognizer
data: {source: digit_strips, config: len3, num_train: 64, num_test: 12}
model:
  encoder:
    - {layer: elman, units: 8}
training: {epochs: 1, batch_size: 32, beam_width: 2}
"""


@pytest.mark.slow
def test_recipe_measures_cer_and_the_oracle_baseline(tmp_path):
    from rnnzoo.presets.recipes import evaluate_preset, run_recipe
    from rnnzoo.presets.recipes.ctc import load_strips, oracle_segmentation_cer

    path = tmp_path / "recipe.yaml"
    path.write_text(TINY_RECIPE)
    metadata = run_recipe(path, tmp_path / "preset", verbose=0)
    metrics = metadata["metrics"]
    assert set(metrics) == {"cer_greedy", "cer_beam", "exact_match_greedy",
                            "oracle_segmentation_1nn_cer"}
    assert metadata["reference"]["numbers"] == {
        "oracle_segmentation_1nn_cer": metrics["oracle_segmentation_1nn_cer"]}
    assert metadata["dataset"]["num_characters"] == 36 and metadata["dataset"]["blank"] == 10
    result = evaluate_preset(tmp_path / "preset")
    assert result["metric"] == "cer_greedy" and result["higher_is_better"] is False
    assert abs(result["measured"] - result["recorded"]) <= result["tolerance"]
    # The oracle baseline is 1-NN against the training digits: training strips
    # (each digit its own nearest neighbour) score 0, test strips a little more.
    _, labels, indices = load_strips(metadata["dataset"], "train", -1.0)
    assert oracle_segmentation_cer(labels, indices, "train") == 0.0
    _, labels, indices = load_strips(metadata["dataset"], "test", -1.0)
    assert oracle_segmentation_cer(labels, indices, "test") == metrics[
        "oracle_segmentation_1nn_cer"] < 0.2
