"""Sequence prediction over any recurrent backbone: one output per sequence or per step."""

import keras

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks.base import (
    ZooTask,
    as_layer_list,
    clone_layer,
    deserialize_layers,
    serialize_layers,
)

LOSSES = ("mse", "binary_crossentropy")
_OWNER = "SequencePredictor"


def _invalid(argument, expected, value):
    return ValueError(
        f"Received an invalid value for argument `{argument}` of {_OWNER}, "
        f"expected {expected}, got {value!r}."
    )


def _check_input_shape(input_shape):
    ok = isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
    ok = ok and all(not isinstance(d, bool) for d in input_shape)
    ok = ok and (input_shape[0] is None or (isinstance(input_shape[0], int) and input_shape[0] > 0))
    ok = ok and isinstance(input_shape[1], int) and input_shape[1] > 0
    if not ok:
        raise _invalid("input_shape", "(timesteps or None, features) with positive integers",
                       input_shape)
    return tuple(input_shape)


def _wired(layers, per_step):
    """Copies of the template layers with the return flags the task needs.

    Every layer but the last returns sequences; the last returns them only
    when `per_step`. No layer returns its state. A layer whose config has no
    `return_sequences` (e.g. a `Bidirectional` wrapper) is used as given.
    """
    wired = []
    for i, layer in enumerate(layers):
        config = layer.get_config()
        if "return_sequences" not in config:
            wired.append(layer)
            continue
        flags = {"return_sequences": True if i < len(layers) - 1 else per_step}
        if "return_state" in config:
            flags["return_state"] = False
        wired.append(clone_layer(layer, name=f"recurrent_{i}", **flags))
    return wired


@keras.saving.register_keras_serializable(package=PACKAGE)
class SequencePredictor(ZooTask):
    """Predicts targets from sequences: one vector per sequence, or one per step.

    A recurrent backbone (one layer or a stack) reads the sequence and a dense
    head maps its output to `output_dim` values. With `per_step=False` the
    head sees the backbone's last output (many-to-one, e.g. the adding
    problem's sum); with `per_step=True` it sees every step's output
    (many-to-many, e.g. the legal next symbols of a^n b^n c^n). The backbone
    layers are templates: the task builds copies with the `return_sequences`
    each position needs (all but the last return sequences; the last only when
    `per_step`) and `return_state=False`.

    With `mask_value` set, steps whose features all equal it are padding: the
    recurrent layers skip them (a many-to-one output is that of the last real
    step) and, per step, the mask travels to the loss and metrics, so padded
    steps do not count.

    Args:
        backbone: a Keras layer or list of layers, e.g. `rnnzoo.layers.LSTM(32)`.
        output_dim: int >= 1, size of the output vector (per sequence or step).
        input_shape: tuple `(timesteps or None, features)`.
        per_step: bool, default `False`; `True` gives an output at every step.
        loss: `"mse"` (default) or `"binary_crossentropy"`; picks the `"auto"`
            loss and metrics of `compile()`.
        output_activation: head activation, default `None` (linear). With
            `None` and `loss="binary_crossentropy"` the outputs are logits and
            the default loss takes logits.
        dropout: float in [0, 1), default 0.0, dropout before the head.
        mask_value: optional float, default `None`; see above.
        name: optional model name.

    Call arguments:
        inputs: float tensor `(batch, timesteps, features)`.

    Output shape: `(batch, output_dim)`, or `(batch, timesteps, output_dim)`
    with `per_step=True`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> adder = SequencePredictor(rnnzoo.layers.LSTM(8), output_dim=1, input_shape=(None, 2))
    >>> adder.compile()
    >>> tuple(adder(np.zeros((4, 30, 2), "float32")).shape)
    (4, 1)
    >>> tagger = SequencePredictor(rnnzoo.layers.LSTM(8), output_dim=4, input_shape=(None, 4),
    ...                            per_step=True, loss="binary_crossentropy", mask_value=0.0)
    >>> tuple(tagger(np.ones((2, 7, 4), "float32")).shape)
    (2, 7, 4)

    Reference:
        Hochreiter & Schmidhuber, Long short-term memory, Neural Computation
        9(8), 1997 (the adding problem); Gers & Schmidhuber, LSTM recurrent
        networks learn simple context-free and context-sensitive languages,
        IEEE TNN 12(6), 2001 (next-symbol prediction).
    """

    def __init__(
        self,
        backbone,
        output_dim,
        input_shape,
        per_step=False,
        loss="mse",
        output_activation=None,
        dropout=0.0,
        mask_value=None,
        name=None,
        **kwargs,
    ):
        # === Layers ===
        templates = as_layer_list(backbone, _OWNER)
        if isinstance(output_dim, bool) or not isinstance(output_dim, int) or output_dim < 1:
            raise _invalid("output_dim", "a positive integer", output_dim)
        if not isinstance(per_step, bool):
            raise _invalid("per_step", "a bool", per_step)
        if loss not in LOSSES:
            raise _invalid("loss", f"one of {list(LOSSES)}", loss)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not (
            0.0 <= dropout < 1.0
        ):
            raise _invalid("dropout", "a float in [0, 1)", dropout)
        if mask_value is not None and (
            isinstance(mask_value, bool) or not isinstance(mask_value, (int, float))
        ):
            raise _invalid("mask_value", "a number or None", mask_value)
        input_shape = _check_input_shape(input_shape)
        activation = keras.activations.get(output_activation)
        layers = _wired(templates, per_step)
        masking = None
        if mask_value is not None:
            masking = keras.layers.Masking(mask_value, name="masking")
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(output_dim, activation=activation, name="head")

        # === Functional model ===
        inputs = keras.Input(input_shape, name="sequences")
        x = masking(inputs) if masking is not None else inputs
        for layer in layers:
            x = layer(x)
        want = 3 if per_step else 2
        if isinstance(x, (list, tuple)) or len(x.shape) != want:
            got = [tuple(t.shape) for t in x] if isinstance(x, (list, tuple)) else tuple(x.shape)
            raise ValueError(
                f"The backbone of {_OWNER} (per_step={per_step}) must return "
                f"{'(batch, timesteps, features)' if per_step else '(batch, features)'}; "
                f"it returned {got}. A wrapper without `return_sequences` (e.g. "
                "Bidirectional) must be built with the flags the task needs."
            )
        outputs = head(head_dropout(x))
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.backbone_layers = templates
        self.output_dim = output_dim
        self.sequence_shape = input_shape
        self.per_step = per_step
        self.loss_name = loss
        self.output_activation = activation
        self.dropout = float(dropout)
        self.mask_value = mask_value

    @property
    def from_logits(self):
        """True when the head is linear and the loss is binary cross-entropy."""
        return self.loss_name == "binary_crossentropy" and (
            self.output_activation is keras.activations.linear
        )

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults picked by the task's `loss` argument.

        `"mse"`: mean squared error, metric mean absolute error.
        `"binary_crossentropy"`: binary cross-entropy (on logits when the head
        is linear), metric binary accuracy at probability 0.5. The optimizer
        defaults to Adam(1e-3). Anything but `"auto"` goes to Keras unchanged.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if self.loss_name == "mse":
            default_loss = keras.losses.MeanSquaredError()
            default_metrics = [keras.metrics.MeanAbsoluteError(name="mae")]
        else:
            default_loss = keras.losses.BinaryCrossentropy(from_logits=self.from_logits)
            threshold = 0.0 if self.from_logits else 0.5
            default_metrics = [keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)]
        if loss == "auto":
            loss = default_loss
        if metrics == "auto":
            metrics = default_metrics
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        return {
            "backbone": serialize_layers(self.backbone_layers),
            "output_dim": self.output_dim,
            "input_shape": list(self.sequence_shape),
            "per_step": self.per_step,
            "loss": self.loss_name,
            "output_activation": keras.activations.serialize(self.output_activation),
            "dropout": self.dropout,
            "mask_value": self.mask_value,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(backbone=deserialize_layers(config.pop("backbone")), **config)


registry.TASKS.register("sequence_predictor", SequencePredictor)
