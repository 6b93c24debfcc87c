"""What every task architecture shares: backbone handling and compile plumbing.

Tasks are functional `keras.Model` subclasses whose `__init__` reads in three
blocks (layers, functional model, config) as in KerasHub. A backbone is a
Keras layer or a list of layers; layers given to a task are *templates* that
a task may clone with the return flags it needs (`clone_layer`), so users pass
`rnnzoo.layers.LSTM(64)` and never think about `return_sequences` wiring.
"""

import keras


def as_layer_list(backbone, owner, argument="backbone"):
    """A backbone as a non-empty list of Keras layers, or a clear ValueError."""
    layers = list(backbone) if isinstance(backbone, (list, tuple)) else [backbone]
    if not layers or not all(isinstance(layer, keras.layers.Layer) for layer in layers):
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, expected "
            "a Keras layer or a list of layers (e.g. rnnzoo.layers.IndRNN(64)), got "
            f"{backbone!r}."
        )
    return layers


def serialize_layers(layers):
    """Config of a backbone: one serialized layer, or a list for a stack."""
    configs = [keras.saving.serialize_keras_object(layer) for layer in layers]
    return configs if len(configs) > 1 else configs[0]


def deserialize_layers(config):
    if isinstance(config, list):
        return [keras.saving.deserialize_keras_object(c) for c in config]
    return keras.saving.deserialize_keras_object(config)


def clone_layer(layer, name=None, **overrides):
    """A fresh, unbuilt copy of `layer` with some config values replaced."""
    config = dict(layer.get_config())
    config.update(overrides)
    config["name"] = name or f"{config.get('name', 'layer')}_clone"
    return layer.__class__.from_config(config)


class ZooTask(keras.Model):
    """Base of the zoo's task models: a `compile()` with `"auto"` defaults.

    Keras does not restore the compile config of models that override
    `compile()`; ours take Keras' arguments unchanged, so it restores as is.
    """

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)
