"""Tuners over the HyperModels: a 2-trial search end to end, factories, roles."""

import keras_tuner
import pytest

import rnnzoo
from rnnzoo.tuning import tuners


def tiny_data(rng, n=16):
    x = rng.normal(size=(n, 5, 2)).astype("float32")
    y = (x[:, :, 0].mean(axis=1) > 0).astype("int32")
    return x, y


def test_two_trial_search_runs_end_to_end(tmp_path, rng):
    hp = keras_tuner.HyperParameters()
    hp.Fixed("units", 8)
    tuner = rnnzoo.tuning.classifier_search(
        input_shape=(None, 2), num_classes=2, cell_types=["gru", "elman"], max_trials=2,
        seed=3, directory=str(tmp_path), tuner_kwargs={"hyperparameters": hp})
    assert isinstance(tuner, keras_tuner.RandomSearch)
    assert tuner.oracle.objective.name == "val_accuracy"
    x, y = tiny_data(rng)
    assert tuners.search(tuner, x, y, validation_data=(x[:8], y[:8]), epochs=1, batch_size=8,
                         verbose=0) is tuner
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2 and all(t.status == "COMPLETED" for t in trials)
    assert all(0.0 <= t.score <= 1.0 for t in trials)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    assert best_hp.get("units") == 8 and best_hp.get("cell_type") in ("gru", "elman")
    best = tuner.get_best_models(1)[0]
    assert isinstance(best, rnnzoo.tasks.SequenceClassifier)
    assert best.predict(x, verbose=0).shape == (16, 2)


@pytest.mark.parametrize("name, expected", [("Hyperband", keras_tuner.Hyperband),
                                            ("BayesianOptimization",
                                             keras_tuner.BayesianOptimization)])
def test_other_tuners(tmp_path, name, expected):
    tuner = rnnzoo.tuning.forecaster_search(window=6, horizon=2, cell_types=["gru"],
                                            tuner=name, max_trials=3, max_epochs=3,
                                            directory=str(tmp_path))
    assert isinstance(tuner, expected)
    assert tuner.oracle.objective.name == "val_loss"


def test_make_tuner_errors(tmp_path):
    model_hm = rnnzoo.tuning.CharGeneratorHyperModel("ab", cell_types=["gru"])
    with pytest.raises(ValueError, match="tuner"):
        tuners.make_tuner(model_hm, tuner="GridSearch")
    with pytest.raises(ValueError, match="max_epochs"):
        tuners.make_tuner(model_hm, tuner="Hyperband", directory=str(tmp_path))
    with pytest.raises(ValueError, match="hypermodel"):
        tuners.make_tuner(object())


def test_factories_cover_every_hypermodel():
    names = [n for n in rnnzoo.tuning.__all__ if n.endswith("_search")]
    assert len(names) == 8
    for name in names:
        assert getattr(rnnzoo.tuning, name).__name__ == name


def test_role_reads_keras_tuner_variables(monkeypatch):
    for key in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID"):
        monkeypatch.delenv(key, raising=False)
    assert tuners.role() == "local"
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="KERASTUNER_ORACLE_PORT"):
        tuners.role()
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    assert tuners.role() == "chief"
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    assert tuners.role() == "worker"
