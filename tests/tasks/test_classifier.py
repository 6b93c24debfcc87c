import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo.tasks import SequenceClassifier


def make(**kwargs):
    args = dict(backbone=rnnzoo.layers.IndRNN(8, seed=1), num_classes=3, input_shape=(None, 2))
    args.update(kwargs)
    return SequenceClassifier(**args)


def separable_data(n=96, time=12, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, time, 2)).astype("float32")
    x[:, :, 0] += (y[:, None] - 1).astype("float32")
    return x, y


@pytest.mark.parametrize("layer", ["elman", "indrnn", "jordan", "fully_recurrent"])
def test_any_registered_backbone_trains(layer):
    keras.utils.set_random_seed(0)
    kwargs = {"output_units": 4} if layer == "jordan" else {}
    model = make(backbone=rnnzoo.get_layer(layer)(16, seed=2, **kwargs))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = separable_data()
    before = model.evaluate(x, y, verbose=0)[0]
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss < before and accuracy > 0.9


def test_stacked_backbone_and_config_round_trip(tmp_path):
    model = make(
        backbone=[rnnzoo.layers.Elman(6, return_sequences=True, seed=1), rnnzoo.layers.IndRNN(5)],
        dropout=0.2,
        mask_value=0.0,
    )
    model.compile()
    x, y = separable_data(8)
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "clf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, SequenceClassifier)
    as_json = lambda config: json.loads(json.dumps(config))  # noqa: E731 (tuples vs lists)
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    assert loaded.compiled and isinstance(loaded.loss, keras.losses.SparseCategoricalCrossentropy)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_masking_ignores_padding():
    model = make(mask_value=0.0)
    x, _ = separable_data(4, time=6)
    padded = np.concatenate([x, np.zeros((4, 5, 2), "float32")], axis=1)
    np.testing.assert_allclose(model(padded), model(x), atol=1e-5)


def test_compile_defaults_and_overrides():
    model = make()
    model.compile()
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    model.compile(loss="mse", metrics=[])
    assert model.loss == "mse"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"num_classes": 2.0}, "num_classes"),
        ({"input_shape": (5,)}, "input_shape"),
        ({"input_shape": (None, 0)}, "input_shape"),
        ({"dropout": 1.0}, "dropout"),
        ({"backbone": "indrnn"}, "backbone"),
        ({"backbone": []}, "backbone"),
        ({"backbone": rnnzoo.layers.Elman(4, return_sequences=True)}, "return_sequences=False"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_wrong_feature_size_is_clear():
    model = make()
    with pytest.raises(ValueError, match="expected shape|incompatible|features"):
        model(np.zeros((2, 5, 3), "float32"))
