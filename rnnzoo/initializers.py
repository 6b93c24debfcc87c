"""Initializers for fixed random weights: sparse matrices and spectral-radius scaling.

Reservoir computing builds its weights once, at random, and never trains them,
so these initializers draw in NumPy (float64) and may use linear algebra that a
Keras op graph would not: the spectral radius needs the eigenvalues of the whole
matrix. Both are registered for Keras serialization under the package `rnnzoo`
and, like Keras' own initializers, draw the same values on every call when
given an integer `seed` (and follow `keras.utils.set_random_seed` otherwise).

Vocabulary as in reservoirpy: *connectivity* is the fraction of non-zero
entries, *spectral radius* the largest absolute eigenvalue.
"""

import keras
import numpy as np

PACKAGE = "rnnzoo"
DISTRIBUTIONS = ("uniform", "normal", "bernoulli")
# A sparse draw whose spectral radius is zero (a nilpotent matrix: possible
# when a small matrix has very few non-zeros) cannot be rescaled; it is redrawn
# from the same generator at most this many times.
_MAX_REDRAWS = 100


def _check_seed(owner, seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(
            f"Received an invalid value for argument `seed` of {owner}, expected an "
            f"integer or None, got {seed!r}."
        )
    return None if seed is None else int(seed)


def _check_connectivity(owner, argument, value):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not (ok and 0.0 < value <= 1.0):
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, expected "
            f"a float in (0, 1], got {value!r}."
        )
    return float(value)


def _check_positive(owner, argument, value, allow_zero=False):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative number" if allow_zero else "a positive number"
        raise ValueError(
            f"Received an invalid value for argument `{argument}` of {owner}, expected "
            f"{kind}, got {value!r}."
        )
    return float(value)


def _check_distribution(owner, value):
    if value not in DISTRIBUTIONS:
        raise ValueError(
            f"Received an invalid value for argument `distribution` of {owner}, "
            f"expected one of {list(DISTRIBUTIONS)}, got {value!r}."
        )
    return value


def _generator(seed):
    # Unseeded: draw the seed from NumPy's global state, which
    # `keras.utils.set_random_seed` seeds, so whole programs stay reproducible.
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return np.random.default_rng(seed)


def sparse_random(rng, shape, connectivity, distribution="uniform", scale=1.0):
    """A float64 array with `round(connectivity * size)` (at least one) non-zeros.

    The positions are chosen uniformly without replacement; the values are
    U(-scale, scale) (`"uniform"`), N(0, scale**2) (`"normal"`) or +-scale with
    equal probability (`"bernoulli"`).
    """
    size = int(np.prod(shape))
    count = min(size, max(1, int(round(connectivity * size))))
    if distribution == "uniform":
        values = rng.uniform(-1.0, 1.0, count)
    elif distribution == "normal":
        values = rng.standard_normal(count)
    else:
        values = rng.choice(np.array([-1.0, 1.0]), count)
    flat = np.zeros(size, np.float64)
    flat[rng.choice(size, count, replace=False)] = values * scale
    return flat.reshape(shape)


def spectral_radius(matrix):
    """The largest absolute eigenvalue of a square matrix, computed in float64."""
    matrix = np.asarray(matrix, np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"Expected a square matrix, got shape {matrix.shape}.")
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SparseRandom(keras.initializers.Initializer):
    """Sparse random weights: a given fraction of entries non-zero.

    Exactly `round(connectivity * size)` entries (at least one) are non-zero,
    at positions drawn uniformly; works for any shape (a bias vector too).

    Args:
        connectivity: float in (0, 1], the fraction of non-zero entries.
            Default 0.1.
        distribution: `"uniform"` (default, U(-scale, scale)), `"normal"`
            (N(0, scale**2)) or `"bernoulli"` (+-scale with equal probability).
        scale: positive float, the scale of the non-zero values. Default 1.0.
        seed: optional int; the same seed gives the same weights on every call.

    Example:

    >>> w = SparseRandom(connectivity=0.25, seed=0)((8, 8))
    >>> int((w.numpy() != 0).sum())
    16
    """

    def __init__(self, connectivity=0.1, distribution="uniform", scale=1.0, seed=None):
        owner = "SparseRandom"
        self.connectivity = _check_connectivity(owner, "connectivity", connectivity)
        self.distribution = _check_distribution(owner, distribution)
        self.scale = _check_positive(owner, "scale", scale)
        self.seed = _check_seed(owner, seed)

    def draw(self, shape):
        """The weights as a float64 NumPy array."""
        rng = _generator(self.seed)
        return sparse_random(rng, tuple(shape), self.connectivity, self.distribution, self.scale)

    def __call__(self, shape, dtype=None):
        return keras.ops.convert_to_tensor(self.draw(shape), dtype=dtype or "float32")

    def get_config(self):
        return {
            "connectivity": self.connectivity,
            "distribution": self.distribution,
            "scale": self.scale,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpectralRadius(keras.initializers.Initializer):
    """A random square matrix rescaled to a given spectral radius.

    Draws a sparse random matrix (as `SparseRandom`) and multiplies it by
    `spectral_radius / rho`, where `rho`, its largest absolute eigenvalue, is
    computed in float64 with `numpy.linalg.eigvals`. The result is cast to the
    weight's dtype afterwards, so its spectral radius matches the target to
    float32 rounding (about 1e-7 relative). A draw with `rho = 0` (nilpotent,
    possible for tiny, very sparse matrices) is redrawn from the same generator.

    Args:
        spectral_radius: positive float, the target largest absolute
            eigenvalue. Default 0.9.
        connectivity: float in (0, 1], the fraction of non-zero entries.
            Default 0.1.
        distribution: `"uniform"` (default), `"normal"` or `"bernoulli"`, the
            distribution of the non-zero values before rescaling.
        seed: optional int; the same seed gives the same weights on every call.

    Example:

    >>> import numpy as np
    >>> w = SpectralRadius(0.8, connectivity=0.2, seed=0)((50, 50))
    >>> round(float(np.max(np.abs(np.linalg.eigvals(w.numpy())))), 5)
    0.8
    """

    def __init__(self, spectral_radius=0.9, connectivity=0.1, distribution="uniform", seed=None):
        owner = "SpectralRadius"
        self.spectral_radius = _check_positive(owner, "spectral_radius", spectral_radius)
        self.connectivity = _check_connectivity(owner, "connectivity", connectivity)
        self.distribution = _check_distribution(owner, distribution)
        self.seed = _check_seed(owner, seed)

    def draw(self, shape):
        """The weights as a float64 NumPy array."""
        shape = tuple(shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                "SpectralRadius initializes square matrices only, got shape "
                f"{shape}."
            )
        rng = _generator(self.seed)
        for _ in range(_MAX_REDRAWS):
            matrix = sparse_random(rng, shape, self.connectivity, self.distribution)
            rho = spectral_radius(matrix)
            if rho > 1e-12:
                return matrix * (self.spectral_radius / rho)
        raise ValueError(
            f"SpectralRadius could not draw a {shape[0]}x{shape[1]} matrix with "
            f"connectivity {self.connectivity} whose spectral radius is non-zero in "
            f"{_MAX_REDRAWS} tries; use a higher connectivity."
        )

    def __call__(self, shape, dtype=None):
        return keras.ops.convert_to_tensor(self.draw(shape), dtype=dtype or "float32")

    def get_config(self):
        return {
            "spectral_radius": self.spectral_radius,
            "connectivity": self.connectivity,
            "distribution": self.distribution,
            "seed": self.seed,
        }


__all__ = ["SparseRandom", "SpectralRadius", "sparse_random", "spectral_radius"]
