"""Example inputs for the structured-layer conformance sweep.

Layers that are not step-wise (`rnnzoo.layers.list_layers(kind="structured")`:
attractor networks, tree and grid recurrences, ...) have their own input
contract, so the sweep cannot invent their inputs. Each such layer registers
one `StructuredExample` here, keyed by its registry name; the sweep in
`test_structured_conformance.py` then runs every structured check on it.

A `StructuredExample` holds:
- `make(seed)`: a new layer configured for tiny shapes, seeded with `seed`
  (two calls with the same seed must give identical layers; a different seed
  must give different weights when the layer has random weights).
- `inputs(seed)`: one batch of inputs, a NumPy array or a list/dict of NumPy
  arrays exactly as the layer is called (batch first, batch size >= 2; a
  dict is flattened in sorted-key order for export, as Keras does).
- `bad_inputs`: a list of inputs (same structure conventions) that must raise
  a `ValueError` mentioning the layer's class name.
- `prepare(layer, inputs)` (optional): called once after the layer is built
  and before outputs are compared, e.g. to `store()` patterns in a Hopfield
  layer; it must be deterministic.
- `atol`: tolerance for Keras-vs-Keras comparisons (default 1e-6) and
  `tflite_atol` for Keras-vs-LiteRT (default 1e-5).

A check that cannot apply to a layer is exempted, with its reason, in
`conformance_exemptions.EXEMPTIONS` under the structured check's name.
"""

import dataclasses
from typing import Any, Callable, Optional


@dataclasses.dataclass
class StructuredExample:
    make: Callable[[int], Any]
    inputs: Callable[[int], Any]
    bad_inputs: list
    prepare: Optional[Callable[[Any, Any], None]] = None
    atol: float = 1e-6
    tflite_atol: float = 1e-5


# Registry name -> StructuredExample. Each layer family adds its own entries.
EXAMPLES = {}


# --- mdrnn (rnnzoo/layers/mdrnn.py): 2-D grids (batch, height, width, channels).
def _mdrnn_grid(seed, shape=(2, 2, 3, 2)):
    import numpy as np

    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _mdrnn_make(seed):
    from rnnzoo.layers import MDRNN

    # Four directions and full-grid output exercise every weight and the merge.
    return MDRNN(3, directions=4, return_sequences=True, seed=seed)


EXAMPLES["mdrnn"] = StructuredExample(
    make=_mdrnn_make,
    inputs=_mdrnn_grid,
    bad_inputs=[
        _mdrnn_grid(0, (2, 2, 3)),  # not a grid: 3-D
        _mdrnn_grid(0, (2, 2, 4, 2)),  # another width than at build time
        _mdrnn_grid(0, (2, 2, 3, 3)),  # another channel count
    ],
)


# --- recursive, rntn (rnnzoo/layers/recursive.py): trees in the post-ordered node
# encoding of rnnzoo.data.tree_encoding, as a list [tokens, left, right, node_mask].
def _tree_inputs(seed):
    import numpy as np

    from rnnzoo.data import tree_encoding, trees

    rng = np.random.default_rng(seed)
    batch = [trees.random_expression(int(rng.integers(1, 3)), grammar, seed=rng, max_nodes=7)
             for grammar in ("boolean", "arithmetic", "boolean")]
    enc = tree_encoding.encode_trees(batch, max_nodes=8)
    return [enc["tokens"], enc["left"], enc["right"], enc["node_mask"]]


def _tree_bad_inputs():
    good = _tree_inputs(0)

    def edited(index, row, col, value):
        parts = [p.copy() for p in good]
        parts[index][row, col] = value
        return parts

    return [
        edited(1, 0, 0, 5),  # a leaf's child after its parent
        edited(2, 1, 0, 0),  # a node that is its own child
        edited(0, 0, 0, 999),  # token id outside the vocabulary
        [good[0].astype("float32")] + good[1:],  # float tokens
        [good[0][..., None]] + good[1:],  # rank 3
        good[:2],  # too few arrays
    ]


def _tree_make(cls_name):
    def make(seed):
        import rnnzoo.layers
        from rnnzoo.data import tree_encoding

        cls = getattr(rnnzoo.layers, cls_name)
        return cls(3, vocabulary_size=len(tree_encoding.VOCABULARY), seed=seed)

    return make


EXAMPLES["recursive"] = StructuredExample(
    make=_tree_make("Recursive"), inputs=_tree_inputs, bad_inputs=_tree_bad_inputs()
)
EXAMPLES["rntn"] = StructuredExample(
    make=_tree_make("RNTN"), inputs=_tree_inputs, bad_inputs=_tree_bad_inputs()
)


# --- hopfield, modern_hopfield (rnnzoo/layers/hopfield.py), bam, stochastic_bam
# (rnnzoo/layers/bam.py): attractor memories on (batch, units) probes; the
# classic ones store bipolar patterns in `prepare`.
def _bipolar(seed, shape):
    import numpy as np

    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0).astype("float32")


def _hopfield_make(seed):
    from rnnzoo.layers import Hopfield

    # Asynchronous, random order: the seeded permutation is the layer's random part.
    return Hopfield(update="asynchronous", order="random", max_iterations=5, seed=seed)


EXAMPLES["hopfield"] = StructuredExample(
    make=_hopfield_make,
    inputs=lambda seed: _bipolar(seed, (3, 12)),
    bad_inputs=[
        _bipolar(0, (3, 12, 1)),  # rank 3
        _bipolar(0, (3, 13)),  # another size than at build time
        _bipolar(0, (12,)),  # no batch axis
    ],
    prepare=lambda layer, inputs: layer.store(_bipolar(100, (2, 12))),
)


def _modern_hopfield_inputs(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    return [rng.standard_normal((2, 3, 4)).astype("float32"),  # state patterns R
            rng.standard_normal((2, 5, 6)).astype("float32")]  # stored patterns Y


def _modern_hopfield_make(seed):
    from rnnzoo.layers import ModernHopfield

    return ModernHopfield(8, mode="association", seed=seed)


EXAMPLES["modern_hopfield"] = StructuredExample(
    make=_modern_hopfield_make,
    inputs=_modern_hopfield_inputs,
    bad_inputs=[
        _modern_hopfield_inputs(0)[:1] * 3,  # three tensors
        [_modern_hopfield_inputs(0)[0][:, 0], _modern_hopfield_inputs(0)[1]],  # 2-D states
        [_modern_hopfield_inputs(0)[0], _modern_hopfield_inputs(0)[1][..., :5]],  # features
    ],
)


def _bam_store(layer, inputs):
    layer.store(_bipolar(100, (3, 11)), _bipolar(101, (3, 7)))


def _bam_make(cls_name):
    def make(seed):
        import rnnzoo.layers

        if cls_name == "BAM":
            return rnnzoo.layers.BAM(7, max_iterations=5)
        return rnnzoo.layers.StochasticBAM(7, temperature=1.0, decay=0.8, max_iterations=5,
                                           seed=seed)

    return make


for _name, _cls in (("bam", "BAM"), ("stochastic_bam", "StochasticBAM")):
    EXAMPLES[_name] = StructuredExample(
        make=_bam_make(_cls),
        inputs=lambda seed: _bipolar(seed, (3, 11)),
        bad_inputs=[
            _bipolar(0, (3, 12)),  # another x size than at build time
            _bipolar(0, (3, 11, 1)),  # rank 3
            [_bipolar(0, (3, 11)), _bipolar(0, (3, 6))],  # y of the wrong size
        ],
        prepare=_bam_store,
    )
