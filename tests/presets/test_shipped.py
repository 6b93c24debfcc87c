"""The shipped presets: complete, checksummed, and still reaching their recorded metric."""

import numpy as np
import pytest

import rnnzoo
from rnnzoo.presets import read_metadata
from rnnzoo.presets.recipes import evaluate_preset, read_recipe
from rnnzoo.presets.recipes.base import TASK_RECIPES

PRESETS = rnnzoo.list_presets()


def test_the_required_presets_ship():
    assert {"indrnn_classifier.gunpoint", "elman_classifier.italypowerdemand"} <= set(PRESETS)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_shipped_weights_reach_recorded_metric(name):
    result = evaluate_preset(name)
    # Same weights, same data: only float reordering across machines may move a
    # borderline example; each task's handler says how much (one example for
    # accuracies).
    gap = result["recorded"] - result["measured"]
    if not result["higher_is_better"]:
        gap = -gap
    assert gap <= result["tolerance"], result


@pytest.mark.parametrize("name", PRESETS)
def test_metadata_is_complete_and_recipe_exists(name, repo_root):
    metadata = read_metadata(name)
    for key in ("dataset", "metrics", "primary_metric", "reference", "parameter_count",
                "weights_sha256", "recipe", "license"):
        assert metadata.get(key) is not None, key
    recipe = read_recipe(repo_root / metadata["recipe"])
    assert recipe.name == name == metadata["name"]
    assert metadata["reference"]["numbers"], "published numbers go beside ours"


def _batch_size(inputs):
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs
    return min(len(first), 8)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_shipped_preset_loads_and_fine_tunes(name):
    metadata = read_metadata(name)
    handler = TASK_RECIPES.get(metadata["task"])
    model = rnnzoo.load(name)
    x, y = handler.fine_tune_batch(metadata)
    before = [np.array(w) for w in model.trainable_weights]
    assert before, "a fine-tunable preset has trainable weights"
    history = model.fit(x, y, epochs=1, batch_size=_batch_size(x), verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss), loss
    changed = [not np.array_equal(old, np.array(new))
               for old, new in zip(before, model.trainable_weights)]
    assert any(changed), "one epoch of fit changed no trainable weight"
