"""The task HyperModels: contract checks, defaults, overrides, every cell type builds."""

import inspect

import keras
import keras_tuner
import numpy as np
import pytest

import rnnzoo
from rnnzoo import registry
from rnnzoo.tuning import hypermodels as hm
from rnnzoo.tuning import space
from rnnzoo.tuning.space import VARIANT_PARAMS, supported_cell_types, variant_params

VOCAB = ["<pad>", "<start>", "<end>", "zero", "one", "two"]

# task registry name -> factory(cell_types) of a tiny HyperModel
TINY = {
    "sequence_classifier": lambda c: hm.SequenceClassifierHyperModel((None, 2), 3, cell_types=c),
    "captioner": lambda c: hm.CaptionerHyperModel(
        VOCAB, (8, 12, 1), max_length=5, cell_types=c, embedding_dim=4, encoder_filters=(4,),
        image_embedding_dim=8),
    "anomaly_detector": lambda c: hm.AnomalyDetectorHyperModel(6, 2, mode="autoencoder",
                                                               cell_types=c),
    "seq2seq": lambda c: hm.Seq2SeqHyperModel(7, 6, 5, cell_types=c, embedding_dim=4),
    "ctc_recognizer": lambda c: hm.CTCRecognizerHyperModel(3, (None, 2), cell_types=c),
    "forecaster": lambda c: hm.ForecasterHyperModel(6, 3, 2, mode="autoregressive",
                                                    cell_types=c),
    "char_generator": lambda c: hm.CharGeneratorHyperModel("abc\n", cell_types=c,
                                                           embedding_dim=4),
    "sequence_predictor": lambda c: hm.SequencePredictorHyperModel(
        3, (None, 2), per_step=True, cell_types=c, loss="binary_crossentropy"),
}
CELLS = supported_cell_types()


def fixed(**values):
    hp = keras_tuner.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp


def recurrent_layers(model):
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.RNN) and not isinstance(layer,
                                                                  keras.layers.Bidirectional):
            found.append(layer)
    return found


def test_every_task_has_a_hypermodel():
    assert set(registry.TASKS.names()) == set(hm.HYPERMODELS.names()) == set(TINY)


def test_cell_types_default_to_every_stepwise_variant():
    stepwise = rnnzoo.list_layers(kind="stepwise")
    assert set(CELLS) <= set(stepwise)
    assert {"lstm", "gru", "esn", "indrnn", "ctrnn", "mtrnn", "jordan"} <= set(CELLS)
    assert hm.SequenceClassifierHyperModel((None, 2), 3).cell_types == CELLS


def test_classifier_defaults_are_the_zoo_defaults():
    model_hm = hm.SequenceClassifierHyperModel((None, 2), 3)
    hp = keras_tuner.HyperParameters()
    model = model_hm.build(hp)
    values = hp.values
    assert values["cell_type"] == "lstm" and values["units"] == 64
    assert values["num_layers"] == 1 and values["bidirectional"] is False
    task_default_dropout = inspect.signature(rnnzoo.tasks.SequenceClassifier).parameters
    assert values["dropout"] == task_default_dropout["dropout"].default == 0.0
    # the task's own compile() default optimizer
    reference = rnnzoo.tasks.SequenceClassifier(rnnzoo.layers.LSTM(4), 3, (None, 2))
    reference.compile()
    assert values["learning_rate"] == pytest.approx(
        float(reference.optimizer.learning_rate.numpy()))
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    (layer,) = recurrent_layers(model)
    assert isinstance(layer, rnnzoo.layers.LSTM) and layer.units == 64
    assert not layer.return_sequences


@pytest.mark.parametrize("task, clipnorm", [("char_generator", 5.0), ("ctc_recognizer", 5.0),
                                            ("forecaster", None)])
def test_learning_rate_and_clipping_follow_the_task_compile(task, clipnorm):
    hp = keras_tuner.HyperParameters()
    model = TINY[task](["gru"]).build(hp)
    reference = TINY[task](["gru"]).build(fixed(cell_type="gru"))
    reference.compile()  # the task's "auto" defaults
    assert hp.values["learning_rate"] == pytest.approx(
        float(reference.optimizer.learning_rate.numpy()))
    assert model.optimizer.clipnorm == reference.optimizer.clipnorm == clipnorm


def test_variant_parameter_defaults_are_the_layer_defaults():
    checked = 0
    for name in VARIANT_PARAMS:
        if name not in registry.LAYERS:
            continue  # e.g. a memory-augmented layer not installed: no scope, no error
        cell = rnnzoo.get_layer(name)(6, **space.REQUIRED_ARGS.get(name, lambda u: {})(6)).cell
        for hp_name, param, default in variant_params(name):
            if param.kind == "constraint":
                assert default is (cell.max_timesteps is not None)
            else:
                value = getattr(cell, hp_name)
                value = param.encode(value) if param.encode else value
                assert value == default, (name, hp_name)
            checked += 1
    assert checked >= 6


def test_variant_params_of_an_unregistered_layer_are_skipped(monkeypatch):
    monkeypatch.setitem(VARIANT_PARAMS, "no_such_layer",
                        (space.VariantParam(("memory_rows",), "int", 4, 8),))
    assert variant_params("no_such_layer") == []


def test_conditional_scopes_hold_each_variants_knobs():
    model_hm = hm.SequenceClassifierHyperModel((150, 1), 2, cell_types=["lstm", "esn", "indrnn",
                                                                         "ctrnn", "mtrnn"])
    hp = keras_tuner.HyperParameters()
    model_hm.build(hp)
    names = {p.name: p for p in hp.space}
    for knob, cell in [("spectral_radius", "esn"), ("leak_rate", "esn"),
                       ("connectivity", "esn"), ("recurrent_constraint", "indrnn"),
                       ("time_constant", "ctrnn"), ("timescales", "mtrnn")]:
        (condition,) = names[knob].conditions
        assert condition.get_config() == {"name": "cell_type", "values": [cell]}
        assert not hp.is_active(knob)  # lstm is the default


def test_fixed_overrides_reach_the_model():
    model_hm = hm.SequenceClassifierHyperModel((None, 1), 2)
    hp = fixed(cell_type="esn", units=16, num_layers=3, bidirectional=True, dropout=0.2,
               learning_rate=0.005, spectral_radius=1.2, leak_rate=0.3, connectivity=0.5)
    model = model_hm.build(hp)
    layers = recurrent_layers(model)
    assert len(layers) == 6  # 3 layers x 2 directions
    assert all(isinstance(layer, rnnzoo.layers.ESN) and layer.units == 16 for layer in layers)
    cell = layers[0].cell
    assert (cell.spectral_radius, cell.leak_rate, cell.connectivity) == (1.2, 0.3, 0.5)
    # stacking done right: every layer but the last returns sequences
    wrappers = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert [w.forward_layer.return_sequences for w in wrappers] == [True, True, False]
    assert model.get_layer("head_dropout").rate == pytest.approx(0.2)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.005)
    assert model(np.zeros((2, 4, 1), "float32")).shape == (2, 2)


def test_indrnn_recurrent_constraint_uses_the_sequence_length():
    model = hm.SequenceClassifierHyperModel((None, 1), 2, max_timesteps=100).build(
        fixed(cell_type="indrnn", recurrent_constraint=True))
    (layer,) = recurrent_layers(model)
    assert layer.cell.max_timesteps == 100
    # an open length and no max_timesteps: the clip is not part of the space
    hp = fixed(cell_type="indrnn")
    hm.SequenceClassifierHyperModel((None, 1), 2, cell_types=["indrnn"]).build(hp)
    assert "recurrent_constraint" not in {p.name for p in hp.space}


def test_mtrnn_timescales_and_ctrnn_time_constant():
    model = hm.ForecasterHyperModel(8, 2).build(fixed(cell_type="mtrnn", timescales="1,4,16"))
    assert recurrent_layers(model)[0].cell.timescales == (1.0, 4.0, 16.0)
    model = hm.ForecasterHyperModel(8, 2).build(fixed(cell_type="ctrnn", time_constant=7.5))
    assert recurrent_layers(model)[0].cell.time_constant == 7.5


@pytest.mark.parametrize("memory", ["ntm", "dnc"])
def test_memory_networks_tune_their_memory_size(memory):
    if memory not in registry.LAYERS:
        assert memory not in CELLS
        return
    names = [hp_name for hp_name, _, _ in variant_params(memory)]
    assert names, f"{memory} is registered but none of its memory-size arguments was found"
    model = hm.SequenceClassifierHyperModel((None, 2), 2, cell_types=[memory]).build(
        fixed(units=8, **{names[0]: 8}))
    assert getattr(recurrent_layers(model)[0].cell, names[0]) == 8


def test_every_cell_type_builds_a_classifier():
    model_hm = TINY["sequence_classifier"](CELLS)
    for cell in CELLS:  # building the functional graph runs every layer symbolically
        model = model_hm.build(fixed(cell_type=cell, units=8, num_layers=2))
        assert model.output_shape == (None, 3), cell
        assert [layer.return_sequences for layer in recurrent_layers(model)] == [True, False]


# Every cell type in every other task, num_layers=2 so the stacking of every
# variant is exercised (building a graph is cheap: about 5 s for all of them).
OTHER_TASKS = sorted(set(TINY) - {"sequence_classifier"})


@pytest.mark.parametrize("task", OTHER_TASKS)
def test_cell_types_build_every_task(task):
    model_hm = TINY[task](CELLS)
    for cell in CELLS:
        model = model_hm.build(fixed(cell_type=cell, units=8, num_layers=2))
        assert isinstance(model, model_hm.task_class), (task, cell)
        assert model.optimizer is not None
        assert len(recurrent_layers(model)) >= 2, (task, cell)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: hm.SequenceClassifierHyperModel((None, 0), 3), "input_shape"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 1), "num_classes"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, cell_types=["lstmm"]),
         "Did you mean 'lstm'"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, cell_types="lstm"), "cell_types"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, cell_types=["lstm", "lstm"]),
         "distinct"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, dropout=0.1), "dropout"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, colour=1), "colour"),
        (lambda: hm.CaptionerHyperModel(["a", "b"], (8, 8, 1)), "vocabulary"),
        (lambda: hm.CaptionerHyperModel(VOCAB, (8, 8)), "image_shape"),
        (lambda: hm.AnomalyDetectorHyperModel(1, mode="autoencoder"), "window"),
        (lambda: hm.AnomalyDetectorHyperModel(8, mode="both"), "mode"),
        (lambda: hm.Seq2SeqHyperModel(5, 2, 4), "target_vocabulary_size"),
        (lambda: hm.CTCRecognizerHyperModel(0, (None, 2)), "num_classes"),
        (lambda: hm.ForecasterHyperModel(8, 0), "horizon"),
        (lambda: hm.CharGeneratorHyperModel("aa"), "vocabulary"),
        (lambda: hm.CharGeneratorHyperModel(seed=1.5), "seed"),
        (lambda: hm.SequencePredictorHyperModel(1, (None, 2), per_step=1), "per_step"),
        (lambda: hm.SequenceClassifierHyperModel((None, 2), 2, max_timesteps=0),
         "max_timesteps"),
    ],
)
def test_contract_errors_are_clear(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_structured_layers_are_refused_as_cell_types():
    structured = rnnzoo.list_layers(kind="structured")
    if not structured:
        return
    with pytest.raises(ValueError, match="step-wise"):
        hm.SequenceClassifierHyperModel((None, 2), 2, cell_types=[structured[0]])


def test_bidirectional_only_where_the_task_takes_it():
    for task, expected in [("char_generator", False), ("captioner", False),
                           ("ctc_recognizer", False), ("forecaster", False),
                           ("anomaly_detector", False), ("seq2seq", True),
                           ("sequence_predictor", True)]:
        hp = keras_tuner.HyperParameters()
        TINY[task](["gru"]).build(hp)
        assert ("bidirectional" in hp.values) is expected, task
    hp = keras_tuner.HyperParameters()
    hm.ForecasterHyperModel(6, 2).build(hp)  # direct mode reads a window both ways
    assert "bidirectional" in hp.values
