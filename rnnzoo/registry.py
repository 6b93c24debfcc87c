"""One registry mechanism for everything rnnzoo names: layers, tasks, presets, datasets.

Registry names are snake_case and form a public API (and a file format: presets
and recipes store them). A rename keeps the old name as an alias.

This module imports nothing heavy (no TensorFlow, no Keras) so the CLI's fast
paths can use it.
"""

import difflib
import fnmatch
import re

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$")


def natural_key(text):
    """Sort key that orders embedded numbers by value ("t2" before "t10")."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def check_name(name, what="name"):
    """Validates a registry name and returns it.

    Raises:
        ValueError: if `name` is not a snake_case string (optionally with one
            `.tag` suffix, as in "indrnn_classifier.gunpoint").
    """
    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise ValueError(
            f"Received an invalid {what} {name!r}: expected snake_case letters, "
            "digits and underscores, optionally followed by one '.tag' "
            "(for example 'indrnn' or 'indrnn_classifier.gunpoint')."
        )
    return name


class Registry:
    """A named collection of objects (classes, factories, paths).

    Args:
        kind: str, what the entries are ("layer", "preset", ...); used in errors.

    Example:

    >>> layers = Registry("layer")
    >>> _ = layers.register("elman", object)
    >>> layers.names("el*")
    ['elman']
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}
        self._aliases = {}

    def register(self, name, obj, aliases=()):
        check_name(name, f"{self.kind} name")
        if name in self._entries and self._entries[name] is not obj:
            raise ValueError(f"The {self.kind} name {name!r} is already registered.")
        self._entries[name] = obj
        for alias in aliases:
            self._aliases[check_name(alias, f"{self.kind} alias")] = name
        return obj

    def names(self, pattern="*"):
        """Registered names matching an fnmatch `pattern`, in natural order."""
        if not isinstance(pattern, str):
            raise ValueError(
                f"Received an invalid pattern for {self.kind} names: expected a "
                f"string such as '*lstm*', got {pattern!r}."
            )
        found = [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]
        return sorted(found, key=natural_key)

    def get(self, name):
        """The object registered under `name` (or one of its aliases).

        Raises:
            ValueError: for an unknown name, suggesting the closest names.
        """
        name = self._aliases.get(name, name)
        if name not in self._entries:
            raise ValueError(unknown_name_message(self.kind, name, self.names()))
        return self._entries[name]

    def __contains__(self, name):
        return self._aliases.get(name, name) in self._entries

    def __len__(self):
        return len(self._entries)


def unknown_name_message(kind, name, known):
    """One clear line for an unknown name, with the closest known names."""
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(known) if len(known) <= 12 else ", ".join(known[:12]) + ", ..."
    return f"Unknown {kind} {name!r}.{hint} Known {kind}s: {listing or '(none)'}."


LAYERS = Registry("layer")
TASKS = Registry("task")
