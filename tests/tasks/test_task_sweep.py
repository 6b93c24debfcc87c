"""Every registered task x a representative set of backbones: build, train a
step, round-trip through `.keras`, and export (the inference graph, or the
single decoding step for autoregressive tasks) to builtins-only TFLite."""

import json

import keras
import numpy as np
import pytest

import rnnzoo
from rnnzoo import registry
from tests.tasks.task_examples import TASK_EXAMPLES

BACKBONES = [name for name in ("elman", "indrnn", "lstm", "gru", "ctrnn") if name in rnnzoo.list_layers()]
TASKS = registry.TASKS.names()


def test_every_task_has_an_example():
    assert set(TASKS) == set(TASK_EXAMPLES)


def backbone(name):
    return rnnzoo.get_layer(name)(8, seed=1)


def as_json(config):
    return json.loads(json.dumps(config))


@pytest.mark.slow
@pytest.mark.parametrize("backbone_name", BACKBONES)
@pytest.mark.parametrize("task", TASKS)
def test_task_trains_saves_and_exports(task, backbone_name, tmp_path):
    keras.utils.set_random_seed(0)
    model, inputs, targets = TASK_EXAMPLES[task](backbone(backbone_name))
    model.fit(inputs, targets, epochs=1, batch_size=len(targets) if not isinstance(targets, dict)
              else 4, verbose=0)
    path = tmp_path / "task.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert as_json(loaded.get_config()) == as_json(model.get_config())
    expected = model.predict(inputs, verbose=0)
    actual = loaded.predict(inputs, verbose=0)
    for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        np.testing.assert_allclose(a, e, atol=1e-6)
    exportable = model.export_model() if hasattr(model, "export_model") else model
    report = rnnzoo.export(exportable, tmp_path / "task.tflite")
    assert report.max_abs_diff <= 1e-5
