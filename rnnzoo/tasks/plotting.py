"""Figures for task results. matplotlib is imported only when a function runs.

matplotlib is an optional dependency (the `data` and `test` extras bring it);
the figures are drawn on a `matplotlib.figure.Figure` with the Agg canvas, so
no display and no pyplot state are needed.
"""

import numpy as np

from rnnzoo.tasks.anomaly import runs


def _import_figure():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "plot_detection needs matplotlib; install it with `pip install matplotlib` "
            '(or `pip install "rnnzoo[data]"`).'
        ) from None
    return Figure


def plot_detection(series, scores, flags, labels=None, path=None, threshold=None, title=None):
    """Draws a series, its anomaly score and the flagged windows; optionally saves a PNG.

    Top panel: the series (each feature a line), flagged windows shaded red and
    labelled anomalies (if given) shaded grey. Bottom panel: the score per step
    with the threshold as a dashed line (when given).

    Args:
        series: array `(time,)` or `(time, features)`.
        scores: array `(time,)`; NaN steps are left blank.
        flags: bool array `(time,)`, the flagged steps.
        labels: optional 0/1 array `(time,)`, the labelled anomalies.
        path: optional file name; the figure is saved there as PNG.
        threshold: optional float drawn on the score panel (e.g.
            `detection.threshold`).
        title: optional figure title.

    Returns:
        the `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np
    >>> x = np.sin(np.arange(100) / 4.0)
    >>> fig = plot_detection(x, np.abs(x), np.abs(x) > 0.99, threshold=0.99)
    >>> len(fig.axes)
    2
    """
    series = np.asarray(series, dtype="float64")
    if series.ndim == 1:
        series = series[:, None]
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    flags = np.asarray(flags).astype(bool).reshape(-1)
    length = series.shape[0]
    if series.ndim != 2 or length == 0:
        raise ValueError(
            f"Received an invalid `series` for plot_detection, expected shape (time,) or "
            f"(time, features) with time > 0, got {np.shape(series)}."
        )
    if scores.size != length or flags.size != length:
        raise ValueError(
            f"Received arrays of different lengths for plot_detection: series {length}, "
            f"scores {scores.size}, flags {flags.size}; expected one value per step."
        )
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.size != length:
            raise ValueError(
                f"Received `labels` of length {labels.size} for plot_detection, expected "
                f"{length} (one per step)."
            )
    Figure = _import_figure()
    figure = Figure(figsize=(12, 5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    steps = np.arange(length)
    top.plot(steps, series, linewidth=0.8, color="tab:blue")
    if labels is not None:
        for i, (start, end) in enumerate(runs(labels)):
            top.axvspan(start - 0.5, end - 0.5, color="0.6", alpha=0.5,
                        label="labelled anomaly" if i == 0 else None)
    for i, (start, end) in enumerate(runs(flags)):
        for axis in (top, bottom):
            axis.axvspan(start - 0.5, end - 0.5, color="tab:red", alpha=0.3,
                         label="flagged" if i == 0 and axis is top else None)
    top.set_ylabel("value")
    if top.get_legend_handles_labels()[0]:
        top.legend(loc="upper right")
    bottom.plot(steps, scores, linewidth=0.8, color="tab:orange", label="score")
    if threshold is not None:
        bottom.axhline(float(threshold), color="black", linestyle="--", linewidth=1.0,
                       label=f"threshold {float(threshold):.3g}")
    bottom.set_xlabel("time step")
    bottom.set_ylabel("score")
    bottom.legend(loc="upper right")
    if title:
        figure.suptitle(title)
    if path is not None:
        figure.savefig(path, format="png", dpi=100)
    return figure
