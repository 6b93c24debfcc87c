"""What every task's recipe shares: strict schemas, the handler base, small helpers.

A recipe is YAML with a fixed top level (name, description, seed, task, data,
model, training, reference, license). The `task` key picks a `TaskRecipe`
handler, which brings the schemas of its `data`, `model` and `training`
sections and knows how to train and evaluate that task. Handlers register
with `register_task_recipe` and live one per module in this package.
"""

import dataclasses
from typing import Annotated, Any, Dict, List, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from rnnzoo import registry

Number = Union[StrictInt, StrictFloat]
# Layer arguments: scalars, a list of numbers (e.g. clock periods, a time-constant
# range), or a serialized Keras object (an initializer) as a mapping.
ArgValue = Union[StrictBool, StrictInt, StrictFloat, StrictStr, None, List[Number],
                 Dict[StrictStr, Any]]

TASK_RECIPES = registry.Registry("recipe task")


class RecipeError(ValueError):
    """A recipe file that cannot be read or does not fit the schema."""


class Strict(BaseModel):
    """Base of every recipe section: unknown keys and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LayerSpec(Strict):
    """One recurrent layer of a backbone: a registered zoo name, units, arguments.

    `units` is an int, or a list of ints for layers that take one size per
    part (the layers of an `rmlp`, the groups of an `mtrnn`).
    """

    layer: StrictStr
    units: Union[Annotated[StrictInt, Field(gt=0)],
                 Annotated[List[Annotated[StrictInt, Field(gt=0)]], Field(min_length=1)]]
    args: Dict[StrictStr, ArgValue] = {}


class TrainingSpec(Strict):
    """The common `training` section (a handler may extend it)."""

    epochs: StrictInt = Field(gt=0)
    batch_size: StrictInt = Field(default=16, gt=0)
    learning_rate: Number = Field(default=1e-3, gt=0)
    clipnorm: Optional[Number] = Field(default=None, gt=0)
    reduce_lr_patience: Optional[StrictInt] = Field(default=None, gt=0)


class Reference(Strict):
    """Published numbers to put beside ours, with their source."""

    source: StrictStr
    numbers: Dict[StrictStr, Number]


class RecipeHeader(Strict):
    """The top level of every recipe; the three sections are checked by the handler."""

    name: StrictStr
    description: StrictStr = ""
    seed: StrictInt = 1
    task: StrictStr
    data: Dict[StrictStr, Any]
    model: Dict[StrictStr, Any]
    training: Dict[StrictStr, Any]
    reference: Optional[Reference] = None
    license: StrictStr = "Apache-2.0"


@dataclasses.dataclass
class Recipe:
    """A validated recipe: the header plus the handler's parsed sections."""

    name: str
    description: str
    seed: int
    task: str
    data: Any
    model: Any
    training: Any
    reference: Optional[Reference]
    license: str
    path: str


@dataclasses.dataclass
class Trained:
    """What a handler's `train` returns, for the preset's metadata.

    Attributes:
        model: the trained task model (compiled).
        metrics: dict metric name -> float, measured on the evaluation split.
        dataset: dict describing the data (source, name, config, split,
            num_examples, citation, ...).
        training: dict of training facts (epochs, seconds, final loss, ...).
        extra: further metadata keys (e.g. `vocabulary`, `input_shape`).
    """

    model: Any
    metrics: Dict[str, float]
    dataset: Dict[str, Any]
    training: Dict[str, Any]
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


class TaskRecipe:
    """Base class of a task's recipe handler.

    Subclasses set `task` (the task's registry name), the pydantic models of
    the `data`, `model` and `training` sections, the primary metric, and
    implement `train`, `evaluate` and `fine_tune_batch`.
    """

    task = None
    data_spec = None
    model_spec = None
    training_spec = TrainingSpec
    primary_metric = "accuracy"
    higher_is_better = True

    def check(self, recipe):
        """Checks names that the schema cannot (registered layers); before any data."""
        for spec in backbone_specs(recipe.model):
            check_layer_name(spec.layer)

    def train(self, recipe, verbose):
        """Trains the task; returns a `Trained`."""
        raise NotImplementedError

    def evaluate(self, model, metadata):
        """Measures the recorded metrics again; returns dict name -> float."""
        raise NotImplementedError

    def fine_tune_batch(self, metadata, num_examples=8):
        """A small batch of the preset's *training* data, ready for `model.fit`.

        Args:
            metadata: the preset's metadata (`rnnzoo.presets.read_metadata`).
            num_examples: int, how many training examples (at most) to return.

        Returns:
            `(inputs, targets)` in exactly the format that the model loaded by
            `rnnzoo.load` (compiled with its defaults) accepts in `fit`.
        """
        raise NotImplementedError(
            f"The recipe handler of task {self.task!r} ({type(self).__name__}) does not "
            "implement `fine_tune_batch(metadata, num_examples)`, the batch of training "
            "data that shows its presets can be fine-tuned with `model.fit`."
        )

    def tolerance(self, metadata):
        """How far a re-measured primary metric may fall short of the recorded one.

        CPU kernels are not bit-deterministic across machines, so a borderline
        example may flip; the default allows one evaluation example.
        """
        return 1.0 / max(int(metadata["dataset"].get("num_examples", 1)), 1) + 1e-9


def register_task_recipe(handler_class):
    """Class decorator: registers a handler under its task's name."""
    TASK_RECIPES.register(handler_class.task, handler_class())
    return handler_class


def backbone_specs(model_section):
    """Every `LayerSpec` of a model section (fields named like *backbone*/encoder/decoder)."""
    found = []
    for value in dict(model_section).values():
        items = value if isinstance(value, list) else [value]
        found.extend(item for item in items if isinstance(item, LayerSpec))
    return found


def check_layer_name(name):
    import rnnzoo.layers  # noqa: F401  (registers the layers)

    if name not in registry.LAYERS:
        raise RecipeError(registry.unknown_name_message("layer", name, registry.LAYERS.names()))


def build_layers(specs: List[LayerSpec], seed, return_sequences_last=False, one_loop=False,
                 **common):
    """Layers from specs; all but the last return sequences (stacking done right).

    With `one_loop`, a stack of several layers comes back as one
    `rnnzoo.layers.StackedRNN` running their cells in one time loop (the same
    network and initial weights, less loop overhead).
    """
    from rnnzoo.layers import StackedRNN, get_layer

    layers = []
    for i, spec in enumerate(specs):
        flags = dict(common)
        flags["return_sequences"] = True if i < len(specs) - 1 else return_sequences_last
        try:
            layers.append(get_layer(spec.layer)(spec.units, seed=seed + i, **flags, **spec.args))
        except (TypeError, ValueError) as error:
            raise RecipeError(f"model: layer {i} ({spec.layer}): {error}") from None
    if one_loop and len(layers) > 1:
        try:
            return [StackedRNN(layers, return_sequences=return_sequences_last, **common)]
        except (TypeError, ValueError) as error:
            raise RecipeError(f"model.one_loop: {error}") from None
    return layers


def optimizer(training):
    import keras

    return keras.optimizers.Adam(training.learning_rate, clipnorm=training.clipnorm)


def callbacks(training, monitor="loss"):
    import keras

    if not training.reduce_lr_patience:
        return []
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.5, patience=training.reduce_lr_patience, min_lr=1e-5
        )
    ]
