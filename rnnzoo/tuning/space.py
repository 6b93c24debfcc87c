"""The shared search space: cell type, width, depth, direction and variant knobs.

Every HyperModel in `rnnzoo.tuning` declares its backbone through
`declare_backbone`, so the names and defaults are the same for every task:

- `cell_type`: a registered step-wise variant (`rnnzoo.list_layers(kind="stepwise")`,
  or the subset a HyperModel was given). Default `"lstm"` when it is in the space.
- `units`: 8 .. 256, powers of two. Default 64.
- `num_layers`: 1 .. 3. Default 1. All layers but the last return sequences;
  the last returns sequences only when the task reads one output per step.
- `bidirectional` (tasks that accept it): default False.
- variant-specific parameters, each under `hp.conditional_scope("cell_type",
  [name])` and named after the constructor argument it feeds, with the
  layer's own default (read from its signature). `VARIANT_PARAMS` lists them;
  a variant that is not registered (for example a memory-augmented layer not
  yet installed) simply has no scope.
"""

import dataclasses
import inspect
from typing import Callable, Optional, Tuple

import keras

from rnnzoo import registry
from rnnzoo.layers import get_layer, list_layers

UNITS = dict(min_value=8, max_value=256, step=2, sampling="log", default=64)
NUM_LAYERS = dict(min_value=1, max_value=3, default=1)
LEARNING_RATE = dict(min_value=1e-4, max_value=1e-2, sampling="log")
DROPOUT = dict(min_value=0.0, max_value=0.5, step=0.1)
DEFAULT_CELL_TYPE = "lstm"

# Constructor arguments some variants need on top of `units` (their value from units).
REQUIRED_ARGS = {
    "jordan": lambda units: {"output_units": units},
}


def _timescales(text):
    return tuple(float(part) for part in text.split(","))


def _timescales_text(value):
    return ",".join(f"{float(v):g}" for v in value)


@dataclasses.dataclass(frozen=True)
class VariantParam:
    """One variant-specific hyper-parameter.

    Attributes:
        arguments: candidate constructor argument names; the first one the
            layer (or its cell) accepts is tuned and names the hyper-parameter.
        kind: "float", "int", "choice" or "constraint" (IndRNN's recurrent
            weight clip, a boolean that feeds `max_timesteps` with the
            task's sequence length).
        low, high, sampling, step: the range of a float or int.
        values: the choices of a "choice" (strings; `encode`/`decode` map
            them to and from the argument's value).
    """

    arguments: Tuple[str, ...]
    kind: str
    low: Optional[float] = None
    high: Optional[float] = None
    sampling: str = "linear"
    step: Optional[int] = None
    values: Tuple[str, ...] = ()
    encode: Optional[Callable] = None
    decode: Optional[Callable] = None


_MEMORY_PARAMS = (
    VariantParam(("memory_rows", "memory_size", "memory_slots", "num_slots"), "int", 4, 128,
                 sampling="log", step=2),
    VariantParam(("memory_width", "word_size", "slot_width"), "int", 4, 64,
                 sampling="log", step=2),
)

# Variant-specific knobs by registered layer name (reservoirpy's words for the ESN).
VARIANT_PARAMS = {
    "esn": (
        VariantParam(("spectral_radius",), "float", 0.1, 1.5),
        VariantParam(("leak_rate",), "float", 0.05, 1.0),
        VariantParam(("connectivity",), "float", 0.01, 1.0, sampling="log"),
    ),
    "indrnn": (VariantParam(("recurrent_constraint",), "constraint"),),
    "ctrnn": (VariantParam(("time_constant",), "float", 1.0, 50.0, sampling="log"),),
    "mtrnn": (
        VariantParam(("timescales",), "choice",
                     values=("2,5,70", "1,4,16", "2,10,100", "2,5,20"),
                     encode=_timescales_text, decode=_timescales),
    ),
    # Memory-augmented networks: the memory's size (slots and slot width).
    "ntm": _MEMORY_PARAMS,
    "dnc": _MEMORY_PARAMS,
}


def _signature_defaults(cls):
    """Constructor defaults of a layer and of its cell (the cell's win), by name."""
    defaults = {}
    owners = list(reversed(cls.__mro__))
    cell_class = getattr(cls, "cell_class", None)
    if cell_class is not None:  # keyword arguments reach the cell and its bases
        owners += list(reversed(cell_class.__mro__))
    for owner in owners:
        if "__init__" not in vars(owner) or owner.__module__.split(".")[0] != "rnnzoo":
            continue
        for parameter in inspect.signature(owner.__init__).parameters.values():
            if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                continue
            defaults[parameter.name] = parameter.default
    return defaults


def _required_without_default(cls):
    defaults = _signature_defaults(cls)
    return [name for name, default in defaults.items()
            if default is inspect.Parameter.empty and name not in ("self", "units")]


def variant_params(name):
    """The tunable knobs of a registered layer: list of (hp name, VariantParam, default).

    The argument names and defaults come from the layer's (and its cell's)
    constructor, so a renamed argument is not silently tuned under an old name.
    """
    if name not in VARIANT_PARAMS or name not in registry.LAYERS:
        return []
    defaults = _signature_defaults(get_layer(name))
    found = []
    for param in VARIANT_PARAMS[name]:
        if param.kind == "constraint":
            if "max_timesteps" in defaults:
                found.append((param.arguments[0], param, defaults["max_timesteps"] is not None))
            continue
        argument = next((a for a in param.arguments if a in defaults), None)
        if argument is None or defaults[argument] is inspect.Parameter.empty:
            continue
        default = defaults[argument]
        if param.encode is not None:
            default = param.encode(default)
        found.append((argument, param, default))
    return found


def supported_cell_types():
    """Registered step-wise variants that a HyperModel can build from `units` alone."""
    return [name for name in list_layers(kind="stepwise")
            if name in REQUIRED_ARGS or not _required_without_default(get_layer(name))]


def resolve_cell_types(cell_types, owner):
    """The `cell_type` choices: all supported step-wise variants, or a checked subset."""
    supported = supported_cell_types()
    if cell_types is None:
        return supported
    if isinstance(cell_types, str) or not isinstance(cell_types, (list, tuple)) or not cell_types:
        raise ValueError(
            f"Received an invalid value for argument `cell_types` of {owner}, expected a "
            f"non-empty list of registered step-wise layer names, got {cell_types!r}."
        )
    for name in cell_types:
        if not isinstance(name, str) or name not in registry.LAYERS:
            raise ValueError(
                f"Received an invalid value for argument `cell_types` of {owner}: "
                + registry.unknown_name_message("layer", name, supported)
            )
        if name not in supported:
            raise ValueError(
                f"Received an invalid value for argument `cell_types` of {owner}: layer "
                f"{name!r} is not a step-wise variant a task backbone can be built from "
                f"(step-wise ones: {', '.join(supported)})."
            )
    if len(set(cell_types)) != len(cell_types):
        raise ValueError(
            f"Received an invalid value for argument `cell_types` of {owner}, expected "
            f"distinct names, got {list(cell_types)!r}."
        )
    return [registry.LAYERS.get(n).zoo_name for n in cell_types]


def declare_variant_params(hp, cell_types, timesteps=None):
    """Declares every variant's knobs under its conditional scope.

    Returns:
        dict layer name -> constructor keyword arguments for the active
        `cell_type` (the others map to `{}`).
    """
    chosen = hp.get("cell_type")
    kwargs = {name: {} for name in cell_types}
    for name in cell_types:
        params = variant_params(name)
        if not params:
            continue
        with hp.conditional_scope("cell_type", [name]):
            for hp_name, param, default in params:
                if param.kind == "float":
                    low, high = min(param.low, default), max(param.high, default)
                    value = hp.Float(hp_name, low, high, sampling=param.sampling,
                                     default=default)
                elif param.kind == "int":
                    low, high = min(param.low, default), max(param.high, default)
                    value = hp.Int(hp_name, low, high, step=param.step,
                                   sampling=param.sampling, default=default)
                elif param.kind == "choice":
                    values = list(param.values)
                    if default not in values:
                        values.insert(0, default)
                    value = hp.Choice(hp_name, values, default=default)
                elif timesteps is not None:  # "constraint"
                    value = hp.Boolean(hp_name, default=default)
                else:
                    continue  # no known sequence length to derive the clip from
                if name != chosen or value is None:
                    continue
                if param.kind == "constraint":
                    if value:
                        kwargs[name]["max_timesteps"] = int(timesteps)
                else:
                    kwargs[name][hp_name] = param.decode(value) if param.decode else value
    return kwargs


def declare_backbone(hp, cell_types, timesteps=None, return_sequences_last=False,
                     bidirectional=False, seed=None, prefix="backbone"):
    """Declares the backbone hyper-parameters and returns its layers.

    Args:
        hp: `keras_tuner.HyperParameters`.
        cell_types: list of layer names for `cell_type`.
        timesteps: the task's known sequence length, or None.
        return_sequences_last: whether the last layer returns sequences.
        bidirectional: whether to declare `bidirectional` (and wrap layers).
        seed: optional int; layer `i` gets `seed + i`.
        prefix: layer name prefix.

    Returns:
        list of Keras layers, stacked right: every layer but the last returns
        sequences.
    """
    default = DEFAULT_CELL_TYPE if DEFAULT_CELL_TYPE in cell_types else cell_types[0]
    cell_type = hp.Choice("cell_type", list(cell_types), default=default)
    units = hp.Int("units", **UNITS)
    num_layers = hp.Int("num_layers", **NUM_LAYERS)
    wrap = hp.Boolean("bidirectional", default=False) if bidirectional else False
    names = list(cell_types) + ([cell_type] if cell_type not in cell_types else [])
    extra = declare_variant_params(hp, names, timesteps)[cell_type]
    layer_class = get_layer(cell_type)
    required = REQUIRED_ARGS.get(registry.LAYERS.get(cell_type).zoo_name, lambda u: {})(units)
    layers = []
    for i in range(num_layers):
        layer = layer_class(
            units,
            return_sequences=True if i < num_layers - 1 else return_sequences_last,
            seed=None if seed is None else seed + i,
            name=f"{prefix}_{i}",
            **required,
            **extra,
        )
        if wrap:
            layer = keras.layers.Bidirectional(layer, name=f"{prefix}_bidirectional_{i}")
        layers.append(layer)
    return layers
