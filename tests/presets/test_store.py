import json
import os
import shutil

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.presets import PresetError, load, read_metadata, save_preset
from rnnzoo.tasks import SequenceClassifier


def tiny_metadata(name="elman_classifier.test"):
    return {
        "name": name,
        "task": "sequence_classifier",
        "dataset": {"source": "ucr", "name": "UnitTest", "split": "test"},
        "metrics": {"accuracy": 0.5},
        "recipe": "zoo_configs/none.yaml",
        "license": "Apache-2.0",
    }


@pytest.fixture
def preset_dir(tmp_path):
    model = SequenceClassifier(rnnzoo.layers.Elman(4, seed=1), num_classes=2, input_shape=(None, 1))
    folder = tmp_path / "elman_classifier.test"
    save_preset(model, folder, tiny_metadata())
    return folder, model


def test_round_trip_loads_compiled_identical_model(preset_dir):
    folder, model = preset_dir
    assert sorted(os.listdir(folder)) == ["config.json", "metadata.json", "model.weights.h5"]
    metadata = read_metadata(folder)
    assert metadata["parameter_count"] == model.count_params()
    assert len(metadata["weights_sha256"]) == 64
    loaded = load(folder)
    x = np.random.default_rng(0).normal(size=(3, 7, 1)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled
    loaded.fit(x, np.array([0, 1, 0]), epochs=1, verbose=0)


def test_damaged_weights_are_refused(preset_dir):
    folder, _ = preset_dir
    weights = folder / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(PresetError, match="do not match their checksum"):
        load(folder)


def test_foreign_weights_with_matching_checksum_are_refused(preset_dir, tmp_path):
    folder, _ = preset_dir
    other = SequenceClassifier(rnnzoo.layers.IndRNN(9), num_classes=3, input_shape=(None, 2))
    foreign = tmp_path / "foreign.weights.h5"
    other.save_weights(foreign)
    shutil.copy(foreign, folder / "model.weights.h5")
    metadata = json.loads((folder / "metadata.json").read_text())
    from rnnzoo.presets.store import sha256_file

    metadata["weights_sha256"] = sha256_file(folder / "model.weights.h5")
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(PresetError, match="does not fit the model"):
        load(folder)


def test_not_a_weights_file_is_refused(preset_dir):
    folder, _ = preset_dir
    (folder / "model.weights.h5").write_bytes(b"not an h5 file at all")
    metadata = json.loads((folder / "metadata.json").read_text())
    from rnnzoo.presets.store import sha256_file

    metadata["weights_sha256"] = sha256_file(folder / "model.weights.h5")
    (folder / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(PresetError, match="does not fit|cannot|Unable"):
        load(folder)


def test_unsafe_or_foreign_config_is_refused(preset_dir):
    folder, _ = preset_dir
    (folder / "config.json").write_text(json.dumps({"class_name": "Lambda", "config": {}}))
    with pytest.raises(PresetError, match="config"):
        load(folder)
    (folder / "config.json").write_text("[1, 2]")
    with pytest.raises(PresetError, match="JSON object"):
        load(folder)


@pytest.mark.parametrize("name", ["../etc", "a/b", "..\\x", "/abs/path", "./here"])
def test_names_with_path_separators_are_refused(name):
    with pytest.raises(PresetError, match="path separators|preset folder"):
        load(name)


def test_unknown_name_suggests(monkeypatch):
    with pytest.raises(PresetError, match="Did you mean 'indrnn_classifier.gunpoint'"):
        load("indrnn_classifier.gunpont")


def test_incomplete_folder(preset_dir):
    folder, _ = preset_dir
    os.remove(folder / "config.json")
    with pytest.raises(PresetError, match=r"missing \['config.json'\]"):
        load(folder)


def test_save_refuses_existing_and_bad_names(preset_dir, tmp_path):
    folder, model = preset_dir
    with pytest.raises(PresetError, match="exists"):
        save_preset(model, folder, tiny_metadata())
    with pytest.raises(ValueError, match="preset name"):
        save_preset(model, tmp_path / "x", tiny_metadata(name="Bad Name"))
    incomplete = tiny_metadata()
    del incomplete["license"]
    with pytest.raises(PresetError, match="license"):
        save_preset(model, tmp_path / "y", incomplete)
    assert not (tmp_path / "y").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]


def test_keras_objects_survive_loading(preset_dir):
    folder, _ = preset_dir
    model = load(folder, compile=False)
    assert isinstance(model, SequenceClassifier) and not model.compiled
    assert isinstance(model.backbone_layers[0], rnnzoo.layers.Elman)
    assert keras.saving.get_registered_name(type(model)) == "rnnzoo>SequenceClassifier"


def test_weights_file_holds_no_optimizer_state(tmp_path):
    model = SequenceClassifier(rnnzoo.layers.Elman(16, seed=1), num_classes=2, input_shape=(None, 1))
    model.compile()
    x = np.random.default_rng(0).normal(size=(8, 5, 1)).astype("float32")
    model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)  # creates Adam's slots
    save_preset(model, tmp_path / "p", tiny_metadata())
    import h5py

    with h5py.File(tmp_path / "p" / "model.weights.h5") as handle:
        names = []
        handle.visit(names.append)
    assert not [n for n in names if "optimizer" in n], names
    loaded = load(tmp_path / "p")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
