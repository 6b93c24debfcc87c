"""Task architectures that take any registered backbone.

`SequenceClassifier` (many-to-one). Further tasks (captioning, anomaly
detection, seq2seq, CTC, forecasting, character generation) follow the same
shape: a functional `keras.Model` with defaults in `compile()`.
"""

from rnnzoo.tasks.anomaly import AnomalyDetector
from rnnzoo.tasks.captioner import Captioner
from rnnzoo.tasks.char_generator import CharGenerator
from rnnzoo.tasks.classifier import SequenceClassifier
from rnnzoo.tasks.ctc import CTCRecognizer
from rnnzoo.tasks.forecaster import Forecaster
from rnnzoo.tasks.predictor import SequencePredictor
from rnnzoo.tasks.seq2seq import Seq2Seq

__all__ = ["AnomalyDetector", "Captioner", "CTCRecognizer", "CharGenerator", "Forecaster", "SequenceClassifier", "SequencePredictor", "Seq2Seq"]
