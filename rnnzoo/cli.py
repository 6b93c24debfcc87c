"""The `rnnzoo` command. It only parses arguments and calls the library.

TensorFlow is imported only by the sub-commands that need it, so
`rnnzoo --help` answers at once. User errors (an unknown name, a bad recipe,
a missing file) print one line and exit with status 2.
"""

import argparse
import os
import sys

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"rnnzoo: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _cmd_list(args):
    what = args.what
    if what == "layers":
        from rnnzoo.layers import list_layers

        for name in list_layers(args.pattern):
            print(name)
    elif what == "datasets":
        from rnnzoo.data import describe, list_datasets  # NumPy only, no TensorFlow

        for name in list_datasets(args.pattern):
            print(f"{name:24s} {describe(name).description}")
    else:
        from rnnzoo.presets import list_presets, read_metadata

        for name in list_presets(args.pattern):
            metadata = read_metadata(name)
            metric = metadata.get("primary_metric") or next(iter(metadata["metrics"]))
            dataset = metadata["dataset"]
            where = f"{dataset.get('name')}/{dataset.get('split')}"
            print(f"{name:44s} {where}: {metric} {metadata['metrics'][metric]:.4g}")
    return 0


def _cmd_train(args):
    from rnnzoo.presets.recipes import read_recipe, run_recipe

    recipe = read_recipe(args.recipe)  # refuses a bad recipe before any import of TF
    out = args.out or recipe.name
    metadata = run_recipe(args.recipe, out, verbose=0 if args.quiet else 2)
    numbers = ", ".join(f"{k} {v:.4g}" for k, v in metadata["metrics"].items())
    print(f"wrote preset {metadata['name']} to {out} ({numbers} on "
          f"{metadata['dataset'].get('name')}/{metadata['dataset'].get('split')})")
    return 0


def _cmd_evaluate(args):
    from rnnzoo.presets.recipes import evaluate_preset

    result = evaluate_preset(args.preset)
    print(f"{result['name']} on {result['dataset']}: {result['metric']} "
          f"{result['measured']:.4g} (recorded {result['recorded']:.4g})")
    reference = result.get("reference")
    if reference:
        numbers = ", ".join(f"{k} {v:.4g}" for k, v in reference["numbers"].items())
        print(f"published ({reference['source']}): {numbers}")
    return 0


def _load_model(source):
    if str(source).endswith(".keras"):
        if not os.path.isfile(source):
            raise FileNotFoundError(f"Model file {source!r} does not exist.")
        import keras

        import rnnzoo.layers  # noqa: F401  (registers the zoo's classes)
        import rnnzoo.tasks  # noqa: F401

        return keras.saving.load_model(source, safe_mode=True)
    from rnnzoo.presets import load

    return load(source)


def _cmd_export(args):
    from rnnzoo.export import export, streaming_model

    if args.step and args.streaming:
        raise ValueError("--step and --streaming export different graphs; give one of them.")
    model = _load_model(args.source)
    if args.streaming:
        model = streaming_model(model)
    if args.step:
        if not hasattr(model, "export_model"):
            raise ValueError(
                f"--step needs an autoregressive task with a one-step export model; "
                f"{type(model).__name__} has none."
            )
        model = model.export_model()
    report = export(model, args.out, format=args.format, batch_size=args.batch_size,
                    timesteps=args.timesteps)
    print(f"wrote {report.format} to {report.path} ({report.size_bytes} bytes); "
          f"max |exported - keras| = {report.max_abs_diff:.2e}")
    return 0


def _cmd_quickstart(args):
    from rnnzoo.quickstart import run

    run(work_dir=args.work_dir)
    return 0


def _cmd_tune(args):
    from rnnzoo.presets.tuning_recipe import read_tune_recipe

    read_tune_recipe(args.recipe)  # refuses a bad recipe before any import of TF
    if args.distributed_timeout is not None and args.distributed_timeout <= 0:
        raise ValueError(
            f"--distributed-timeout must be a positive number of seconds, got "
            f"{args.distributed_timeout:g}."
        )
    from rnnzoo.presets.tuning_recipe import run_tune_recipe
    from rnnzoo.tuning.tuners import DistributedSearchTimeout

    try:
        summary = run_tune_recipe(args.recipe, args.out, verbose=0 if args.quiet else 1,
                                  overwrite=args.overwrite,
                                  distributed_timeout=args.distributed_timeout)
    except DistributedSearchTimeout as error:
        print(f"rnnzoo: error: {error}", file=sys.stderr)
        return 1
    if summary["role"] == "worker":
        print(f"worker {summary['tuner_id']} finished ({summary['seconds']:g} s)")
        return 0
    best, objective, metric = summary["best"], summary["objective"], summary["metric"]
    done = sum(1 for t in summary["trials"] if t["status"] == "COMPLETED")
    print(f"{summary['name']}: {done}/{len(summary['trials'])} trials completed; best trial "
          f"{best['trial_id']}: {objective} {best[objective]:.4g}, {metric} "
          f"{best[metric]:.4g} on {summary['dataset']['name']}/{summary['dataset']['split']}")
    print("best: " + ", ".join(f"{k}={v}" for k, v in sorted(best["hyperparameters"].items())))
    if "default" in summary:
        default = summary["default"]
        print(f"default configuration: {objective} {default[objective]:.4g}, {metric} "
              f"{default[metric]:.4g}")
    if "preset" in summary:
        print(f"wrote preset {summary['preset']}")
    return 0


def build_parser():
    parser = _Parser(
        prog="rnnzoo",
        description="A Keras 3 zoo of recurrent neural networks: layers, tasks, "
        "pretrained presets and TFLite export.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    listing = commands.add_parser("list", help="list layers, pretrained presets or datasets")
    listing.add_argument("what", choices=("layers", "presets", "datasets"))
    listing.add_argument("pattern", nargs="?", default="*", help="fnmatch pattern, e.g. '*rnn*'")
    listing.set_defaults(run=_cmd_list)

    train = commands.add_parser("train", help="rebuild a preset from a YAML recipe")
    train.add_argument("recipe", help="zoo_configs/<name>.yaml")
    train.add_argument("--out", help="preset folder to write (default: ./<name>)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch output")
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("evaluate", help="measure a preset on its evaluation split")
    evaluate.add_argument("preset", help="preset name or folder")
    evaluate.set_defaults(run=_cmd_evaluate)

    export = commands.add_parser("export", help="export a preset or .keras file")
    export.add_argument("source", help="preset name, preset folder or .keras file")
    export.add_argument("--format", choices=("tflite", "saved_model"), default=None,
                        help="default: tflite for a .tflite --out, else saved_model")
    export.add_argument("--out", required=True, help="output .tflite file or SavedModel folder")
    export.add_argument("--batch-size", type=int, default=1, help="static batch size (default 1)")
    export.add_argument("--timesteps", type=int, default=None, help="fix the time axis")
    export.add_argument("--step", action="store_true",
                        help="export the task's single decoding step (explicit state in/out) "
                        "instead of the whole model, for running the loop on a phone")
    export.add_argument("--streaming", action="store_true",
                        help="give every recurrent state an input and an output, to run the "
                        "model chunk by chunk on a stream (chunk length: --timesteps)")
    export.set_defaults(run=_cmd_export)

    tune = commands.add_parser("tune", help="run a Keras Tuner search from a YAML recipe")
    tune.add_argument("recipe", help="zoo_configs/tuning/<name>.yaml")
    tune.add_argument("--out", help="output folder (default: the recipe's output, else ./<name>)")
    tune.add_argument("--overwrite", action="store_true",
                      help="start afresh instead of resuming a search found in the folder")
    tune.add_argument("--distributed-timeout", type=float, default=None, metavar="SECONDS",
                      help="on a distributed chief (KERASTUNER_TUNER_ID=chief), give up when "
                      "no worker has made progress for this long (default 3600)")
    tune.add_argument("--quiet", action="store_true", help="no search progress output")
    tune.set_defaults(run=_cmd_tune)

    quickstart = commands.add_parser(
        "quickstart", help="offline tour: presets, fine-tuning, TFLite export"
    )
    quickstart.add_argument("--work-dir", default=None,
                            help="where to write the exported model (default: a temp folder)")
    quickstart.set_defaults(run=_cmd_quickstart)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    _quiet_tensorflow()
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, KeyError) as error:
        message = str(error).strip().splitlines()
        # Keras wraps layer errors in a multi-line block; the last line is ours.
        text = next((line for line in reversed(message) if line.strip()), repr(error))
        print(f"rnnzoo: error: {text}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
