"""Recipe handler of `compressor_classifier`: a history compressor on long-lag labels.

Exactly the `sequence_classifier` recipe (same data, model and training
sections, same optional `baseline` backbone trained the same way, e.g. a
single LSTM of the same parameter budget), plus what history compression is
about: how many inputs reach the upper levels. After training, the handler
runs the backbone's `history_compressor` layer on the evaluation split and
records, per upper level `k`, `pass_rate_level<k>`: the fraction of steps
whose input reached level `k`. When the dataset marks the steps that no
predictor can foresee (a `surprise` feature, as `surprises` does),
`true_surprise_rate` is recorded beside it: the best a perfect automatizer
could do.
"""

import numpy as np

from rnnzoo.presets.recipes.base import RecipeError, register_task_recipe
from rnnzoo.presets.recipes.classifier import ClassifierRecipe, load_split


def _compressor(model):
    from rnnzoo.layers import HistoryCompressor

    found = [layer for layer in model.layers if isinstance(layer, HistoryCompressor)]
    if len(found) != 1:
        raise RecipeError(
            "model.backbone: a compressor_classifier needs exactly one history_compressor "
            f"layer in its backbone, found {len(found)}."
        )
    return found[0]


def pass_rates(model, x, batch_size=250):
    """Mean fraction of steps reaching each upper level, `{"pass_rate_level1": ...}`."""
    layer = _compressor(model)
    mask = None
    if getattr(model, "mask_value", None) is not None:  # padded steps are masked
        mask = np.any(x != model.mask_value, axis=-1)
    rates = np.concatenate([
        layer.pass_rates(x[i : i + batch_size],
                         mask=None if mask is None else mask[i : i + batch_size])
        for i in range(0, len(x), batch_size)
    ])
    return {f"pass_rate_level{k + 1}": float(rates[:, k].mean()) for k in range(rates.shape[1])}


@register_task_recipe
class CompressorRecipe(ClassifierRecipe):
    task = "compressor_classifier"

    def check(self, recipe):
        super().check(recipe)
        if recipe.model.backbone[0].layer not in ("history_compressor",
                                                  "neural_history_compressor"):
            raise RecipeError("model.backbone: the first layer of a compressor_classifier "
                              f"is a history_compressor, got {recipe.model.backbone[0].layer!r}.")

    def train(self, recipe, verbose):
        trained = super().train(recipe, verbose)
        data = recipe.data.model_dump()
        test = load_split(data, recipe.data.eval_split)
        trained.metrics.update(pass_rates(trained.model, test.x))
        if data["source"] == "catalog":
            from rnnzoo.data import load_numpy

            arrays = load_numpy(data["name"], recipe.data.eval_split, config=data["config"],
                                seed=data["seed"], **data["overrides"])
            if "surprise" in arrays:
                trained.metrics["true_surprise_rate"] = float(np.mean(arrays["surprise"]))
        return trained
