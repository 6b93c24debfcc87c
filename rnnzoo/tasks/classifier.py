"""Many-to-one sequence classification over any recurrent backbone."""

import keras

from rnnzoo import registry
from rnnzoo.layers.base import PACKAGE
from rnnzoo.tasks.base import ZooTask, as_layer_list, deserialize_layers, serialize_layers


def _check_input_shape(input_shape):
    ok = isinstance(input_shape, (list, tuple)) and len(input_shape) == 2
    ok = ok and (input_shape[0] is None or (isinstance(input_shape[0], int) and input_shape[0] > 0))
    ok = ok and isinstance(input_shape[1], int) and input_shape[1] > 0
    if not ok:
        raise ValueError(
            "Received an invalid value for argument `input_shape` of "
            "SequenceClassifier, expected (timesteps or None, features) with "
            f"positive integers, got {input_shape!r}."
        )
    return tuple(input_shape)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SequenceClassifier(ZooTask):
    """Many-to-one classifier: sequences in, class logits out, any backbone.

    The backbone is one recurrent layer, or a list applied in order (stack them
    with `return_sequences=True` on all but the last). Its last output must be
    one vector per sequence, `(batch, features)`.

    Args:
        backbone: a Keras layer or list of layers, e.g. `rnnzoo.layers.IndRNN(64)`.
        num_classes: int >= 2, number of classes.
        input_shape: tuple `(timesteps or None, features)`.
        dropout: float in [0, 1), dropout before the classification head.
        mask_value: optional float; when set, a `keras.layers.Masking` layer
            marks steps equal to it as padding (variable-length input).
        activation: head activation; default `None` returns logits (the
            default loss expects logits).
        name: optional model name.

    Call arguments:
        inputs: float tensor `(batch, timesteps, features)`.

    Output shape: `(batch, num_classes)`.

    Example:

    >>> import numpy as np, rnnzoo
    >>> clf = SequenceClassifier(rnnzoo.layers.IndRNN(16), num_classes=3, input_shape=(None, 2))
    >>> clf.compile()
    >>> tuple(clf(np.zeros((4, 20, 2), "float32")).shape)
    (4, 3)
    """

    def __init__(
        self,
        backbone,
        num_classes,
        input_shape,
        dropout=0.0,
        mask_value=None,
        activation=None,
        name=None,
        **kwargs,
    ):
        # === Layers ===
        layers = as_layer_list(backbone, "SequenceClassifier")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                "Received an invalid value for argument `num_classes` of "
                f"SequenceClassifier, expected an integer >= 2, got {num_classes!r}."
            )
        if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(
                "Received an invalid value for argument `dropout` of "
                f"SequenceClassifier, expected a float in [0, 1), got {dropout!r}."
            )
        input_shape = _check_input_shape(input_shape)
        masking = keras.layers.Masking(mask_value) if mask_value is not None else None
        head_dropout = keras.layers.Dropout(dropout, name="head_dropout")
        head = keras.layers.Dense(num_classes, activation=activation, name="logits")

        # === Functional model ===
        inputs = keras.Input(input_shape, name="sequences")
        x = masking(inputs) if masking is not None else inputs
        for layer in layers:
            x = layer(x)
        if isinstance(x, (list, tuple)) or len(x.shape) != 2:
            raise ValueError(
                "The backbone of SequenceClassifier must return one vector per "
                "sequence (batch, features); it returned "
                f"{[tuple(t.shape) for t in x] if isinstance(x, (list, tuple)) else tuple(x.shape)}. "
                "Use return_sequences=False (and return_state=False) on the last layer."
            )
        outputs = head(head_dropout(x))
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

        # === Config ===
        self.backbone_layers = layers
        self.num_classes = num_classes
        self.sequence_shape = input_shape
        self.dropout = float(dropout)
        self.mask_value = mask_value
        self.activation = keras.activations.get(activation)

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile` with defaults: Adam(1e-3), sparse cross-entropy, accuracy.

        `"auto"` picks the default for that argument; anything else is passed
        to Keras unchanged.
        """
        from_logits = self.activation is keras.activations.linear
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        return {
            "backbone": serialize_layers(self.backbone_layers),
            "num_classes": self.num_classes,
            "input_shape": list(self.sequence_shape),
            "dropout": self.dropout,
            "mask_value": self.mask_value,
            "activation": keras.activations.serialize(self.activation),
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(backbone=deserialize_layers(config.pop("backbone")), **config)


registry.TASKS.register("sequence_classifier", SequenceClassifier)
