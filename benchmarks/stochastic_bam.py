"""Stochastic vs deterministic BAM: pair recall accuracy against probe noise and temperature.

Each trial stores `--pairs` random bipolar pairs (x: `--n` units, y: `--p`
units) in a `rnnzoo.layers.BAM` and in `rnnzoo.layers.StochasticBAM`s with
the same correlation matrix. Probes are the stored x's with a fraction
`noise` of their bits flipped (`--probes` per trial, cycling over the pairs).
A recall is correct when the final y equals the stored y of the probe's pair
exactly; the overlap is `y . y_k / p`. The deterministic BAM and every
initial temperature `T0` run on the same probes; the stochastic chains anneal
`T_k = max(T0 * decay^k, min_temperature)` for `--iterations` round trips
(the deterministic BAM stops at its stable pair, at most `--iterations`).

Temperatures are in units of the net input (`x M` is of order n for a
recalled pattern), so `T0` around n is hot and around 1 is nearly
deterministic.

Usage:
    python benchmarks/stochastic_bam.py --out /tmp/stochastic_bam
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnzoo.layers import BAM, StochasticBAM  # noqa: E402


def score(layer, probes, ys, index):
    _, y = tf.function(layer.__call__)(tf.constant(probes, tf.float32))
    y = np.asarray(y)
    target = ys[index]
    return np.all(y == target, axis=1), np.mean(y * target, axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--p", type=int, default=60)
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[5, 20, 50, 100])
    parser.add_argument("--decay", type=float, default=0.85)
    parser.add_argument("--min-temperature", type=float, default=1.0)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="stochastic_bam")
    args = parser.parse_args()
    methods = ["deterministic"] + [f"T0={t:g}" for t in args.temperatures]
    results = {m: {f"{f:g}": {"correct": [], "overlap": []} for f in args.noise}
               for m in methods}
    for trial in range(args.trials):
        rng = np.random.default_rng([args.seed, trial])
        xs = np.where(rng.random((args.pairs, args.n)) < 0.5, -1.0, 1.0)
        ys = np.where(rng.random((args.pairs, args.p)) < 0.5, -1.0, 1.0)
        layers = {"deterministic": BAM(args.p, max_iterations=args.iterations)}
        for t, name in zip(args.temperatures, methods[1:]):
            layers[name] = StochasticBAM(args.p, temperature=t, decay=args.decay,
                                         min_temperature=args.min_temperature,
                                         max_iterations=args.iterations,
                                         seed=args.seed * 1000 + trial)
        for layer in layers.values():
            layer.store(xs, ys)
        for noise in args.noise:
            index = np.arange(args.probes) % args.pairs
            flips = rng.random((args.probes, args.n)) < noise
            probes = xs[index] * np.where(flips, -1.0, 1.0)
            for name, layer in layers.items():
                correct, overlap = score(layer, probes, ys, index)
                cell = results[name][f"{noise:g}"]
                cell["correct"].extend(correct.tolist())
                cell["overlap"].extend(overlap.tolist())
    table = {m: {f: {"accuracy": float(np.mean(c["correct"])),
                     "overlap": float(np.mean(c["overlap"]))}
                 for f, c in per.items()} for m, per in results.items()}
    header = "| method | " + " | ".join(f"noise {f:g}" for f in args.noise) + " |"
    print(header)
    print("|" + "---|" * (len(args.noise) + 1))
    for m in methods:
        cells = [f"{table[m][f'{f:g}']['accuracy']:.3f} ({table[m][f'{f:g}']['overlap']:.3f})"
                 for f in args.noise]
        print(f"| {m} | " + " | ".join(cells) + " |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "stochastic_bam.json"), "w") as handle:
        json.dump({"args": vars(args), "table": table}, handle, indent=1)
    print("cells: exact pair recall accuracy (mean y overlap); wrote",
          os.path.join(args.out, "stochastic_bam.json"))


if __name__ == "__main__":
    main()
