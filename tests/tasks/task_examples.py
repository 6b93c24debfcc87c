"""Tiny builders of every registered task, for the registry-wide task sweep.

Each entry: task registry name -> function(backbone_layer) returning
`(model, inputs, targets)` — a compiled task model built around the given
recurrent layer (a template the task may clone), and a tiny batch of inputs
and targets that `model.fit` accepts. Every task registered in
`rnnzoo.registry.TASKS` must have an entry here (a test checks it).
"""

import numpy as np

from rnnzoo.tasks import Captioner, CharGenerator, SequenceClassifier, SequencePredictor
from rnnzoo.tasks import AnomalyDetector, Forecaster, Seq2Seq
from rnnzoo.tasks import CTCRecognizer


def sequence_classifier(layer):
    model = SequenceClassifier(layer, num_classes=3, input_shape=(None, 2))
    model.compile()
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(4, 6, 2)).astype("float32"), rng.integers(0, 3, 4)


def char_generator(layer):
    model = CharGenerator(layer, vocabulary="abc\n", embedding_dim=4)
    model.compile()
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, (4, 7)).astype("int32")
    return model, ids[:, :-1], ids[:, 1:]


def captioner(layer):
    vocabulary = ["<pad>", "<start>", "<end>", "zero", "one", "two"]
    model = Captioner(layer, vocabulary, image_shape=(8, 12, 1), embedding_dim=4,
                      encoder_filters=(4,), image_embedding_dim=8, max_length=5)
    model.compile()
    rng = np.random.default_rng(0)
    images = rng.random((4, 8, 12, 1)).astype("float32")
    inputs, targets = model.teacher_forcing(images, ["one two", "zero", "two two one", "one"])
    return model, inputs, targets


def sequence_predictor(layer):
    model = SequencePredictor(layer, output_dim=3, input_shape=(None, 2), per_step=True,
                              loss="binary_crossentropy")
    model.compile()
    rng = np.random.default_rng(0)
    targets = (rng.random((4, 6, 3)) < 0.5).astype("float32")
    return model, rng.normal(size=(4, 6, 2)).astype("float32"), targets


def seq2seq(layer):
    model = Seq2Seq(layer, layer, source_vocabulary_size=7, target_vocabulary_size=6,
                    max_source_length=5, embedding_dim=4)
    model.compile()
    rng = np.random.default_rng(0)
    source = rng.integers(1, 7, (4, 5)).astype("int32")
    source[:2, 3:] = 0  # padded sources
    target = np.concatenate([np.ones((4, 1)), rng.integers(3, 6, (4, 3)), np.full((4, 1), 2)],
                            axis=1).astype("int32")
    return model, {"source": source, "target_in": target[:, :-1]}, target[:, 1:]


def forecaster(layer):
    # autoregressive: the sweep exports the one-step model with explicit states
    model = Forecaster(layer, window=6, horizon=3, num_features=2, mode="autoregressive",
                       mean=[0.5, -1.0], std=[2.0, 0.5])
    model.compile()
    rng = np.random.default_rng(0)
    return model, rng.normal(size=(4, 6, 2)).astype("float32"), rng.normal(size=(4, 3, 2))


def anomaly_detector(layer):
    model = AnomalyDetector(layer, window=6, num_features=2, mode="autoencoder")
    model.compile()
    windows = np.random.default_rng(0).normal(size=(4, 6, 2)).astype("float32")
    return model, windows, windows


def ctc_recognizer(layer):
    # exported as is: the per-frame log-probability model (decoding runs on the host)
    model = CTCRecognizer(layer, num_classes=3, input_shape=(None, 2), mask_value=-1.0)
    model.compile()
    frames = np.random.default_rng(0).normal(size=(4, 6, 2)).astype("float32")
    frames[2:, 4:] = -1.0  # padded frames
    return model, frames, np.array([[0, 1, 2], [2, 2, -1], [1, -1, -1], [0, 1, -1]])


TASK_EXAMPLES = {
    "anomaly_detector": anomaly_detector,
    "captioner": captioner,
    "char_generator": char_generator,
    "ctc_recognizer": ctc_recognizer,
    "forecaster": forecaster,
    "sequence_classifier": sequence_classifier,
    "sequence_predictor": sequence_predictor,
    "seq2seq": seq2seq,
}
