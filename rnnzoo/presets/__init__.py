"""Pretrained presets: list, load, save, and the recipes that rebuild them.

A preset is a folder (config.json, model.weights.h5, metadata.json) shipped in
`rnnzoo/presets/shipped/<name>/` or anywhere on disk; its name reads
`<backbone>_<task>.<dataset>` as in timm (`indrnn_classifier.gunpoint`).
"""

from rnnzoo.presets.store import (
    PresetError,
    list_presets,
    load,
    read_metadata,
    save_preset,
    shipped_dir,
)

__all__ = [
    "PresetError",
    "list_presets",
    "load",
    "read_metadata",
    "save_preset",
    "shipped_dir",
]
