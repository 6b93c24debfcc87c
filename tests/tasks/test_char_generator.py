import json
import math

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.data import text as shakespeare
from rnnzoo.export.exporter import run_tflite
from rnnzoo.presets.recipes.char_generator import nats_per_char, unigram_nats_per_char
from rnnzoo.tasks import CharGenerator
from rnnzoo.tasks.char_generator import DEFAULT_VOCABULARY

VOCABULARY = "dehlorw \n"
TEXT = "hello world\n" * 40


def windows(model, text, length=16, stride=4):
    ids = model.encode(text)
    starts = np.arange(0, len(ids) - length - 1, stride)
    return (np.stack([ids[s:s + length] for s in starts]),
            np.stack([ids[s + 1:s + length + 1] for s in starts]))


@pytest.fixture(scope="module")
def trained():
    """An LSTM language model that has learnt "hello world\\n" (two states per step)."""
    keras.utils.set_random_seed(0)
    model = CharGenerator(rnnzoo.layers.LSTM(24, seed=1), vocabulary=VOCABULARY, embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    x, y = windows(model, TEXT)
    model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    return model


def test_shapes_and_default_vocabulary():
    model = CharGenerator(rnnzoo.layers.Elman(8, seed=1))
    assert model.vocabulary == DEFAULT_VOCABULARY and model.vocabulary_size == 80
    assert tuple(model(np.zeros((3, 5), "int32")).shape) == (3, 5, 80)
    line = "To be, or not to be: that is the question.\nHAMLET:"
    np.testing.assert_array_equal(model.encode(line), shakespeare.encode(line))
    assert model.decode(model.encode(line)) == line


def test_unknown_characters_map_to_the_oov_id():
    model = CharGenerator(rnnzoo.layers.Elman(4, seed=1), vocabulary="ab")
    assert model.encode("abz").tolist() == [1, 2, 0]
    assert model.decode([1, 0, 2, 7]) == "a" + shakespeare.OOV_CHAR + "b" + shakespeare.OOV_CHAR


def test_step_model_matches_the_sequence_model_for_a_stack():
    model = CharGenerator(
        [rnnzoo.layers.LSTM(6, seed=1), rnnzoo.layers.GRU(5, seed=2),
         rnnzoo.layers.Elman(4, seed=3)],
        vocabulary="abc",
    )
    assert model.state_sizes == [6, 6, 5, 4]
    step = model.export_model()
    shapes = [tuple(t.shape) for t in step.inputs]
    assert shapes == [(None, 1), (None, 6), (None, 6), (None, 5), (None, 4)]
    ids = np.random.default_rng(0).integers(0, 4, (2, 7)).astype("int32")
    logits = np.asarray(model(ids), "float64")
    expected = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    states = model.initial_states(2)
    for t in range(ids.shape[1]):
        log_probs, *states = [np.asarray(o) for o in step([ids[:, t:t + 1], *states])]
        np.testing.assert_allclose(log_probs, expected[:, t], atol=1e-5)
    assert model.export_model() is step  # built once, shares the weights


def test_training_lowers_the_loss_and_learns_the_text(trained):
    x, y = windows(trained, TEXT)
    loss, bits, accuracy = trained.evaluate(x, y, verbose=0)
    assert loss < 0.3 and accuracy > 0.9
    assert bits == pytest.approx(loss / math.log(2), rel=1e-4)
    fresh = CharGenerator(rnnzoo.layers.LSTM(24, seed=1), vocabulary=VOCABULARY, embedding_dim=8)
    fresh.compile()
    assert fresh.evaluate(x, y, verbose=0)[0] > 1.5


def test_greedy_and_beam_continue_the_prompt(trained):
    assert trained.generate("hel", 14, temperature=0) == "lo world\nhello"
    assert trained.generate("hel", 14, method="greedy") == "lo world\nhello"
    assert trained.generate("wor", 9, method="beam", beam_width=3) == "ld\nhello "
    assert trained.generate("hel", 14, top_k=1, seed=3) == "lo world\nhello"


def test_sampling_is_seeded_and_uses_temperature(trained):
    first = trained.generate("hello", 40, temperature=1.5, seed=7)
    assert first == trained.generate("hello", 40, temperature=1.5, seed=7)
    assert len(first) == 40 and set(first) <= set(VOCABULARY) | {shakespeare.OOV_CHAR}
    hot = {trained.generate("h", 30, temperature=5.0, seed=s) for s in range(3)}
    assert len(hot) == 3  # a flat distribution does not repeat itself


def test_exported_step_in_a_litert_loop_reproduces_greedy_generation(trained, tmp_path):
    report = rnnzoo.export(trained.export_model(), tmp_path / "step.tflite")
    assert report.max_abs_diff <= 1e-5
    assert not [op for op in report.ops if op.startswith("Flex") or op == "CUSTOM"]
    prompt, steps = "wo", 12
    states = trained.initial_states(1)
    ids = trained.encode(prompt)
    for token in ids[:-1]:  # warm up on the prompt, as generate() does
        _, *states = run_tflite(report.path, [np.array([[token]], "int32"), *states])
    token, emitted = int(ids[-1]), []
    for _ in range(steps):
        log_probs, *states = run_tflite(report.path, [np.array([[token]], "int32"), *states])
        assert log_probs.shape == (1, trained.vocabulary_size)
        token = int(np.argmax(log_probs[0]))
        emitted.append(token)
    assert trained.decode(emitted) == trained.generate(prompt, steps, temperature=0)


def test_keras_round_trip_keeps_vocabulary_weights_and_compile(trained, tmp_path):
    path = tmp_path / "lm.keras"
    trained.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, CharGenerator) and loaded.vocabulary == VOCABULARY
    as_json = lambda config: json.loads(json.dumps(config))  # noqa: E731 (tuples vs lists)
    assert as_json(loaded.get_config()) == as_json(trained.get_config())
    x, y = windows(trained, TEXT)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), trained.predict(x, verbose=0),
                               atol=1e-5)
    assert loaded.generate("hel", 10, temperature=0) == trained.generate("hel", 10, temperature=0)
    assert [m.name for m in loaded.metrics] == [m.name for m in trained.metrics]


def test_compile_defaults_and_overrides():
    model = CharGenerator(rnnzoo.layers.GRU(4, seed=1), vocabulary="ab")
    model.compile()
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    model.compile(loss="mse", metrics=[])
    assert model.loss == "mse"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": ""}, "vocabulary"),
        ({"vocabulary": "abca"}, "repeats"),
        ({"vocabulary": "ab" + shakespeare.OOV_CHAR}, "unknown-character"),
        ({"vocabulary": ["a", "b"]}, "vocabulary"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"dropout": 1.0}, "dropout"),
        ({"backbone": keras.layers.Dense(4)}, "recurrent layers"),
        ({"backbone": "lstm"}, "backbone"),
        ({"backbone": rnnzoo.layers.GRU(4, go_backwards=True)}, "left to right"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    args = {"backbone": rnnzoo.layers.GRU(4, seed=1), "vocabulary": "ab"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        CharGenerator(**args)


def test_ids_from_another_vocabulary_and_empty_batches_are_refused():
    model = CharGenerator(rnnzoo.layers.GRU(4, seed=1), vocabulary="ab")
    model.compile()
    with pytest.raises(ValueError, match=r"\[0, 3\).*another vocabulary"):
        model.fit(np.array([[1, 2, 5]]), np.array([[2, 1, 1]]), verbose=0)
    with pytest.raises(ValueError, match="another vocabulary"):
        model.fit(np.array([[1, 2, 1]]), np.array([[2, 1, -1]]), verbose=0)
    with pytest.raises(ValueError, match="at least one example"):
        model.predict(np.zeros((0, 4), "int32"), verbose=0)
    with pytest.raises(ValueError, match="integer character ids"):
        model.predict(np.array([[0.5, 1.0]]), verbose=0)
    with pytest.raises(ValueError, match=r"\(batch, timesteps\)"):
        model.predict(np.zeros((2, 4, 1), "int32"), verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompt": ""}, "non-empty string"),
        ({"prompt": 3}, "non-empty string"),
        ({"length": 0}, "length"),
        ({"temperature": -1.0}, "temperature"),
        ({"method": "nucleus"}, "method"),
        ({"top_k": 0}, "top_k"),
    ],
)
def test_bad_generation_arguments_are_refused(kwargs, message):
    model = CharGenerator(rnnzoo.layers.GRU(4, seed=1), vocabulary="ab")
    args = {"prompt": "ab", "length": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        model.generate(**args)


def test_nats_per_char_matches_the_keras_loss_and_the_unigram_baseline_by_hand(trained):
    x, y = windows(trained, TEXT)
    loss = trained.evaluate(x, y, batch_size=len(x), verbose=0)[0]
    assert nats_per_char(trained, x, y, batch_size=7) == pytest.approx(loss, rel=1e-4)
    # Counts of ids 0..2 in "training" [1, 1, 2] are 0, 2, 1; add-one: 1, 3, 2 out of 6.
    expected = -(math.log(3 / 6) + math.log(2 / 6)) / 2
    assert unigram_nats_per_char([1, 1, 2], [1, 2], 3) == pytest.approx(expected)
