"""Task architectures that take any registered backbone.

`SequenceClassifier` (many-to-one). Further tasks (captioning, anomaly
detection, seq2seq, CTC, forecasting, character generation) follow the same
shape: a functional `keras.Model` with defaults in `compile()`.
"""

from rnnzoo.tasks.classifier import SequenceClassifier

__all__ = ["SequenceClassifier"]
