"""The seq2seq recipe handler: a tiny run, its metadata, re-evaluation, bad recipes."""

import textwrap

import pytest

from rnnzoo.presets import load, read_metadata
from rnnzoo.presets.recipes import RecipeError, TASK_RECIPES, read_recipe, run_recipe

TINY = """
name: gru_seq2seq.unittest
seed: 2
task: seq2seq
data: {source: number_words, config: en6, num_train: 128, num_test: 16}
model:
  encoder:
    - {layer: gru, units: 4}
  bidirectional: true
  decoder:
    - {layer: elman, units: 8}
  embedding_dim: 4
  attention: general
training: {epochs: 1, batch_size: 64, beam_width: 2}
"""


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.slow
def test_tiny_recipe_records_metrics_and_the_no_attention_baseline(tmp_path):
    out = tmp_path / "gru_seq2seq.unittest"
    metadata = run_recipe(write(tmp_path, TINY), out, verbose=0)
    assert set(metadata["metrics"]) == {"exact_match_greedy", "exact_match_beam",
                                        "token_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in metadata["metrics"].values())
    numbers = metadata["reference"]["numbers"]
    assert set(numbers) == {"no_attention_" + k for k in metadata["metrics"]}
    assert "without attention" in metadata["reference"]["source"]
    assert metadata["dataset"]["num_examples"] == 16 and metadata["training"]["beam_width"] == 2
    assert len(metadata["source_vocabulary"]) == 32 and len(metadata["target_vocabulary"]) == 13
    model = load(out)
    assert model.attention == "general" and model.max_source_length == 11
    assert read_metadata(out)["weights_sha256"] == metadata["weights_sha256"]
    handler = TASK_RECIPES.get("seq2seq")
    assert handler.evaluate(model, metadata) == pytest.approx(metadata["metrics"], abs=1e-6)


@pytest.mark.parametrize("change, message", [
    (("attention: general", "attention: concat"), "model.attention"),
    (("config: en6", "config: en9"), "data.config"),
    (("beam_width: 2", "beam_width: 0"), "training.beam_width"),
    (("bidirectional: true", "bidirectional: 1"), "model.bidirectional"),
    (("  decoder:\n    - {layer: elman, units: 8}\n", ""), "model.decoder"),
])
def test_bad_recipes_are_refused(tmp_path, change, message):
    text = TINY.replace(*change)
    assert text != TINY
    with pytest.raises(RecipeError, match=message):
        read_recipe(write(tmp_path, text))
