"""Hopfield capacity: retrieval overlap versus load alpha = P/N for three storage rules.

For each size N, rule and load alpha, `P = round(alpha N)` random unbiased
bipolar patterns are stored in `rnnzoo.layers.Hopfield` with the rule, and
each stored pattern (up to `--probes` of them per trial; corrupted by
`--flip` of its bits, default none) is recalled with asynchronous updates
(random fixed order, at most `--iterations` sweeps). The final overlap
`m = s . xi / N` is averaged over probes and trials.

Theory (random patterns, N -> infinity):
- Hebbian: retrieval states exist up to alpha_c = 0.138 (Amit, Gutfreund &
  Sompolinsky 1985), with overlap m ~ 0.97 just below; above it the overlap
  drops to the spin-glass level (at finite N, m ~ 0.3-0.5 right after the
  transition). Finite-size effects smooth the drop at small N.
- pseudo-inverse (projection rule, zero diagonal): every stored pattern is a
  fixed point while P < N.
- Storkey: about N / sqrt(2 ln N) patterns are stable (Storkey 1997; a
  perfect-recall criterion, so the overlap collapse sits above it).

The measured collapse point of a curve is the load where the mean overlap
first falls below `--threshold` (default 0.8, linear interpolation between
grid points).

Writes a JSON report and a PNG plot (matplotlib: `pip install rnnzoo[data]`).

Usage:
    python benchmarks/hopfield_capacity.py --sizes 100 200 500 1000 --out benchmarks/results
    python benchmarks/hopfield_capacity.py --from-json benchmarks/results/hopfield_capacity.json
"""

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from rnnzoo.layers import Hopfield  # noqa: E402

LOADS = {
    "hebbian": [0.04, 0.08, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2, 0.25],
    "storkey": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6],
    "pseudo_inverse": [0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99],
}


def theory(rule, n):
    if rule == "hebbian":
        return 0.138
    if rule == "storkey":
        return 1.0 / math.sqrt(2.0 * math.log(n))
    return 1.0


def measure(n, rule, alpha, trials, probes, flip, iterations, seed):
    count = max(1, int(round(alpha * n)))
    layer = Hopfield(rule=rule, update="asynchronous", order="random",
                     max_iterations=iterations, seed=seed)
    layer.build((None, n))
    recall = tf.function(layer.__call__)  # one trace; store() only changes the weights
    overlaps = []
    for trial in range(trials):
        rng = np.random.default_rng([seed, n, int(alpha * 1000), trial])
        patterns = np.where(rng.random((count, n)) < 0.5, -1.0, 1.0)
        layer.store(patterns)
        chosen = patterns[:probes]
        start = chosen * np.where(rng.random(chosen.shape) < flip, -1.0, 1.0)
        recalled = recall(tf.constant(start, tf.float32)).numpy()
        overlaps.extend(np.sum(recalled * chosen, axis=1) / n)
    return float(np.mean(overlaps)), float(np.std(overlaps)), len(overlaps)


def collapse(loads, means, threshold):
    for (a0, m0), (a1, m1) in zip(zip(loads, means), zip(loads[1:], means[1:])):
        if m0 >= threshold > m1:
            return a0 + (m0 - threshold) * (a1 - a0) / (m0 - m1)
    return None


def summary(report):
    """Prints the overlap table and each rule's collapse points; for rules with a
    collapse at two or more sizes, a least-squares fit alpha*(N) = a + b / sqrt(N)
    gives the extrapolated large-N collapse `a`."""
    for rule, curves in report["curves"].items():
        loads = next(iter(curves.values()))["loads"]
        print(f"\n{rule}: mean final overlap")
        print("| N | " + " | ".join(f"{a:g}" for a in loads) + " | collapse (m < "
              f"{report['threshold']}) | theory |")
        print("|" + "---|" * (len(loads) + 3))
        for n, curve in curves.items():
            cells = dict(zip(curve["loads"], curve["overlap"]))
            row = " | ".join(f"{cells[a]:.3f}" if a in cells else "-" for a in loads)
            found = "none" if curve["collapse"] is None else f"{curve['collapse']:.3f}"
            print(f"| {n} | {row} | {found} | {curve['theory']:.3f} |")
        points = [(int(n), c["collapse"]) for n, c in curves.items() if c["collapse"]]
        if len(points) >= 2:
            x = np.array([1 / math.sqrt(n) for n, _ in points])
            b, a = np.polyfit(x, np.array([c for _, c in points]), 1)
            print(f"{rule}: fit alpha*(N) = {a:.3f} + {b:.3f} / sqrt(N) -> large-N collapse "
                  f"{a:.3f}")


def plot(report, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rules = list(report["curves"])
    fig, axes = plt.subplots(1, len(rules), figsize=(5 * len(rules), 4), sharey=True,
                             squeeze=False)
    axes = axes[0]
    for ax, rule in zip(axes, rules):
        for n, curve in report["curves"][rule].items():
            ax.plot(curve["loads"], curve["overlap"], "o-", label=f"N = {n}")
        for n in report["sizes"]:
            ax.axvline(theory(rule, int(n)), color="gray", ls=":", lw=1)
        ax.set_title(f"{rule} (dotted: theory)")
        ax.set_xlabel("load alpha = P / N")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean final overlap m")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--rules", nargs="+", default=list(LOADS))
    parser.add_argument("--trials", type=int, default=None,
                        help="default: enough trials for >= 200 probes, at most 10")
    parser.add_argument("--probes", type=int, default=100, help="probes per trial")
    parser.add_argument("--flip", type=float, default=0.0, help="corrupted bit fraction")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="hopfield_capacity")
    parser.add_argument("--from-json", default=None,
                        help="only summarise and re-plot a report this script wrote")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as handle:
            report = json.load(handle)
        summary(report)
        plot(report, os.path.splitext(args.from_json)[0] + ".png")
        return
    os.makedirs(args.out, exist_ok=True)
    report = {"command": "python benchmarks/hopfield_capacity.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in vars(args).items() if v is not None and k != "from_json"),
        "sizes": args.sizes, "flip": args.flip, "threshold": args.threshold, "curves": {}}
    for rule in args.rules:
        report["curves"][rule] = {}
        for n in args.sizes:
            curve = {"loads": [], "overlap": [], "std": [], "probes": []}
            for alpha in LOADS[rule]:
                if int(round(alpha * n)) >= n:
                    continue
                count = max(1, int(round(alpha * n)))
                trials = args.trials or min(10, max(1, math.ceil(200 / min(count, args.probes))))
                start = time.time()
                mean, std, seen = measure(n, rule, alpha, trials, args.probes, args.flip,
                                          args.iterations, args.seed)
                for key, value in (("loads", alpha), ("overlap", mean), ("std", std),
                                   ("probes", seen)):
                    curve[key].append(value)
                print(f"{rule:15s} N={n:5d} alpha={alpha:.3f} P={count:4d} m={mean:.3f} "
                      f"(+-{std:.3f}, {seen} probes, {time.time() - start:.1f}s)", flush=True)
            curve["collapse"] = collapse(curve["loads"], curve["overlap"], args.threshold)
            curve["theory"] = theory(rule, n)
            report["curves"][rule][str(n)] = curve
            print(f"{rule} N={n}: overlap < {args.threshold} from alpha = {curve['collapse']} "
                  f"(theory {curve['theory']:.3f})", flush=True)
            with open(os.path.join(args.out, "hopfield_capacity.json"), "w") as handle:
                json.dump(report, handle, indent=1)
    summary(report)
    plot(report, os.path.join(args.out, "hopfield_capacity.png"))
    print("wrote", os.path.join(args.out, "hopfield_capacity.json"), "and .png")


if __name__ == "__main__":
    main()
