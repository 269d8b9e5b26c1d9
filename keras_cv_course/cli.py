"""The ``kcc`` command: ``kcc list``, ``kcc info NAME``, ``kcc summary NAME`` and
the commands other subpackages add (train, evaluate, predict, visualize).

A subpackage adds commands by listing its module in ``COMMAND_MODULES``; the
module defines ``add_commands(subparsers)`` and sets ``func`` on each parser.
"""

import argparse
import importlib
import os
import sys

COMMAND_MODULES = ("keras_cv_course.training.cli", "keras_cv_course.bench", "keras_cv_course.visualize.cli", "keras_cv_course.models.convert_cli")


REFUSED = 2  # the exit status of every refused input: a bad option (argparse), name, file or run directory


def main(argv=None):
    """Entry point of the ``kcc`` console script; returns the exit status: 0,
    ``REFUSED`` (2) for an input refused with a one-line message naming it, 130
    after Ctrl-C; anything else escaping is a bug (a traceback, exit 1)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    use_one_inter_op_thread()
    try:
        return args.func(args) or 0
    except KeyboardInterrupt as interrupted:  # Ctrl-C: one line (training's says how to resume), no traceback
        print(f"kcc {args.command}: {str(interrupted) or 'interrupted'}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, OSError) as error:  # a refused input: exit 2, like argparse's
        print(f"kcc {args.command}: error: {error}", file=sys.stderr)
        return REFUSED


def console():
    """The ``kcc`` console script and ``python -m keras_cv_course``: ``main()``,
    and after Ctrl-C an immediate exit with 130. Every committed epoch is on disk
    and the run's lock released by then; what is skipped is the interpreter's
    shutdown, which can abort in TensorFlow's native threads (``malloc_consolidate():
    invalid chunk size``, exit -6 instead of 130) when they were stopped mid-step."""
    status = main()
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def use_one_inter_op_thread():
    """Run TensorFlow's independent ops one at a time (``TF_NUM_INTEROP_THREADS=1``)
    unless the environment says otherwise or TF_CONFIG is set (a multi-worker
    cluster's collectives need concurrent ops). On this project's 2-core CPU the
    default pool made the first epochs of ``kcc train fashion_cnn`` (then with a learned stem) run at
    half speed (3 epochs: 82.4 s of training against 62.1 s, same run otherwise).
    Must run before TensorFlow creates its runtime."""
    if "TF_CONFIG" not in os.environ:
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")


def build_parser():
    parser = argparse.ArgumentParser(prog="kcc", description="The convnets of the classic CV course, in Keras 3.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_commands(subparsers)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    return parser


def add_commands(subparsers):
    listing = subparsers.add_parser("list", help="list registered models")
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style pattern, e.g. 'vgg*'")
    listing.set_defaults(func=run_list)

    info = subparsers.add_parser("info", help="show what the registry knows about a model")
    info.add_argument("name")
    info.set_defaults(func=run_info)

    summary = subparsers.add_parser("summary", help="build a model and print its Keras summary")
    summary.add_argument("name")
    summary.add_argument("--input-shape", type=parse_shape, default=None, help="H,W,C (default: the model's)")
    summary.add_argument("--classes", type=positive_int, default=None)
    summary.add_argument("--no-top", action="store_true", help="build with include_top=False")
    summary.set_defaults(func=run_summary)


def _number(kind, test, expected):
    """An argparse type: ``kind(text)`` that passes ``test``, else an error naming
    the value and what was expected."""
    import math

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}") from None
        if (isinstance(value, float) and not math.isfinite(value)) or not test(value):
            raise argparse.ArgumentTypeError(f"expected {expected}; got {text!r}")
        return value

    parse.__name__ = expected
    return parse


positive_int = _number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _number(float, lambda v: v > 0, "a positive finite number")
non_negative_float = _number(float, lambda v: v >= 0, "a finite number >= 0")
fraction = _number(float, lambda v: 0 <= v < 1, "a fraction in [0, 1)")


def sha256_digest(text):
    """An argparse type: a sha256 hex digest (64 hexadecimal characters), lowercased."""
    from keras_cv_course._files import parse_sha256

    try:
        return parse_sha256(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_shape(text):
    """Parse "H,W,C" into a tuple of three positive ints."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected H,W,C with three positive integers, got {text!r}")
    return shape


def run_list(args):
    from keras_cv_course.models import list_models, model_info

    names = list_models(args.pattern)
    if not names:
        print(f"no model matches {args.pattern!r}", file=sys.stderr)
        return 1
    rows = [("name", "family", "input", "params", "paper")]
    for name in names:
        info = model_info(name)
        rows.append((name, info.family, "x".join(map(str, info.input_shape)), f"{info.params:,}", info.paper))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    return 0


def run_info(args):
    from keras_cv_course.models import model_info

    info = model_info(args.name)
    print(f"name:           {info.name}")
    print(f"builder:        {info.builder.__module__}.{info.builder_name}{_kwargs_text(info.kwargs)}")
    print(f"family:         {info.family}")
    print(f"task:           {info.task}" + (f" (head on backbone {info.backbone})" if info.backbone else ""))
    print(f"paper:          {info.paper}")
    print(f"input shape:    {info.input_shape} (minimum {info.min_size}x{info.min_size})")
    print(f"classes:        {info.classes}")
    print(f"parameters:     {info.params:,}")
    print(f"preprocessing:  {info.preprocessing}")
    print(f"weights:        {', '.join(info.weights) or 'none (train your own)'}")
    print("feature taps:   " + ("none" if not info.taps else ""))
    for tap in info.taps:
        print(f"  {tap.level}: {tap.layer} ({tap.channels} channels, stride {tap.stride})")
    return 0


def run_summary(args):
    from keras_cv_course.models import get_model

    kwargs = {}
    if args.input_shape:
        kwargs["input_shape"] = args.input_shape
    if args.classes:
        kwargs["classes"] = args.classes
    if args.no_top:
        kwargs["include_top"] = False
    model = get_model(args.name, **kwargs)
    model.summary()
    return 0


def _kwargs_text(kwargs):
    return "(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")" if kwargs else ""


if __name__ == "__main__":
    sys.exit(console())
