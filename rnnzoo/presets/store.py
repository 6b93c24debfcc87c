"""The preset format: a folder with config.json, model.weights.h5 and metadata.json.

Loading checks the weights' sha256 against the metadata before Keras opens the
file, deserializes the config in Keras safe mode, and turns every failure (a
damaged or foreign file, a missing piece, a name with path separators) into one
clear `ValueError`.
"""

import datetime
import hashlib
import json
import os
import shutil
import tempfile
from importlib import resources

from rnnzoo import registry

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)
REQUIRED_METADATA = (
    "name",
    "task",
    "dataset",
    "metrics",
    "parameter_count",
    "weights_sha256",
    "recipe",
    "license",
)


class PresetError(ValueError):
    """A preset cannot be found, read or trusted."""


def shipped_dir():
    """The folder holding the presets that ship inside the package."""
    return str(resources.files("rnnzoo.presets") / "shipped")


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _shipped_names():
    root = shipped_dir()
    if not os.path.isdir(root):
        return []
    return [
        entry
        for entry in os.listdir(root)
        if os.path.isfile(os.path.join(root, entry, METADATA_FILE))
    ]


def list_presets(pattern="*"):
    """Names of the shipped presets matching an fnmatch `pattern`, naturally sorted.

    Example:

    >>> "indrnn_classifier.gunpoint" in list_presets("*classifier*")
    True
    """
    presets = registry.Registry("preset")
    for name in _shipped_names():
        presets.register(name, name)
    return presets.names(pattern)


def resolve(name_or_dir):
    """The folder of a preset given by shipped name or by directory path.

    Raises:
        PresetError: for an unknown name (with suggestions), a name with path
            separators that is not an existing folder, or a folder that lacks
            a preset file.
    """
    text = os.fspath(name_or_dir)
    if os.path.isdir(text):
        folder = text
    elif os.sep in text or "/" in text or "\\" in text or text.startswith("."):
        raise PresetError(
            f"Preset {text!r} is neither a shipped preset name (names contain no "
            "path separators) nor an existing preset folder."
        )
    else:
        try:
            registry.check_name(text, "preset name")
        except ValueError as error:
            raise PresetError(str(error)) from None
        if text not in _shipped_names():
            raise PresetError(
                registry.unknown_name_message("preset", text, list_presets())
            )
        folder = os.path.join(shipped_dir(), text)
    missing = [f for f in PRESET_FILES if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise PresetError(
            f"Preset folder {folder!r} is incomplete: expected {list(PRESET_FILES)}, "
            f"missing {missing}."
        )
    return folder


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PresetError(f"Cannot read the preset {what} {path!r}: {error}.") from None
    if not isinstance(value, dict):
        raise PresetError(
            f"The preset {what} {path!r} must hold a JSON object, got {type(value).__name__}."
        )
    return value


def read_metadata(name_or_dir):
    """The metadata of a preset (dataset, metrics, reference numbers, checksum...)."""
    folder = resolve(name_or_dir)
    metadata = _read_json(os.path.join(folder, METADATA_FILE), "metadata")
    missing = [key for key in REQUIRED_METADATA if key not in metadata]
    if missing:
        raise PresetError(f"Preset metadata in {folder!r} lacks the keys {missing}.")
    return metadata


def load(name_or_dir, compile=True):
    """Loads a preset into a ready `keras.Model` (weights loaded, compiled).

    Args:
        name_or_dir: a shipped preset name (see `list_presets()`), e.g.
            `"indrnn_classifier.gunpoint"`, or the path of a preset folder.
        compile: bool, compile with the task's defaults so `fit` works at once.

    Returns:
        The task model, e.g. a `rnnzoo.tasks.SequenceClassifier`.

    Raises:
        PresetError: (a `ValueError`) for an unknown name, a name with path
            separators, a missing file, a weights checksum that does not match
            the metadata (damaged or foreign file), or a config/weights file
            Keras cannot read.

    Example:

    ```python
    model = rnnzoo.load("indrnn_classifier.gunpoint")
    model.fit(x, y, epochs=3)
    ```
    """
    import keras

    folder = resolve(name_or_dir)
    metadata = read_metadata(folder)
    weights = os.path.join(folder, WEIGHTS_FILE)
    actual = sha256_file(weights)
    if actual != metadata["weights_sha256"]:
        raise PresetError(
            f"The weights in {folder!r} do not match their checksum (expected sha256 "
            f"{metadata['weights_sha256']}, found {actual}): the file is damaged "
            "or not this preset's."
        )
    config = _read_json(os.path.join(folder, CONFIG_FILE), "config")
    import rnnzoo.layers  # noqa: F401  (registers the zoo's classes)
    import rnnzoo.tasks  # noqa: F401

    config.pop("compile_config", None)
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:  # Keras raises TypeError/ValueError/KeyError here
        raise PresetError(
            f"The config in {folder!r} does not describe an rnnzoo model Keras can "
            f"build safely: {str(error).splitlines()[0][:300]}"
        ) from None
    if not isinstance(model, keras.Model):
        raise PresetError(
            f"The config in {folder!r} describes a {type(model).__name__}, expected a keras.Model."
        )
    try:
        model.load_weights(weights)
    except Exception as error:  # h5py and Keras raise many error types here
        raise PresetError(
            f"The weights file in {folder!r} does not fit the model in its config: "
            f"{str(error).splitlines()[0][:300]}"
        ) from None
    if compile:
        from rnnzoo.tasks.base import ZooTask

        if isinstance(model, ZooTask):
            model.compile()
        else:
            # A plain functional model (the esn_generator's) has no task defaults
            # and `compile()` alone gives it no loss; its readout is a
            # least-squares fit, so fine-tuning goes on with the squared error.
            model.compile(loss="mean_squared_error")
    return model


def _without_optimizer(model, config):
    """The model, or an uncompiled copy with its weights when it carries an optimizer.

    Keras writes a compiled model's optimizer slots into the weights file too
    (about twice the weights again for Adam); a preset ships weights only.
    """
    import keras

    if getattr(model, "optimizer", None) is None:
        return model
    fresh = keras.saving.deserialize_keras_object(config, safe_mode=True)
    fresh.set_weights(model.get_weights())
    return fresh


def save_preset(model, directory, metadata, overwrite=False):
    """Writes `model` as a preset folder; nothing is left half-written.

    Args:
        model: a built Keras model whose class is registered for serialization.
        directory: str, the preset folder to create.
        metadata: dict with at least name, task, dataset, metrics, recipe and
            license; the parameter count, weights checksum and versions are
            filled in here.
        overwrite: bool, replace an existing folder.

    Returns:
        The metadata as written.
    """
    import keras

    directory = os.fspath(directory)
    if os.path.exists(directory) and not overwrite:
        raise PresetError(f"Preset folder {directory!r} exists; pass overwrite=True.")
    registry.check_name(metadata.get("name"), "preset name")
    parent = os.path.dirname(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, suffix=".partial")
    try:
        config = keras.saving.serialize_keras_object(model)
        # Loading compiles with the task's own defaults; a stored optimizer
        # state would only make Keras warn and guess.
        config.pop("compile_config", None)
        with open(os.path.join(staging, CONFIG_FILE), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2, sort_keys=True)
        weights = os.path.join(staging, WEIGHTS_FILE)
        _without_optimizer(model, config).save_weights(weights)
        written = dict(metadata)
        written.update(
            {
                "parameter_count": int(model.count_params()),
                "weights_sha256": sha256_file(weights),
                "keras_version": keras.__version__,
                "created": datetime.date.today().isoformat(),
            }
        )
        missing = [key for key in REQUIRED_METADATA if key not in written]
        if missing:
            raise PresetError(f"Preset metadata lacks the keys {missing}.")
        with open(os.path.join(staging, METADATA_FILE), "w", encoding="utf-8") as handle:
            json.dump(written, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a preset is for everyone
        if os.path.exists(directory):
            shutil.rmtree(directory)
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return written
