"""Learning rules beyond plain backpropagation, as Keras-compatible trainers.

- `fit_ridge_readout`: closed-form (ridge regression, float64) readout of a
  reservoir model such as an `rnnzoo.layers.ESN`; `ridge_readout_model` builds
  the model, `ridge_regression` is the solver, and `generate` runs a fitted
  one-step predictor in closed loop for multi-step forecasts.
"""

from rnnzoo.training.ridge import (
    fit_ridge_readout,
    generate,
    ridge_readout_model,
    ridge_regression,
)

__all__ = ["fit_ridge_readout", "generate", "ridge_readout_model", "ridge_regression"]
