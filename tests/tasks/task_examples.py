"""Tiny builders of every registered task, for the registry-wide task sweep.

Each entry: task registry name -> function(backbone_layer) returning
`(model, inputs, targets)` — a compiled task model built around the given
recurrent layer (a template the task may clone), and a tiny batch of inputs
and targets that `model.fit` accepts. Every task registered in
`rnnzoo.registry.TASKS` must have an entry here (a test checks it).
"""

import numpy as np

from rnnzoo.tasks import SequenceClassifier


def sequence_classifier(layer):
    model = SequenceClassifier(layer, num_classes=3, input_shape=(None, 2))
    model.compile()
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(4, 6, 2)).astype("float32"), rng.integers(0, 3, 4)


TASK_EXAMPLES = {
    "sequence_classifier": sequence_classifier,
}
