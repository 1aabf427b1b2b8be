"""The command line: `bpcore demo | train | predict | export | import | bench | info` (also
`python -m bpcore`).

Bad input of any kind (missing or malformed files, unknown columns, a file that is not a
bpcore model, data whose width does not match the model, settings the network refuses)
prints one line `bpcore: error: ...` on stderr and exits with status 2, before anything is
written. Progress goes to stderr, results to stdout.

Models written by `train` are ordinary bpcore model files (bpcore.io) with these extra entries:
  meta_features     the feature column names, in the order the network reads them
  meta_mean/std     the training inputs' mean and standard deviation (inputs are standardised)
  meta_target       the target column's name
  meta_sample_weight  the --sample-weight column's name, if one was given (predict skips it)
  meta_ignored      the --ignore columns' names, if any were given (predict skips them)
  meta_classes      the class names, output unit i is class i (classifiers only)
  meta_target_mean/std  how the target was standardised (regressors only; 0 and 1 if it was not)

`export` writes a model as an ONNX, PyTorch or FANN file (bpcore.convert) with these scalings
folded into its first and last layers, so that the file maps raw inputs to what `predict`
gives; `import` reads an ONNX or FANN network into a model file without meta_ entries, which
`predict` reads column by column in the data's order, writing the raw outputs.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import difflib
import errno
import gzip
import importlib
import io
import os
import platform
import re
import shlex
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import MISSING, fields
from types import ModuleType
from typing import Any, NamedTuple, NoReturn, TypedDict

import numpy as np
import numpy.typing as npt

from . import _backend
from ._command_line import report
from ._files import writable_target
from ._spec import (DTYPES, HIDDEN_ACTIVATIONS, LEAKY_SLOPE, LOSSES, MAX_WIDTH,
                    OUTPUT_ACTIVATIONS, pairing_error)
from ._validation import KEPT, RANGES, SEPARATORS, DivergenceError, check
from ._version import __version__
from .datasets import DataError, Table, load_digits, load_iris, read_table
from .io import load, save
from .network import Network
from .optim import SGD, Adam, Optimizer, Rprop
from .progress import make_progress
from .schedules import SCHEDULES, ReduceOnPlateau, rate_at
from .training import split_rows

BAD_INPUT = 2
SGD_LR = 0.01  # --lr's default for sgd (the optimizer's own default, 0.1, is for fit)
CLOSED_PIPE = 141  # 128 + SIGPIPE: what a C tool killed by a closed pipe reports
PLOT_HINT = 'matplotlib is needed for --plot; install it with: pip install "bpcore[plot]"'
EXPORT_FORMATS = ("onnx", "torch", "fann")
IMPORT_FORMATS = ("fann", "onnx")
FANN_VERSIONS = ("2.2", "2.3")  # the first is the default
FANN_LINEAR_BOUND = 150.0  # FANN clamps s * z to [-150 / s, 150 / s]; save_fann's s is 1
# how to install what a format's converter imports (FANN needs nothing)
OPTIONAL_HINTS = {"onnx": 'the onnx package: pip install "bpcore[onnx]"',
                  "torch": "PyTorch: pip install torch"}


class CLIError(Exception):
    """A problem with the user's input or files: reported in one line, exit status 2."""


# ---- argument parsing ----

def _integer(lowest: int, expected: str) -> Callable[[str], int]:
    """An argparse type: an integer >= lowest; `expected` says so in the error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_positive_int = _integer(1, "a positive integer")
_seed = _integer(0, "an integer >= 0")


def _setting(name: str) -> Callable[[str], float]:
    """An argparse type: a number in the range that bpcore/_validation.py's RANGES, the one
    table the library checks too, gives the setting `name` (an int for an integer setting)."""
    allowed = RANGES[name]
    integer = allowed.kind is int
    expected = allowed.describe() if integer else f"a number in {allowed.describe()}"

    def parse(text: str) -> float:
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            checked: float = check(name, value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}") from None
        return checked
    return parse


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line like every other error, pointing at this (sub)command's --help.

    Options are never abbreviated (`--val` is not `--validation-fraction`). argparse reports a
    missing required option before an unknown one, so `--traget x` would read as "--target is
    required": required options are therefore checked by `_parse_arguments` after the unknown
    ones, and shown as required only in the usage and help text.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.option_names: list[str] = []  # every option string, for "did you mean"
        self.required_later: list[argparse.Action] = []
        self.commands: dict[str, _Parser] = {}  # the subcommands' parsers, by name
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        later = bool(kwargs.get("required")) and bool(args) and args[0][:1] in self.prefix_chars
        if later:
            kwargs["required"] = False
        action = super().add_argument(*args, **kwargs)
        self.option_names.extend(action.option_strings)
        if later:
            self.required_later.append(action)
        return action

    @contextlib.contextmanager
    def _showing_required(self) -> Iterator[None]:
        for action in self.required_later:
            action.required = True
        try:
            yield
        finally:
            for action in self.required_later:
                action.required = False

    def format_usage(self) -> str:
        with self._showing_required():
            return super().format_usage()

    def format_help(self) -> str:
        with self._showing_required():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        program = self.prog.split()[0]
        # a misspelt subcommand or choice: argparse lists the choices; name the nearest
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if choice:
            choices = re.findall(r"'([^']*)'", choice.group(2)) or choice.group(2).split(", ")
            guesses = difflib.get_close_matches(choice.group(1), choices, n=1)
            message += f"; did you mean {guesses[0]}?" if guesses else ""
        self.exit(BAD_INPUT, f"{program}: error: {message} (see {self.prog} --help)\n")


def _parses(convert: Callable[[str], object], text: str) -> bool:
    """Whether convert (float, int) takes text without a ValueError."""
    try:
        convert(text)
    except ValueError:
        return False
    return True


def _unrecognized(extras: Sequence[str], option_names: Sequence[str]) -> str:
    """The error for arguments no parser took, naming the nearest options for an unknown one."""
    options = [text for text in extras if text[:1] == "-" and len(text) > 1
               and not _parses(float, text)]
    if not options:
        return f"unrecognized arguments: {' '.join(extras)}"
    name = options[0].split("=", 1)[0]
    # options this one starts (what an abbreviation meant) or that start it (--output for
    # --out); only where there are none, the near misses (difflib offered --beta2 for --targ)
    guesses = [option for option in option_names if len(name) > 2 and len(option) > 2
               and (option.startswith(name) or name.startswith(option))]
    if not guesses:
        guesses = difflib.get_close_matches(name, option_names, n=2)
    guesses = list(dict.fromkeys(guesses))[:2]
    hint = f"; did you mean {' or '.join(guesses)}?" if guesses else ""
    return f"unrecognized option {name}{hint}"


def _parse_arguments(parser: _Parser, argv: Sequence[str] | None) -> argparse.Namespace:
    """parse_args, but unknown options are reported by the subcommand they were given to, with
    a "did you mean", and before any missing required option."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args, extras = parser.parse_known_args(arguments)
    command = parser.commands[args.command]
    if extras:
        # anything before the subcommand's name was given to `bpcore` itself
        before_command = arguments.index(extras[0]) < arguments.index(args.command)
        owner = parser if before_command else command
        # `export model.npz onnx model.onnx`: the format taken for OUT, --to left out
        if owner is command and args.command in ("export", "import"):
            option, given, formats = (("--to", args.to, EXPORT_FORMATS)
                                      if args.command == "export" else
                                      ("--from", args.source, IMPORT_FORMATS))
            if given is None and args.out in formats:
                owner.error(f"unrecognized arguments: {' '.join(extras)}; did you mean "
                            f"{option} {args.out}?")
        owner.error(_unrecognized(extras, owner.option_names))
    missing = [action for action in command.required_later
               if getattr(args, action.dest) is None]
    if missing:
        command.error("the following arguments are required: "
                      + ", ".join("/".join(action.option_strings) for action in missing))
    check = getattr(args, "check", None)
    if check is not None:  # options that do not combine are usage errors too
        check(args, command)
    return args


def _hidden_sizes(text: str) -> list[int]:
    """'32,16' -> [32, 16]; '' -> [] (no hidden layer)."""
    if text.strip() == "":
        return []
    try:
        widths = [_positive_int(part.strip()) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected layer widths such as 32,16, got {text!r}") from None
    if max(widths) > MAX_WIDTH:  # else Network's message would name sizes[i]
        raise argparse.ArgumentTypeError(f"a layer width must be at most {MAX_WIDTH}, got "
                                         f"{max(widths)}")
    return widths


class _ScheduleSpec(NamedTuple):
    """A parsed --lr-schedule: the name of a class in bpcore.schedules' SCHEDULES, the settings
    given (by field name, converted to the field's type), and the text as written."""

    name: str
    settings: dict[str, Any]
    text: str


def _column_names(text: str) -> list[str]:
    """--ignore's column names: one line of CSV, as a header is written (a name with a comma
    in double quotes), each name stripped as the header's are."""
    try:
        rows = list(csv.reader([text.strip()], skipinitialspace=True, strict=True))
    except csv.Error:  # a quote left open, text after a closing quote, a line break
        rows = []
    names = [name.strip() for name in rows[0]] if len(rows) == 1 else []
    if not names or not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, such "
                                         f"as id,notes (in double quotes, a name with a comma "
                                         f"in it), got {text!r}")
    return names


def _ignore_option(names: Sequence[str]) -> str:
    """The --ignore option that names these columns, quoted for CSV and then for the shell."""
    line = io.StringIO()
    csv.writer(line, lineterminator="").writerow(names)
    return f"--ignore {shlex.quote(line.getvalue())}"


def _schedule_fields(name: str) -> dict[str, Any]:
    """The settings of the schedule `name` that --lr-schedule takes: every field but lr."""
    return {item.name: item for item in fields(SCHEDULES[name]) if item.name != "lr"}


def _field_type(item: Any) -> str:
    """'int', 'float' or 'bool' (the annotations are strings under postponed evaluation)."""
    return str(getattr(item.type, "__name__", item.type))


def _schedule_syntax(name: str) -> str:
    """How to write the schedule `name`: 'cosine:period=N[,min_lr=X,restarts=true|false,...]'."""
    placeholder = {"int": "N", "float": "X", "bool": "true|false"}
    required: list[str] = []
    optional: list[str] = []
    for key, item in _schedule_fields(name).items():
        (required if item.default is MISSING else optional).append(
            f"{key}={placeholder[_field_type(item)]}")
    text = name + (":" + ",".join(required) if required else "")
    if optional:
        text += "[" + ("," if required else ":") + ",".join(optional) + "]"
    return text


def _schedule_keys(name: str) -> str:
    """The schedule `name` and its keys in words, for --help: 'cosine: period (needed),
    min_lr, restarts (true or false), period_factor'."""
    keys = [key + (" (needed)" if item.default is MISSING else
                   " (true or false)" if _field_type(item) == "bool" else "")
            for key, item in _schedule_fields(name).items()]
    return name + (f": {', '.join(keys)}" if keys else "")


def _lr_schedule(text: str) -> _ScheduleSpec:
    """An argparse type: 'name' or 'name:key=value,key=value' for a schedule of SCHEDULES. The
    names, keys and value types are checked here; the ranges, which may depend on --lr, when
    the options are combined (`_check_train`)."""
    name, _, rest = text.partition(":")
    name = name.strip()
    if name not in SCHEDULES:
        raise argparse.ArgumentTypeError(
            f"unknown schedule {name!r}; expected one of: "
            + " | ".join(map(_schedule_syntax, SCHEDULES)))
    known = _schedule_fields(name)
    syntax = _schedule_syntax(name)
    settings: dict[str, Any] = {}
    for part in rest.split(",") if rest.strip() else []:
        key, equals, value = (piece.strip() for piece in part.partition("="))
        if key not in known:
            allowed = f"its settings are {', '.join(known)}" if known else "it has no settings"
            raise argparse.ArgumentTypeError(
                f"{name} has no setting {key!r}; {allowed} ({syntax})")
        if not equals or key in settings:
            problem = "is given twice" if key in settings else "needs a value"
            raise argparse.ArgumentTypeError(f"{name}: {key} {problem} ({syntax})")
        kind = _field_type(known[key])
        try:
            if kind == "bool":
                settings[key] = {"true": True, "false": False}[value.lower()]
            else:
                settings[key] = int(value) if kind == "int" else float(value)
        except (KeyError, ValueError):
            expected = {"bool": "true or false", "int": "an integer"}.get(kind, "a number")
            raise argparse.ArgumentTypeError(
                f"{name}: {key} must be {expected}, got {value!r} ({syntax})") from None
    missing = [key for key, item in known.items()
               if item.default is MISSING and key not in settings]
    if missing:
        raise argparse.ArgumentTypeError(
            f"{name} needs {' and '.join(f'{key}=...' for key in missing)} ({syntax})")
    return _ScheduleSpec(name, settings, text)


def build_parser() -> _Parser:
    parser = _Parser(
        prog="bpcore", description="Small fully-connected networks trained by backpropagation.")
    parser.add_argument("--version", action="version", version=f"bpcore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="train on a bundled dataset and report the test accuracy",
        description="Train on a bundled dataset (handwritten digits by default) with a held-out "
                    "stratified test split of 25%, and print the test accuracy, the time taken "
                    "and the backend used.")
    demo.add_argument("--dataset", choices=["digits", "iris"], default="digits",
                      help="digits: 64-32-10 network; iris: a 4-4-4-3 network "
                           "(default: digits)")
    demo.add_argument("--epochs", type=_positive_int,
                      help=f"training epochs (default: digits {DEMOS['digits']['epochs']}, "
                           f"iris {DEMOS['iris']['epochs']})")
    demo.add_argument("--seed", type=_seed, default=0, help="seed of the split and the weights (0)")
    demo.add_argument("--plot", metavar="FILE.png", help="save the loss curve (needs matplotlib)")
    demo.add_argument("--quiet", "-q", action="store_true", help="no per-epoch progress")
    demo.set_defaults(run=run_demo)

    train = commands.add_parser(
        "train", help="train a network on a CSV file",
        description="Train on DATA.csv (header line, numeric feature columns) to predict the "
                    "column --target. A target of strings or integers is a classification "
                    "(one-hot, softmax + cross_entropy by default) unless --regression; a "
                    "float target is a regression (identity + mse, target standardised). "
                    "Inputs are standardised with the training rows' mean and std, which are "
                    "saved with the model.")
    train.add_argument("data", metavar="DATA.csv")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    train.add_argument("--regression", action="store_true",
                       help="treat an integer target as a number to regress, not class labels")
    train.add_argument("--hidden", type=_hidden_sizes, default=[16], metavar="SIZES",
                       help="hidden layer widths, e.g. 32,16 ('' for none; default: 16)")
    train.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="tanh",
                       help="hidden activation (default: tanh)")
    train.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS,
                       help="output activation (default: softmax to classify, identity to regress)")
    train.add_argument("--loss", choices=tuple(LOSSES),
                       help="loss (default: cross_entropy to classify, mse to regress)")
    train.add_argument("--dtype", choices=DTYPES, default="float64")
    train.add_argument("--epochs", type=_positive_int, default=100, help="(default: 100)")
    # Each optimizer takes only its own options (an option of another one is an error);
    # the defaults are the optimizer classes' own, but for sgd's lr, the command line's 0.01.
    train.add_argument("--optimizer", choices=tuple(Optimizer.classes),
                       help="the training algorithm (default: sgd)")
    train.add_argument("--lr", type=_setting("lr"),
                       help=f"learning rate (default: sgd {SGD_LR:g}, adam {Adam.lr:g}); for "
                            f"rprop, the first step size (default: {Rprop.lr:g})")
    train.add_argument("--lr-schedule", type=_lr_schedule, metavar="SPEC",
                       help="sgd and adam: the rate of each epoch follows a schedule from "
                            "--lr (bpcore.schedules), NAME[:KEY=VALUE,...] such as "
                            "step:factor=0.5,every=10. Names and keys: "
                            + " | ".join(map(_schedule_keys, SCHEDULES))
                            + ". invscaling's samples_per_epoch is the number of training rows "
                              "unless given")
    train.add_argument("--reduce-lr-on-plateau", action="store_const", const=True,
                       help=f"sgd and adam: multiply the rate by {ReduceOnPlateau.factor:g} "
                            f"after {ReduceOnPlateau.patience + 1} epochs in a row without a "
                            f"loss {ReduceOnPlateau.tol:g} below the lowest (the validation "
                            f"loss if there is one), like scikit-learn's adaptive rate")
    train.add_argument("--batch-size", type=_positive_int,
                       help="samples per step (default: 1; rprop: all training rows; not for "
                            "lbfgs, which always takes them all)")
    train.add_argument("--momentum", type=_setting("momentum"),
                       help=f"sgd (default: {SGD.momentum:g})")
    train.add_argument("--nesterov", action="store_const", const=True,
                       help="sgd: Nesterov momentum (needs --momentum)")
    train.add_argument("--weight-decay", type=_setting("weight_decay"),
                       help=f"every optimizer: L2 penalty on the weights, not the biases "
                            f"(default: {SGD.weight_decay:g})")
    train.add_argument("--beta1", type=_setting("beta1"), help=f"adam (default: {Adam.beta1:g})")
    train.add_argument("--beta2", type=_setting("beta2"), help=f"adam (default: {Adam.beta2:g})")
    train.add_argument("--eps", type=_setting("eps"), help=f"adam (default: {Adam.eps:g})")
    train.add_argument("--decoupled", action="store_const", const=True,
                       help="adam: decoupled weight decay (AdamW)")
    train.add_argument("--eps-hat", action="store_const", const=True,
                       help="adam: eps added to the uncorrected sqrt(v), as scikit-learn's "
                            "and Keras' Adam do")
    train.add_argument("--eta-minus", type=_setting("eta_minus"),
                       help=f"rprop: step size factor on a sign change (default: "
                            f"{Rprop.eta_minus:g})")
    train.add_argument("--eta-plus", type=_setting("eta_plus"),
                       help=f"rprop: step size factor otherwise (default: {Rprop.eta_plus:g})")
    train.add_argument("--step-min", type=_setting("step_min"),
                       help=f"rprop: smallest step size (default: {Rprop.step_min:g})")
    train.add_argument("--step-max", type=_setting("step_max"),
                       help=f"rprop: largest step size (default: {Rprop.step_max:g})")
    train.add_argument("--max-iter", type=_setting("max_iter"), metavar="N",
                       help="lbfgs: the most iterations (default: --epochs)")
    train.add_argument("--sample-weight", metavar="COLUMN",
                       help="a numeric column (>= 0) weighting each row's loss; not a feature, "
                            "and predict ignores it")
    train.add_argument("--ignore", type=_column_names, action="extend", default=[],
                       metavar="COLUMNS",
                       help="columns that are not features, e.g. id,notes (comma-separated, "
                            "as a CSV header: --ignore 'id,\"notes, free text\"' for a name with "
                            "a comma; or the option again); predict ignores them too")
    train.add_argument("--seed", type=_seed, default=0, help="(default: 0)")
    train.add_argument("--validation-fraction", type=_setting("validation_fraction"),
                       default=0.2, metavar="F",
                       help="share of rows held out to report validation loss (default: 0.2; "
                            "0 for none)")
    train.add_argument("--patience", type=_positive_int, metavar="EPOCHS",
                       help="stop after this many epochs without a lower validation loss (or "
                            "training loss, without validation), and save the weights of the "
                            "epoch with the lowest one")
    train.add_argument("--out", default="model.npz", help="model file to write (model.npz)")
    train.add_argument("--quiet", "-q", action="store_true", help="no per-epoch progress")
    train.set_defaults(run=run_train, check=_check_train)

    predict = commands.add_parser(
        "predict", help="apply a trained model to a CSV file",
        description="Write the model's predictions for each row of DATA.csv as CSV: class "
                    "names for a classifier, one column per output otherwise. Columns named "
                    "like the model's target, its sample-weight column or the columns train "
                    "was told to --ignore, and those given to --ignore here, are ignored. A "
                    "model that `train` did not write (Network.save, `bpcore import`) has no "
                    "column names or scaling: it reads every column of DATA.csv, in the "
                    "file's order, and its raw outputs are written as output_0, output_1, ...")
    predict.add_argument("model", metavar="MODEL.npz")
    predict.add_argument("data", metavar="DATA.csv")
    predict.add_argument("--out", metavar="FILE", help="write here instead of to stdout")
    predict.add_argument("--ignore", type=_column_names, action="extend", default=[],
                         metavar="COLUMNS",
                         help="more columns that are not features, e.g. id,notes "
                              "(comma-separated, as a CSV header: --ignore 'id,\"notes, free "
                              "text\"' for a name with a comma; or the option again)")
    predict.set_defaults(run=run_predict)

    export = commands.add_parser(
        "export", help="write a model as an ONNX, PyTorch or FANN file",
        description="Write the network of MODEL.npz to OUT as an ONNX model (needs "
                    f"{OPTIONAL_HINTS['onnx']}), a torch.nn.Sequential saved by torch.save "
                    "(needs torch; read it with torch.load(OUT, weights_only=False)) or a "
                    "FANN network file (FANN_FLO_2.1, which FANN 2.2 and later load). The "
                    "exported network takes the raw feature columns and gives what predict "
                    "gives: train's input standardisation is folded into the first layer and "
                    "a regressor's target scaling into the last. A classifier exports one "
                    "output per class (predict names the largest); the line printed names "
                    "the input columns and the classes in the order of the outputs, which the "
                    "other formats cannot carry. FANN clamps a linear output to [-150, 150]: a "
                    "warning says when a regressor's targets reach beyond, another when OUT "
                    "ends in another format's suffix (.onnx, .pt, .pth, .net). MODEL.npz is "
                    "not changed.")
    export.add_argument("model", metavar="MODEL.npz")
    export.add_argument("--to", required=True, choices=EXPORT_FORMATS, help="the format of OUT")
    export.add_argument("out", metavar="OUT")
    export.add_argument("--fann-version", choices=FANN_VERSIONS,
                        help="fann: the FANN version whose file format to write (default: "
                             f"{FANN_VERSIONS[0]})")
    export.set_defaults(run=run_export, check=_check_export)

    import_ = commands.add_parser(
        "import", help="read an ONNX or FANN network into a bpcore model file",
        description="Read FILE, a FANN network file (FANN_FLO_2.1: layered, fully connected) "
                    "or an ONNX model of a fully connected network (needs "
                    f"{OPTIONAL_HINTS['onnx']}), and save it as the bpcore model OUT.npz. "
                    "Such a model holds no column names or scaling: `bpcore predict` reads "
                    "every column of its data, in the file's order, and writes the raw "
                    "outputs as output_0, output_1, ...")
    import_.add_argument("file", metavar="FILE")
    import_.add_argument("--from", dest="source", required=True, choices=IMPORT_FORMATS,
                         help="the format of FILE")
    import_.add_argument("out", metavar="OUT.npz")
    import_.add_argument("--approximate", action="store_true",
                         help="fann: load FANN's stepwise sigmoids (piecewise-linear "
                              "approximations, FANN's default activation) as the exact sigmoid "
                              "and tanh, instead of refusing them; the outputs then differ "
                              "from FANN's (by up to a few hundredths per neuron)")
    import_.set_defaults(run=run_import, check=_check_import)

    bench = commands.add_parser(
        "bench", add_help=False, prefix_chars="+",  # every argument goes to bpcore.bench
        help="time the compiled kernels against the fallback, NumPy, PyTorch, JAX, FANN and "
             "scikit-learn (those installed) and the machine's floor (--full, --smoke, --wide, "
             "--targets, --help)")
    bench.add_argument("bench_arguments", nargs="*")
    bench.set_defaults(run=run_bench)

    info = commands.add_parser("info", help="version, backend and build information")
    info.set_defaults(run=run_info)
    parser.commands = {name: command for name, command in commands.choices.items()
                       if isinstance(command, _Parser)}
    return parser


# ---- shared helpers ----

def _writable_target(path: str, what: str, atomic: bool = True) -> None:
    """Fail before any work if `path` cannot be written as a file (with `atomic`, as
    `write_atomically` writes one: not through /dev/stdout, not over a device or pipe)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{what} {path} is a directory")
    if not path:
        raise CLIError(f"the {what}'s path is empty")
    if path.endswith(SEPARATORS):
        raise CLIError(f"{what} {path} ends in a separator, which names a folder; give the "
                       f"path of a file")
    try:  # a device (/dev/null), a pipe, /dev/stdout: what the write itself would refuse
        if atomic:
            writable_target(path)
    except ValueError as error:
        raise CLIError(f"{what}: {error}") from None
    except FileNotFoundError:
        pass  # a missing folder: said below, in the command's words
    except OSError as error:  # a loop of links, a name too long
        raise CLIError(f"cannot write {what} {path}: {error.strerror}") from None
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {what} {path}: folder {folder} does not exist")
    try:  # a folder without write permission, or on a read-only file system
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CLIError(f"cannot write {what} {path}: folder {folder}: {error.strerror}") from None


def _same_file(path: str, other: str) -> bool:
    """Whether two names reach one file: by inode when both exist (links, aliases), else by
    their normalised absolute paths."""
    if os.path.exists(path) and os.path.exists(other):
        return os.path.samefile(path, other)
    return os.path.normcase(os.path.abspath(path)) == os.path.normcase(os.path.abspath(other))


def _not_an_input(path: str, option: str, inputs: Sequence[str]) -> None:
    """Refuse, before any work, an output file that would replace one of the command's inputs."""
    for name in inputs:
        if _same_file(path, name):
            raise CLIError(f"{option} {path} is the same file as the input {name}; writing it "
                           f"would replace the input, so choose another {option}")


# How each kind of model file that a command writes starts: an .npz archive (bpcore's own
# models) or a PyTorch file is a zip; a FANN file a line of text; an ONNX file the tag of its
# first field, ir_version (protobuf's field 1, a varint). No table of data starts so.
MODEL_STARTS = {"npz": (b"PK\x03\x04", "a bpcore model (an .npz archive)"),
                "torch": (b"PK\x03\x04", "a PyTorch file"), "fann": (b"FANN_", "a FANN file"),
                "onnx": (b"\x08", "an ONNX model")}


def _not_another_file(path: str, option: str, kind: str) -> None:
    """Refuse, before any work, an output's name that holds something else: an existing file
    that is not empty and does not start as a file of `kind` (MODEL_STARTS) does, such as the
    data a slip of the command line names (`bpcore import model.onnx --from onnx data.csv`
    replaced the table). Files of that kind are replaced without asking."""
    if not os.path.isfile(path):  # missing; folders, devices and pipes: _writable_target
        return
    start, name = MODEL_STARTS[kind]
    try:
        with open(path, "rb") as file:
            head = file.read(len(start))
    except OSError:
        return  # unreadable: the write itself says why it fails
    if head and head != start:
        raise CLIError(f"{option} {path} is a file that is not {name}; writing would "
                       f"replace it, so choose another {option} or remove the file first")


def _write_stdout(text: str) -> None:
    """Write all of `text` to stdout, or raise.

    Under PYTHONUNBUFFERED the text layer writes to the raw file, which may take only part of
    a large write (a pipe whose reader leaves), and drops the rest without an error. Writing
    the bytes in a loop that honours each count makes a closed pipe a BrokenPipeError.
    """
    if sys.stdout is None:  # started with stdout closed (`>&-`): print() drops output too
        return
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:  # a text-only stream (tests' captures): it takes the whole string
        sys.stdout.write(text)
        return
    sys.stdout.flush()  # whatever went through the text layer comes first
    data = memoryview(text.encode(getattr(sys.stdout, "encoding", None) or "utf-8",
                                  getattr(sys.stdout, "errors", None) or "strict"))
    while data:
        written = binary.write(data)
        if not written:  # None: a non-blocking stdout that is full; never loop forever
            raise BlockingIOError(errno.EAGAIN, "stdout takes no more output")
        data = data[written:]
    binary.flush()


def _standardise(X: npt.NDArray[np.float64],
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Mean and std of the columns of X; a constant column gets std 1 so it maps to 0."""
    with np.errstate(over="ignore", under="ignore"):
        mean, std = X.mean(axis=0), X.std(axis=0)
    # columns of magnitudes near float64's limits: their squares overflow (std inf: a file
    # predict refuses) or underflow (std 0: the column dropped); scaled to at most 1 first
    scale = np.abs(X).max(axis=0, initial=0.0)
    extreme = (scale > 1e100) | ((scale < 1e-100) & (scale > 0))
    if extreme.any():
        scaled = X[:, extreme] / scale[extreme]
        mean[extreme] = scaled.mean(axis=0) * scale[extreme]
        std[extreme] = scaled.std(axis=0) * scale[extreme]
    std[std == 0] = 1.0
    return mean, std


def _one_hot(indices: npt.NDArray[np.integer[Any]], n_classes: int) -> npt.NDArray[np.float64]:
    one_hot: npt.NDArray[np.float64] = np.eye(n_classes)[indices]
    return one_hot


# ---- demo ----

class _Demo(TypedDict):
    load: Callable[[], tuple[npt.NDArray[np.float64], npt.NDArray[Any]]]
    hidden: list[int]
    epochs: int
    optimizer: Optimizer
    batch_size: int


# digits: recipes tried in the time of 20 epochs of online SGD, lr 0.01 (adam, sgd with
# momentum or Nesterov momentum in mini-batches, rprop, lbfgs; with and without weight
# decay, schedules, early stopping), over 300 seeds of split and weights: mini-batch SGD
# with Nesterov momentum and weight decay tied full-batch rprop with weight decay for the
# best mean test accuracy (97.6%, half a point above online SGD's). It keeps that time when
# other programs load the CPU, where rprop's full-batch products in multithreaded BLAS
# slowed it down several times, so the demo uses it.
DEMOS: dict[str, _Demo] = {
    "digits": dict(load=load_digits, hidden=[32], epochs=40, batch_size=32,
                   optimizer=SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.001)),
    "iris": dict(load=load_iris, hidden=[4, 4], epochs=100, batch_size=1,
                 optimizer=SGD(lr=0.01)),
}


# per output activation, the output layer's biases that make it give `mean` for every row
_INVERSE_LINKS: dict[str, Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]] = {
    "identity": lambda mean: mean,
    "softmax": lambda mean: np.log(np.maximum(mean, 1e-12)),
    "exp": lambda mean: np.log(np.maximum(mean, 1e-12)),
    "sigmoid": lambda mean: np.log(np.clip(mean, 1e-12, 1 - 1e-12))
                            - np.log(np.clip(1 - mean, 1e-12, 1 - 1e-12)),
    "tanh": lambda mean: np.arctanh(np.clip(mean, -1 + 1e-12, 1 - 1e-12)),
    "relu": lambda mean: mean,  # its targets are >= 0 (BOUNDED_OUTPUTS)
    "leaky_relu": lambda mean: np.where(mean < 0, mean / LEAKY_SLOPE, mean),
}


def _constant_loss(network: Network, X: npt.NDArray[np.float64], Y: npt.NDArray[np.float64],
                   weights: npt.NDArray[np.float64] | None) -> float:
    """The network's loss on X, Y if it predicted the targets' (weighted) mean for every row,
    the best constant prediction for each of bpcore's losses."""
    inverse = _INVERSE_LINKS[network.output]
    constant = Network(network.sizes, activation=network.activation, output=network.output,
                       loss=network.loss_name, dtype=network.dtype)
    for w, b in zip(constant.weights, constant.biases):
        w[...], b[...] = 0, 0
    constant.biases[-1][...] = inverse(np.average(Y, axis=0, weights=weights))
    return constant.loss(X, Y, weights)


def _recipe(optimizer: Optimizer, batch_size: int) -> str:
    """The demo's optimizer in words: its name, lr and the settings that are not defaults,
    and the batch size."""
    defaults = type(optimizer)()
    settings = []
    for name in _takes(optimizer.name):
        value = getattr(optimizer, name)
        if name == "lr" or value != getattr(defaults, name):
            words = name.replace("_", " ")
            settings.append(words if isinstance(value, bool) else f"{words} {value:g}")
    batch = "one sample per step" if batch_size == 1 else f"batch size {batch_size}"
    return f"{optimizer.name} ({', '.join(settings + [batch])})"


def _require_matplotlib() -> ModuleType:
    try:
        import matplotlib
    except ImportError:
        raise CLIError(PLOT_HINT) from None
    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as pyplot
    module: ModuleType = pyplot  # typed here, since matplotlib may be absent where mypy runs
    return module


def _check_plot_format(path: str) -> None:
    """Refuse, before training, a plot name whose extension matplotlib cannot write (it takes
    the format from the extension, and without one would save to path + '.png')."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # the canvas the plot uses
    formats = sorted(FigureCanvasAgg.get_supported_filetypes())
    extension = os.path.splitext(path)[1][1:].lower()
    if extension not in formats:
        common = [f".{name}" for name in ("png", "pdf", "svg") if name in formats]
        others = [name for name in formats if f".{name}" not in common]
        found = f"a .{extension} file" if extension else "a file without an extension"
        raise CLIError(f"--plot {path}: matplotlib cannot write {found}; use a name ending in "
                       f"{', '.join(common)} or another format it supports: {', '.join(others)}")


def _loss_figure(pyplot: ModuleType, losses: Sequence[float], title: str) -> Any:
    """A matplotlib figure of the per-epoch losses."""
    from matplotlib.ticker import MaxNLocator
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.plot(np.arange(1, len(losses) + 1), losses, marker="." if len(losses) < 50 else None)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss (mean over the epoch)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def _plot_losses(pyplot: ModuleType, losses: Sequence[float], path: str, title: str) -> None:
    figure = _loss_figure(pyplot, losses, title)
    try:
        figure.savefig(path)
    finally:
        pyplot.close(figure)


def run_demo(args: argparse.Namespace) -> int:
    pyplot = None
    if args.plot is not None:
        pyplot = _require_matplotlib()  # before training, not after
        _check_plot_format(args.plot)  # so it can never name the demo's inputs (.csv) either
        _writable_target(args.plot, "plot", atomic=False)  # matplotlib writes it
    setting = DEMOS[args.dataset]
    epochs = args.epochs or setting["epochs"]
    X, labels = setting["load"]()
    classes, y = np.unique(labels, return_inverse=True)
    rng = np.random.default_rng(args.seed)
    train, test = split_rows(len(y), y, 0.25, rng)
    mean, std = _standardise(X[train])
    X = (X - mean) / std
    sizes = [X.shape[1], *setting["hidden"], len(classes)]
    network = Network(sizes, activation="tanh", output="softmax", loss="cross_entropy",
                      seed=args.seed)
    print(f"{args.dataset}: {len(train)} training and {len(test)} test samples, "
          f"{X.shape[1]} inputs, {len(classes)} classes; network "
          f"{'-'.join(map(str, sizes))} (tanh, softmax + cross_entropy), {epochs} epochs of "
          f"{_recipe(setting['optimizer'], setting['batch_size'])}", flush=True)
    progress = make_progress(epochs, quiet=args.quiet)
    start = time.perf_counter()
    try:
        history = network.fit(X[train], _one_hot(y[train], len(classes)), epochs=epochs,
                              optimizer=setting["optimizer"],
                              batch_size=setting["batch_size"], callback=progress)
    finally:
        progress.close()
    seconds = time.perf_counter() - start
    predicted = network.predict(X[test]).argmax(axis=1)
    correct = int((predicted == y[test]).sum())
    # The per-epoch losses are means over each epoch's steps, the weights changing between
    # them; the loss of the final weights is another figure, so say which is which.
    final_loss = network.loss(X[train], _one_hot(y[train], len(classes)))
    print(f"test accuracy: {100 * correct / len(test):.2f}% ({correct}/{len(test)})")
    print(f"training time: {seconds:.3g} s for {history.epochs} epochs")
    print(f"training loss with the final weights (all training rows): {final_loss:.4g}; the "
          f"last epoch's mean over its steps: {history.losses[-1]:.4g}")
    print(f"backend: {_backend.name}")
    if pyplot is not None:
        _plot_losses(pyplot, history.losses, args.plot,
                     f"bpcore demo: {args.dataset}, {'-'.join(map(str, sizes))}")
        print(f"loss curve saved to {_shown(args.plot)}")
    return 0


# ---- train ----

def _target_kind(cells: Sequence[str],
                 regression: bool) -> tuple[str, npt.NDArray[np.float64] | None]:
    """'classes' or 'numbers', and for numbers the float values."""
    integers = all(_parses(int, cell) for cell in cells)
    if integers and not regression:
        return "classes", None
    try:
        values = np.array([float(cell) for cell in cells])
    except ValueError:
        if regression:
            raise CLIError("--regression needs a numeric target column, but it holds "
                           "text") from None
        return "classes", None
    return "numbers", values


def _default_head(kind: str, output: str | None, loss: str | None) -> tuple[str, str]:
    """The output activation and loss, filling in whichever the user left out."""
    if output is None:
        by_loss: dict[str | None, str] = {"cross_entropy": "softmax",
                                          "binary_cross_entropy": "sigmoid", "poisson": "exp"}
        output = by_loss.get(
            loss, "softmax" if kind == "classes" and loss is None else
            "sigmoid" if kind == "classes" else "identity")
    if loss is None:
        loss = {"softmax": "cross_entropy", "exp": "poisson"}.get(
            output, "binary_cross_entropy" if kind == "classes" and output == "sigmoid" else "mse")
    error = pairing_error(output, loss)
    if error is not None:  # the network's own message, in the options' words
        error = re.sub(r"output='(\w+)'", r"--output-activation \1", error)
        raise CLIError(re.sub(r"loss='(\w+)'", r"--loss \1", error))
    return output, loss


def _few_whole_numbers(values: npt.NDArray[np.float64]) -> str:
    """'0, 1' where a float target holds at most 10 distinct values, all whole (0.0 and 1.0,
    as a table written with floats gives class labels), else ''."""
    found = np.unique(values)
    if len(found) > 10 or (found != np.round(found)).any():
        return ""
    return ", ".join(f"{value:g}" for value in found)


def _whole_numbers(values: npt.NDArray[np.float64]) -> str:
    """A hint for a regression on a float target of a few whole numbers: written as integers
    they are classes."""
    listed = _few_whole_numbers(values)
    return (f"; the target holds only the whole numbers {listed}, written with decimals: "
            f"written as integers they would be classes") if listed else ""


# What a bounded output activation can produce: a regression target beyond it cannot be learnt
# (such an output sees the raw target; only identity learns a standardised one).
BOUNDED_OUTPUTS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, np.inf),
                   "exp": (0.0, np.inf)}


def _check_regression_head(args: argparse.Namespace, cells: Sequence[str],
                           values: npt.NDArray[np.float64], output: str, loss: str) -> None:
    """Refuse, up front, an output or loss the user chose that cannot learn a numeric target:
    a softmax over its single output is always 1, binary cross-entropy needs values in [0, 1],
    and a bounded output cannot reach values beyond its bounds."""
    low, high = float(values.min()), float(values.max())
    bottom, top = BOUNDED_OUTPUTS.get(output, (-np.inf, np.inf))
    if output == "softmax":
        problem = "needs a class target"
    elif loss == "binary_cross_entropy" and not 0 <= low <= high <= 1:
        problem = "needs a class target or numbers in [0, 1]"
    elif not bottom <= low <= high <= top:
        problem = f"gives outputs in [{bottom:g}, {top:g}" + ("]" if top < np.inf else ")")
    else:
        return
    given = [f"{option} {value}" for option, value in (
        ("--output-activation", args.output_activation), ("--loss", args.loss)) if value]
    drop = " and ".join(option.split()[0] for option in given)
    whole = _few_whole_numbers(values)
    if args.regression and _target_kind(cells, False)[0] == "classes":
        cause = (f"--regression makes the integer target {args.target!r} a regression; drop "
                 f"--regression to make its values classes, or drop {drop}")
    elif whole and not args.regression:
        cause = (f"the target {args.target!r} holds the whole numbers {whole} written with "
                 f"decimals, so it is a regression (written as integers they would be "
                 f"classes); drop {drop}")
    else:
        cause = (f"the target {args.target!r} holds numbers in [{low:.4g}, {high:.4g}], not all "
                 f"integers, so it is a regression; drop {drop}"
                 + (" (class labels must be integers or text)" if "class" in problem else ""))
    raise CLIError(f"{' with '.join(given)} {problem}, but {cause}")


# train's optimizer options, by the names of the optimizer classes' fields: each optimizer
# takes those that are its fields (`_takes`), and refuses the others
OPTIMIZER_OPTIONS = ("lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "eps",
                     "decoupled", "eps_hat", "eta_minus", "eta_plus", "step_min", "step_max",
                     "max_iter")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _shown(path: str) -> str:
    """A path as stdout can print it: bytes that are not UTF-8 (os.fsdecode makes them
    surrogates, which a strict stdout refuses after the file is written) as \\x escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _listing(words: Iterable[str], most: int = 12) -> str:
    """'a', 'a and b', 'a, b and c'; past `most` items, the first ones and how many more (an
    error line naming 200,000 columns was 2 MB long)."""
    items = list(words)
    if len(items) > most:
        return f"{', '.join(items[:most - 2])} and {len(items) - most + 2} more"
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _takes(optimizer: str) -> list[str]:
    """The OPTIMIZER_OPTIONS that the optimizer named `optimizer` takes."""
    names = {item.name for item in fields(Optimizer.classes[optimizer])}  # type: ignore[arg-type]
    return [name for name in OPTIMIZER_OPTIONS if name in names]


def _scheduled(optimizer: str) -> bool:
    """Whether the optimizer named `optimizer` has a learning rate a schedule may set."""
    return "lr" in _takes(optimizer) and Optimizer.classes[optimizer].scheduled


def _optimizer(args: argparse.Namespace, training_rows: int) -> Optimizer:
    """The optimizer train's options ask for. Its lr is --lr (default: SGD_LR for sgd, else
    the optimizer's own), or the --lr-schedule starting from it; an invscaling schedule counts
    `training_rows` samples per epoch unless its samples_per_epoch is given."""
    name = args.optimizer or "sgd"
    settings = {option: getattr(args, option) for option in _takes(name)
                if getattr(args, option) is not None}
    if name == "sgd":
        settings.setdefault("lr", SGD_LR)
    spec: _ScheduleSpec | None = args.lr_schedule
    if spec is not None:
        lr = settings.get("lr", getattr(Optimizer.classes[name], "lr"))  # the class default
        schedule_settings = dict(spec.settings)
        if "samples_per_epoch" in _schedule_fields(spec.name):
            schedule_settings.setdefault("samples_per_epoch", training_rows)
        settings["lr"] = SCHEDULES[spec.name](lr, **schedule_settings)
    optimizer: Optimizer = Optimizer.classes[name](**settings)
    return optimizer


def _check_train(args: argparse.Namespace, parser: _Parser) -> None:
    """Refuse, as usage errors, train's options that do not combine: an option of another
    optimizer than --optimizer, a schedule for an optimizer without a learning rate, and
    settings the optimizer or the schedule refuses."""
    name = args.optimizer or "sgd"
    chosen = f"--optimizer {name}" + ("" if args.optimizer else " (the default)")
    takes = _takes(name)
    for option in OPTIMIZER_OPTIONS:
        if getattr(args, option) is not None and option not in takes:
            others = [other for other in Optimizer.classes if option in _takes(other)]
            parser.error(f"{_flag(option)} does not apply to {chosen}; it is an option of "
                         f"{_listing(others)} ({name} takes {_listing(map(_flag, takes))})")
    if name == "lbfgs" and args.batch_size is not None:
        parser.error(f"--batch-size does not apply to {chosen}, which takes all training "
                     f"rows at once")
    for option in ("lr_schedule", "reduce_lr_on_plateau"):
        if getattr(args, option) is not None and not _scheduled(name):
            users = [other for other in Optimizer.classes if _scheduled(other)]
            parser.error(f"{_flag(option)} does not apply to {chosen}, which has no learning "
                         f"rate to schedule; it is for {_listing(users)}")
    if args.nesterov and not args.momentum:
        parser.error(f"--nesterov needs --momentum > 0, got "
                     f"{'no --momentum' if args.momentum is None else '--momentum 0'}")
    if name == "rprop":
        low = Rprop.step_min if args.step_min is None else args.step_min
        high = Rprop.step_max if args.step_max is None else args.step_max
        if low > high:
            parser.error(f"--step-min {low:g} is above --step-max {high:g}")
    spec: _ScheduleSpec | None = args.lr_schedule
    try:
        optimizer = _optimizer(args, 1)
    except (ValueError, TypeError) as error:  # a setting of the schedule out of its range
        parser.error((f"argument --lr-schedule {spec.text}: " if spec else "") + str(error))
    if spec is not None:  # a schedule with no rate for a later epoch fails now, not then
        for epoch in (1, args.epochs):
            try:
                rate_at(optimizer.lr, epoch)
            except ValueError as error:
                parser.error(f"argument --lr-schedule {spec.text}: {error} (--epochs "
                             f"{args.epochs})")
    if args.sample_weight is not None and args.sample_weight == args.target:
        parser.error(f"--sample-weight {args.sample_weight} names the target column; give a "
                     f"column of weights")
    for option, name in (("--target", args.target), ("--sample-weight", args.sample_weight)):
        if name is not None and name in args.ignore:
            parser.error(f"--ignore names {name!r}, the {option} column, which is never a "
                         f"feature")


def _ignored_columns(names: list[str], table: Table, path: str) -> list[str]:
    """--ignore's names in the order given, once each; a name that is not a column of the
    table read from `path` is bad input."""
    ignored = list(dict.fromkeys(names))
    unknown = [name for name in ignored if name not in table.columns]
    if unknown:
        # pieces of a column whose name has a comma: it was given without its quotes
        split = [column for column in table.columns if "," in column
                 and any(part.strip() in unknown for part in column.split(","))]
        quoting = (f"; a name with a comma goes in double quotes: {_ignore_option(split)}"
                   if split else "")
        raise CLIError(f"--ignore names {_listing(map(repr, unknown))}, not among the columns "
                       f"of {path}: {', '.join(map(repr, table.columns))}{quoting}")
    return ignored


def _sample_weights(table: Table, column: str) -> npt.NDArray[np.float64]:
    """The --sample-weight column as numbers >= 0, not all zero."""
    values = table.numeric([column])[:, 0]  # names the line of a cell that is not a number
    if (values < 0).any():
        line = table.lines[int(np.flatnonzero(values < 0)[0])]
        raise CLIError(f"{table.source}, line {line}: the sample weight column {column!r} "
                       f"holds {values[values < 0][0]:g}; weights must be >= 0")
    if not values.any():
        raise CLIError(f"{table.source}: the sample weight column {column!r} is all zero; "
                       f"some row needs a weight > 0")
    with np.errstate(over="ignore"):
        total = values.sum()
    if not np.isfinite(total):  # numpy warned of the overflow, and the loss baselines were nan
        raise CLIError(f"{table.source}: the sample weight column {column!r} sums past "
                       f"float64's range; only the weights' ratios matter: divide them by "
                       f"their largest, {values.max():g}")
    return values


def _describe(args: argparse.Namespace, optimizer: Optimizer, batch_size: int | None,
              training_rows: int) -> str:
    """How train trained, for its summary: the optimizer with its rate and the options given,
    the schedule and the batch size."""
    parts = []
    for option in _takes(optimizer.name):
        value = getattr(optimizer, option)
        if option == "lr" and callable(value):
            parts.append(f"lr {value.lr:g} on schedule {args.lr_schedule.text}")
        elif option == "lr":
            parts.append(f"lr {value:g}")
        elif getattr(args, option) is not None:
            words = option.replace("_", " ")
            parts.append(words if isinstance(value, bool) else f"{words} {value:g}")
    if args.reduce_lr_on_plateau:
        parts.append("lr reduced on plateaus")
    if batch_size is not None:
        parts.append("full batch" if batch_size >= training_rows else f"batch size {batch_size}")
    if args.sample_weight is not None:
        parts.append(f"rows weighted by {args.sample_weight!r}")
    return f"{optimizer.name} ({', '.join(parts)})" if parts else optimizer.name


def run_train(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "--out", [args.data])
    _writable_target(args.out, "model file")
    _not_another_file(args.out, "--out", "npz")
    table = read_table(args.data)
    table.index(args.target)  # names the columns there are
    ignored = _ignored_columns(args.ignore, table, args.data)
    # the weight column, like the target and the ignored ones, is not a feature
    features = [name for name in table.columns
                if name not in (args.target, args.sample_weight, *ignored)]
    if not features:
        others = [f"the target {args.target!r}"]
        if args.sample_weight is not None:
            others.append(f"the sample weights {args.sample_weight!r}")
        if ignored:
            others.append(f"the ignored {', '.join(map(repr, ignored))}")
        raise CLIError(f"{args.data}: no feature columns besides {_listing(others)}")
    weights = None
    if args.sample_weight is not None:
        weights = _sample_weights(table, args.sample_weight)
    try:
        X = table.numeric(features)
    except DataError as error:  # a column of text: name the option that leaves it out
        if error.text_column is None:
            raise
        raise CLIError(f"{error}; if it is not a feature, "
                       f"{_ignore_option([error.text_column])} leaves it out") from None
    cells = table.text(args.target)
    # values (None for classes) and y (None for numbers) are used only where `kind` says so
    values: Any
    y: Any
    kind, values = _target_kind(cells, args.regression)
    if kind == "numbers" and not np.isfinite(values).all():
        line = table.lines[int(np.flatnonzero(~np.isfinite(values))[0])]
        raise CLIError(f"{args.data}, line {line}: the target {args.target!r} must be a finite "
                       f"number")
    output, loss = _default_head(kind, args.output_activation, args.loss)
    if kind == "numbers":
        _check_regression_head(args, cells, values, output, loss)
    extra: dict[str, npt.NDArray[Any]] = {"meta_features": np.array(features),
                                          "meta_target": np.array(args.target)}
    if args.sample_weight is not None:
        extra["meta_sample_weight"] = np.array(args.sample_weight)
    if ignored:
        extra["meta_ignored"] = np.array(ignored)
    if kind == "classes":
        integer_labels = all(_parses(int, c) for c in cells)
        order = sorted(set(cells), key=(lambda c: (int(c), c)) if integer_labels else None)
        if len(order) < 2:
            raise CLIError(f"{args.data}: the target {args.target!r} has only one class "
                           f"({order[0]!r}); a classifier needs at least two")
        index = {name: i for i, name in enumerate(order)}
        y = np.array([index[cell] for cell in cells])
        Y = _one_hot(y, len(order))
        extra["meta_classes"] = np.array(order)
    else:
        y = None
        Y = values.reshape(-1, 1)
        # An unbounded output learns a standardised target; a bounded one must see the raw values.
        if output == "identity":
            target_mean, target_std = _standardise(Y)
        else:
            target_mean, target_std = np.zeros(1), np.ones(1)
        Y = (Y - target_mean) / target_std
        extra["meta_target_mean"], extra["meta_target_std"] = target_mean, target_std
    rng = np.random.default_rng(args.seed)
    train, held = split_rows(len(X), y, args.validation_fraction, rng)
    # One row "trains" to loss 0 and teaches nothing: refuse before anything is written.
    if len(train) < 2:
        held_out = (f", {len(held)} of them held out for validation (--validation-fraction "
                    f"{args.validation_fraction:g})" if len(held) else "")
        raise CLIError(f"{args.data}: {len(X)} data row(s){held_out} leave {len(train)} to "
                       f"train on; training needs at least 2")
    if kind == "classes" and len(np.unique(y[train])) < 2:
        raise CLIError(f"{args.data}: the {len(train)} training rows left after holding out "
                       f"{len(held)} for validation are all of class {cells[train[0]]!r}; a "
                       f"classifier needs at least two (use more rows or a smaller "
                       f"--validation-fraction)")
    if kind == "classes":
        counts = collections.Counter(cells)
        singles = sum(count == 1 for count in counts.values())
        if 2 * singles > len(counts):  # an id column, or numbers to regress
            warnings.warn(f"the target {args.target!r} has {len(counts)} classes in "
                          f"{len(cells)} rows, {singles} of them with a single row to learn "
                          f"from; if it is an id, give another --target"
                          + (", and if it is a number, --regression" if integer_labels
                             else ""))
    # a feature that counts the rows up by one (a row number, an id) is rarely one
    if len(X) >= 10:
        steps = np.diff(X, axis=0)
        for j in np.flatnonzero((steps == 1).all(axis=0)):
            warnings.warn(f"column {features[j]!r} counts the rows up by one, like an id; if "
                          f"it is not a feature, {_ignore_option([features[j]])} leaves it out")
    weights_train = weights_held = None
    if weights is not None:
        weights_train, weights_held = weights[train], weights[held]
        for rows, which in ((weights_train, f"{len(train)} training rows"),
                            (weights_held, f"{len(held)} rows held out for validation")):
            if len(rows) and not rows.any():
                raise CLIError(f"{args.data}: the sample weight column {args.sample_weight!r} "
                               f"is zero on all {which} (--validation-fraction "
                               f"{args.validation_fraction:g}); each side needs a weight > 0")
    mean, std = _standardise(X[train])
    X = (X - mean) / std
    extra["meta_mean"], extra["meta_std"] = mean, std
    sizes = [X.shape[1], *args.hidden, Y.shape[1]]
    network = Network(sizes, activation=args.activation, output=output, loss=loss,
                      dtype=args.dtype, seed=args.seed)
    X_train, Y_train, X_held, Y_held = X[train], Y[train], X[held], Y[held]
    network.loss(X_train[:1], Y_train[:1])  # refuse targets the loss cannot take, up front
    whole = _whole_numbers(values) if kind != "classes" else ""
    if args.quiet and whole and not args.regression:  # asked for, it needs no warning
        # the one line that says it is hidden: a warning is not
        warnings.warn(f"{args.target!r} is trained as a regression{whole}")
    if not args.quiet:
        if kind == "classes":
            task = "classes: " + ", ".join(extra["meta_classes"])
        else:
            task = "regression" + (" (losses are on the standardised target)"
                                   if output == "identity" else "") + whole
        print(f"training {'-'.join(map(str, sizes))} ({args.activation}, {output} + {loss}) on "
              f"{len(train)} rows, validating on {len(held)}; {task}", file=sys.stderr,
              flush=True)

    # --patience watches the loss of the weights at the end of each epoch, on the validation
    # rows if there are any and on all training rows otherwise, and restores the best
    # (fit's restore_best). Without validation rows fit would watch each epoch's running
    # mean instead, so the training rows are its validation data then; fit's progress would
    # call their loss val_loss, so a callback shows the progress instead.
    watched = "validation" if len(held) else "training"
    optimizer = _optimizer(args, len(train))
    # fit's batch size default, stated here for the summary: all rows for the full-batch
    # rprop, one otherwise, none for lbfgs (which refuses one)
    batch_size = args.batch_size
    if batch_size is None and optimizer.name != "lbfgs":
        batch_size = len(train) if optimizer.name == "rprop" else 1
    validation: tuple[npt.NDArray[np.float64], ...] | None = None
    if len(held):
        validation = (X_held, Y_held) if weights_held is None else (X_held, Y_held,
                                                                    weights_held)
    elif args.patience is not None:
        validation = (X_train, Y_train) if weights_train is None else (X_train, Y_train,
                                                                       weights_train)
    untrained_loss = network.loss(X_train, Y_train, weights_train)  # for the hint below
    progress = make_progress(getattr(optimizer, "max_iter", None) or args.epochs,
                             quiet=args.quiet or bool(len(held)))
    try:
        history = network.fit(X_train, Y_train, epochs=args.epochs, optimizer=optimizer,
                              batch_size=batch_size, patience=args.patience,
                              validation_data=validation,
                              restore_best=args.patience is not None,
                              progress=not args.quiet and bool(len(held)), callback=progress,
                              sample_weight=weights_train,
                              reduce_lr_on_plateau=args.reduce_lr_on_plateau)
    except DivergenceError as error:
        # the API's "the network keeps the parameters ..." would suggest a model was kept
        told = str(error).replace(f"; {KEPT}", "")
        raise CLIError(f"{told}; no model file was written") from None
    finally:
        progress.close()
    if history.best_epoch is not None:
        if history.stop_reason == "patience":
            ending = (f"stopped after epoch {history.epochs}: no lower {watched} loss for "
                      f"{args.patience} epochs")
        else:
            ending = f"trained all {history.epochs} epochs"
        if history.best_epoch < history.epochs:
            kept = f"restored the weights of epoch {history.best_epoch}"
        else:
            kept = "kept the weights of the last epoch"
        print(f"{ending}; {kept}, which had the lowest {watched} loss "
              f"({history.best_loss:.4g})")
    # the losses fit watched: weighted as it trained; of the final weights, which the
    # progress lines' per-epoch means over the steps are not
    training_loss = network.loss(X_train, Y_train, weights_train)
    summary = f"training loss with the final weights {training_loss:.4g}"
    if len(held):
        summary += f", validation loss {network.loss(X_held, Y_held, weights_held):.4g}"
        if kind == "classes":
            accuracy = (network.predict(X_held).argmax(axis=1) == y[held]).mean()
            summary += f", validation accuracy {100 * accuracy:.2f}%"
    print(f"{summary}; trained by {_describe(args, optimizer, batch_size, len(train))}")
    # fit (not L-BFGS) warns of a loss that ended above its first epoch's (one warning is
    # enough); one that fell but stayed high (a learning rate so large that the outputs
    # saturate at once) is caught here. Clearly above: a model that learnt nothing (strong
    # weight decay, labels of noise) ties with the mean, up to roundings and early stopping;
    # and by more than 1e-3: targets all alike make the mean's loss about 0, a good fit's not
    saved = history.best_epoch or history.epochs  # the epoch whose parameters are saved
    rose = (optimizer.name != "lbfgs" and saved > 1
            and history.losses[saved - 1] > history.losses[0])
    constant = _constant_loss(network, X_train, Y_train, weights_train)
    if not training_loss <= 1.1 * constant + 1e-3 and not rose:
        # worse than the untrained network: a rate so large that the outputs saturated;
        # better, but not by enough: too small a rate or too few epochs
        hint = ("more --epochs" if optimizer.name == "lbfgs" else
                "a smaller --lr" if not training_loss <= untrained_loss else
                f"a larger --lr or more --epochs (the untrained network's loss was "
                f"{untrained_loss:.4g})")
        warnings.warn(f"the training loss ({training_loss:.4g}) is more than 10% above that "
                      f"of predicting the training targets' mean for every row "
                      f"({constant:.4g}): the model is worse than none; try {hint}",
                      RuntimeWarning)
    save(network, args.out, extra=extra)
    _warn_model_suffix(args.out)
    print(f"model saved to {_shown(args.out)}")
    return 0


# ---- predict ----

def _model_metadata(network: Network, extra: dict[str, npt.NDArray[Any]],
                    path: str) -> dict[str, Any]:
    """Check the command line's entries of a model file, if it has them, against the network."""
    n_inputs, n_outputs = network.sizes[0], network.sizes[-1]
    meta: dict[str, Any] = {}
    key = "meta_*"  # the entry being read, for the message

    def names(count: int) -> list[str]:  # one name per input or output
        entry = extra[key]
        if entry.ndim != 1 or len(entry) != count:
            raise ValueError(key)
        return [str(name) for name in entry]

    def numbers(count: int) -> npt.NDArray[np.float64]:
        entry = extra[key]
        if entry.dtype.kind not in "iuf" or entry.shape != (count,):
            raise ValueError(key)
        array = np.asarray(entry, dtype=np.float64)
        if not np.isfinite(array).all() or (key.endswith("std") and (array <= 0).any()):
            raise ValueError(key)
        return array

    try:
        if "meta_features" in extra:
            key = "meta_features"
            meta["features"] = names(n_inputs)
        for key in ("meta_target", "meta_sample_weight"):
            if key in extra:
                if extra[key].ndim != 0:
                    raise ValueError(key)
                meta[key[5:]] = str(extra[key][()])
        if "meta_ignored" in extra:
            key = "meta_ignored"
            ignored = extra["meta_ignored"]
            if (np.ndim(ignored) != 1 or ignored.dtype.kind != "U"
                    or set(ignored.tolist()) & set(meta.get("features", []))):
                raise CLIError(f"{path}: its entry meta_ignored must be a list of column "
                               f"names apart from meta_features, got {ignored!r}")
            meta["ignored"] = ignored.tolist()
        for key in ("meta_mean", "meta_std"):
            if key in extra:
                meta[key[5:]] = numbers(n_inputs)
        if "meta_classes" in extra:
            key = "meta_classes"
            meta["classes"] = names(n_outputs)
        for key in ("meta_target_mean", "meta_target_std"):
            if key in extra:
                meta[key[5:]] = numbers(n_outputs)
    except (ValueError, TypeError, IndexError):
        raise CLIError(f"{path}: its entry {key} does not fit the network "
                       f"{list(network.sizes)}") from None
    return meta


def _load_model(path: str) -> tuple[Network, dict[str, npt.NDArray[Any]]]:
    """The network of a model file and its meta_ entries; a missing file or a directory is
    bad input."""
    try:
        return load(path, with_extra=True)
    except FileNotFoundError:
        raise CLIError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a model file") from None
    except ValueError as error:  # an ONNX or FANN file given where a model goes
        kind = EXPORT_SUFFIXES.get(os.path.splitext(path)[1].lower())
        if kind not in IMPORT_FORMATS or "is not a bpcore model file" not in str(error):
            raise
        article = "an ONNX" if kind == "onnx" else "a FANN"
        raise CLIError(f"{error}; {article} file is read by import first: bpcore import "
                       f"{shlex.quote(path)} --from {kind} MODEL.npz") from None


def run_predict(args: argparse.Namespace) -> int:
    if args.out is not None:
        _not_an_input(args.out, "--out", [args.model, args.data])
    network, extra = _load_model(args.model)
    meta = _model_metadata(network, extra, args.model)
    if args.out is not None:
        try:
            _writable_target(args.out, "output file")
        except CLIError as error:
            raise CLIError(f"{error} (without --out, predict writes to stdout)") from None
    table = read_table(args.data)
    target = meta.get("target")
    # the model's feature names, when it was trained from a CSV
    features = meta.get("features")
    given = _ignored_columns(args.ignore, table, args.data)
    known = set(features or ())  # sets: a file of 200,000 columns took minutes to match
    named_features = [name for name in given if name in known]
    if named_features:
        what = "features" if len(named_features) > 1 else "a feature"
        raise CLIError(f"--ignore names {_listing(map(repr, named_features))}, {what} the "
                       f"model was trained on")
    # the columns train read as the target and the sample weights, or ignored, are not
    # features
    not_features = {"the target": target, "the sample weights": meta.get("sample_weight")}
    ignored_columns = {*meta.get("ignored", []), *given}
    skipped_names = ignored_columns | set(not_features.values())
    columns = [name for name in table.columns if name not in skipped_names]
    n_inputs = network.sizes[0]
    # which of the model's columns the file lacks
    present_names = set(columns)
    missing = [name for name in features if name not in present_names] if features else []
    if len(columns) != n_inputs:
        skipped = [f"{what} {name!r}" for what, name in not_features.items()
                   if name in table.columns]
        present = [name for name in table.columns
                   if name in ignored_columns and name not in not_features.values()]
        if present:
            skipped.append(f"the ignored {', '.join(map(repr, present))}")
        besides = f" (besides {_listing(skipped)})" if skipped else ""
        unknown = [name for name in columns if name not in known] if features else []
        named = "".join(f"; {what}: {_listing(map(repr, names))}" for what, names in (
            ("missing", missing), ("not the model's", unknown)) if names)
        if unknown and not missing:
            option = _ignore_option(unknown) if len(unknown) <= 12 else "--ignore COLUMNS"
            named += f"; {option} leaves {'them' if len(unknown) > 1 else 'it'} out"
        elif not features and len(columns) > n_inputs:  # a model without column names
            extra_columns = len(columns) - n_inputs
            named += ("; --ignore COLUMNS leaves out " + (
                "the column that is not a feature" if extra_columns == 1 else
                f"the {extra_columns} columns that are not features")
                + " (the model reads the others in the file's order)")
        plural = "s" if len(columns) != 1 else ""
        raise CLIError(f"{args.data} has {len(columns)} feature column{plural}{besides}, but "
                       f"the model expects {n_inputs}{named}")
    if features:
        if missing:
            raise CLIError(f"{args.data} lacks column{'s' if len(missing) > 1 else ''} "
                           f"{_listing(map(repr, missing))} that the model was trained on (it "
                           f"has {', '.join(map(repr, columns))})")
        columns = features  # the network's order, whatever the file's
    X = table.numeric(columns)
    X = (X - meta.get("mean", 0.0)) / meta.get("std", 1.0)
    outputs = network.predict(X)
    if "classes" in meta:
        header = [target or "prediction"]
        rows = [[meta["classes"][i]] for i in outputs.argmax(axis=1)]
    else:
        outputs = outputs * meta.get("target_std", 1.0) + meta.get("target_mean", 0.0)
        if target is not None and outputs.shape[1] == 1:
            header = [target]
        else:
            header = [f"output_{i}" for i in range(outputs.shape[1])]
        rows = [[repr(float(value)) for value in row] for row in outputs]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.out is None:
        _write_stdout(buffer.getvalue())  # stdout holds only the CSV
    else:
        _write_atomically(args.out, buffer.getvalue())
        print(f"wrote {len(rows)} prediction{'s' if len(rows) != 1 else ''} to "
              f"{_shown(args.out)}")
    return 0


def _write_atomically(path: str, text: str) -> None:
    """Write text as UTF-8, gzip-compressed when path ends in .gz (as read_table reads it;
    mtime 0, so the same text makes the same bytes)."""
    from .io import write_atomically
    data = text.encode("utf-8")
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    write_atomically(path, lambda file: file.write(data))


# ---- export and import ----

EXPORT_FORMS = {"onnx": "ONNX model", "torch": "PyTorch module", "fann": "FANN network"}
# the suffixes each format's files usually have
EXPORT_SUFFIXES = {".onnx": "onnx", ".pt": "torch", ".pth": "torch", ".net": "fann"}


def _warn_model_suffix(path: str) -> None:
    """Warn where a bpcore model file (.npz) was written under the suffix of another kind of
    file, which a reader going by the name would take it for."""
    other = {**{suffix: EXPORT_FORMS[form] for suffix, form in EXPORT_SUFFIXES.items()},
             ".csv": "CSV table"}.get(os.path.splitext(path)[1].lower())
    if other is not None:
        warnings.warn(f"{path} ends in the suffix of a file of {other}s, but holds a bpcore "
                      f"model (an .npz file)")


def _check_export(args: argparse.Namespace, parser: _Parser) -> None:
    if args.fann_version is not None and args.to != "fann":
        parser.error(f"--fann-version applies to --to fann, not --to {args.to}")


def _check_import(args: argparse.Namespace, parser: _Parser) -> None:
    if args.approximate and args.source != "fann":
        parser.error(f"--approximate applies to --from fann, not --from {args.source}")


def _input_file(path: str, what: str) -> None:
    """Refuse, before any work, an input that is missing or a directory."""
    if os.path.isdir(path):
        raise CLIError(f"{path} is a directory, not a {what}")
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such {what}")


def _needs_package(error: ImportError, option: str, form: str) -> CLIError:
    """The error for a converter whose optional package is missing, with the import's own
    message (the converters' ImportError says what to install too; its cause says what
    failed)."""
    return CLIError(f"{option} {form} needs {OPTIONAL_HINTS[form]} "
                    f"({error.__cause__ or error})")


def _fold_scaling(network: Network, meta: dict[str, Any], path: str) -> list[str]:
    """Fold the scaling that predict applies around `network` into its first and last layers,
    so that it maps raw inputs to predict's outputs; return what was folded, in words.
    `network` must be a copy (it is changed); the sums are formed in float64."""
    folded = []
    weights, biases = network.weights, network.biases
    if "mean" in meta or "std" in meta:
        mean = meta.get("mean", np.zeros(network.sizes[0]))
        std = meta.get("std", np.ones(network.sizes[0]))
        # W ((x - mean) / std) + b = (W / std) x + (b - (W / std) mean)
        scaled = weights[0].astype(np.float64) / std
        biases[0][...] = biases[0].astype(np.float64) - scaled @ mean
        weights[0][...] = scaled
        folded.append("input standardisation folded into the first layer")
    target_mean = meta.get("target_mean", np.zeros(network.sizes[-1]))
    target_std = meta.get("target_std", np.ones(network.sizes[-1]))
    if (target_mean != 0).any() or (target_std != 1).any():
        if network.output != "identity":
            raise CLIError(f"{path}: the target was standardised (meta_target_mean/std), which "
                           f"can be folded only into an identity output, but the output is "
                           f"{network.output}")
        # std_y (W a + b) + mean_y = (std_y W) a + (std_y b + mean_y)
        weights[-1][...] = weights[-1].astype(np.float64) * target_std[:, None]
        biases[-1][...] = biases[-1].astype(np.float64) * target_std + target_mean
        folded.append("target scaling folded into the last layer")
    if not all(np.isfinite(array).all() for array in weights + biases):
        raise CLIError(f"{path}: folding its scaling into the network gives parameters that "
                       f"overflow {network.dtype.name}")
    return folded


def _network_words(network: Network) -> str:
    """'2-8-3 (tanh, softmax), float64'."""
    activations = ([network.activation] if len(network.sizes) > 2 else []) + [network.output]
    return (f"{'-'.join(map(str, network.sizes))} ({', '.join(activations)}), "
            f"{network.dtype.name}")


# the converters' advice in Python arguments, as the command line's options
_FLAGS = {"pass approximate=True": "pass --approximate",
          "pass fann_version='2.3'": "pass --fann-version 2.3", "net has": "the model has"}


def _in_flags(error: Exception) -> str:
    message = str(error)
    for python, option in _FLAGS.items():
        message = message.replace(python, option)
    return message


def run_export(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "OUT", [args.model])
    network, extra = _load_model(args.model)  # a copy: the file is never changed
    meta = _model_metadata(network, extra, args.model)
    _writable_target(args.out, "output file")
    _not_another_file(args.out, "OUT", args.to)
    notes = _fold_scaling(network, meta, args.model)
    from .convert import save_fann, to_onnx, to_torch
    from .io import write_atomically
    try:
        if args.to == "onnx":
            to_onnx(network, args.out)
        elif args.to == "torch":
            module = to_torch(network)
            import torch
            write_atomically(args.out, lambda file: torch.save(module, file))
        else:
            save_fann(network, args.out, fann_version=args.fann_version or FANN_VERSIONS[0])
    except ImportError as error:
        raise _needs_package(error, "--to", args.to) from None
    except ValueError as error:  # a network the format cannot express
        hint = ""
        if args.to == "fann" and network.output == "softmax":
            hint = ("; a classifier FANN can run has a sigmoid output: train it with "
                    "--output-activation sigmoid, or export this one --to onnx")
        raise CLIError(f"{args.model}: cannot export to {args.to}: {_in_flags(error)}{hint}"
                       ) from None
    if args.to == "fann" and network.output == "identity" and "target_mean" in meta:
        # the folded output is the target itself, and FANN clamps a linear neuron's output
        reach = np.abs(meta["target_mean"]) + 3 * meta["target_std"]
        if (reach > FANN_LINEAR_BOUND).any():
            warnings.warn(f"FANN clamps a linear output to [-{FANN_LINEAR_BOUND:g}, "
                          f"{FANN_LINEAR_BOUND:g}], and this regressor's training targets "
                          f"(mean {meta['target_mean'][0]:.4g}, std "
                          f"{meta['target_std'][0]:.4g}) reach beyond it: FANN will give "
                          f"{FANN_LINEAR_BOUND:g} where the network gives more")
    if "features" in meta:
        notes.append(f"inputs: {', '.join(meta['features'])}")
    if "classes" in meta:
        notes.append(f"outputs: the classes {', '.join(meta['classes'])}, in this order")
    form = EXPORT_FORMS[args.to]
    named = EXPORT_SUFFIXES.get(os.path.splitext(args.out)[1].lower(), args.to)
    if named != args.to:  # written as asked, but a reader going by the name would be misled
        article = "an" if form.startswith("ONNX") else "a"
        warnings.warn(f"{args.out} ends in the suffix of a file of {EXPORT_FORMS[named]}s, "
                      f"but --to {args.to} wrote {article} {form} into it")
    print(f"wrote the {form} {_shown(args.out)}: network {_network_words(network)}"
          + "".join(f"; {note}" for note in notes))
    return 0


def run_import(args: argparse.Namespace) -> int:
    _not_an_input(args.out, "OUT.npz", [args.file])
    _input_file(args.file, "file")
    _writable_target(args.out, "model file")
    _not_another_file(args.out, "OUT.npz", "npz")
    from .convert import from_onnx, load_fann
    try:
        if args.source == "fann":
            network = load_fann(args.file, approximate=args.approximate)
        else:
            network = from_onnx(args.file)
    except ImportError as error:
        raise _needs_package(error, "--from", args.source) from None
    except ValueError as error:
        message = _in_flags(error)
        # from_onnx's reasons do not name the file; load_fann's do
        raise CLIError(message if args.file in message else f"{args.file}: {message}") from None
    network.save(args.out)
    _warn_model_suffix(args.out)
    print(f"wrote the bpcore model {_shown(args.out)} from the {args.source} file "
          f"{_shown(args.file)}: network {_network_words(network)}; predict reads its inputs "
          f"in the data's column order and writes its raw outputs")
    return 0


# ---- bench and info ----

def run_bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main
    status: int = bench_main(args.bench_arguments)
    return status


def _blas_line(compiled: Any) -> str:
    """What `info` says of the compiled kernels' BLAS (SciPy's): its kernels where it is
    OpenBLAS, whether OPENBLAS_CORETYPE chose them, whether the kernels take small products
    themselves, and whether forward products run on copies of W^T."""
    name = compiled.blas_kernels()  # loads SciPy's BLAS, as a fit would
    if not compiled.blas_loaded():
        return "BLAS: none (SciPy is not installed: every product runs on the plain loops)"
    copies = compiled.forward_copies(32, 64, 64)
    own = compiled.own_products_taken()
    chosen = os.environ.get("OPENBLAS_CORETYPE")
    return ("BLAS: SciPy's, " + (f"OpenBLAS with its {name} kernels" if name else
                                  "not OpenBLAS or its kernels unknown")
            + (f" (chosen by OPENBLAS_CORETYPE={chosen})" if chosen and name else "")
            + f"; small products on bpcore's own kernel: {'yes' if own else 'no'}"
            + f"; forward products on copies of W^T: {'yes' if copies else 'no'}")


def run_info(args: argparse.Namespace) -> int:
    print(f"bpcore {__version__}")
    print(f"python {platform.python_version()} ({sys.executable}), numpy {np.__version__}")
    print(f"active backend: {_backend.name} (BPCORE_BACKEND="
          f"{os.environ.get('BPCORE_BACKEND', 'auto') or 'auto'})")
    try:
        compiled = _backend.compiled()
    except ImportError as error:
        print(f"compiled module: not importable ({error})")
    else:
        print(f"compiled module: importable ({compiled.__file__})")
        print(f"build flags: {compiled.BUILD_FLAGS}"
              + (" (debug build: bounds checked)" if compiled.BOUNDS_CHECKED else ""))
        print(f"SIMD variant: {compiled.SIMD} (BPCORE_SIMD="
              f"{os.environ.get('BPCORE_SIMD', 'auto') or 'auto'}; runnable here: "
              f"{', '.join(_backend.simd_variants())}; built: "
              f"{', '.join(_backend.built_variants())})")
        print(_blas_line(compiled))
    print(f"supported dtypes: {', '.join(DTYPES)}")
    for name in ("tqdm", "matplotlib"):
        try:
            module = importlib.import_module(name)
            print(f"{name}: {getattr(module, '__version__', 'installed')}")
        except ImportError:
            print(f"{name}: not installed" + (' (for --plot: pip install "bpcore[plot]")'
                                              if name == "matplotlib" else ""))
    return 0


# ---- entry point ----

def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """warnings.showwarning for the command line: one line, no source location."""
    report("warning", message)


def _silence_stdout() -> None:
    """Point stdout at os.devnull, so the interpreter's flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a file (captured, in tests): nothing to do
        pass


def _terminated(signum: int, frame: object) -> NoReturn:
    # SIGTERM (timeout, systemd, kill) or SIGHUP (a closed terminal) as an exception: a model
    # being saved leaves no temporary file; the status is the one the signal would give
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv[1:]); return the exit status:
    0 done, 2 bad input, 130 interrupted, 141 stdout closed early (as by `| head`)."""
    previous = {}
    if threading.current_thread() is threading.main_thread():  # signal.signal's condition
        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None and signal.getsignal(number) is signal.SIG_DFL:
                previous[number] = signal.signal(number, _terminated)
    try:
        return _main(argv)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                args = _parse_arguments(parser, argv)
                status: int = args.run(args)
                return status
        finally:
            if sys.stdout is not None:  # None when started with stdout closed (`>&-`)
                sys.stdout.flush()  # a closed pipe shows up here, not in the flush at exit
    except BrokenPipeError:
        # The reader has gone (`bpcore info | head -1`): stop quietly, as a C tool would.
        _silence_stdout()
        return CLOSED_PIPE
    except (CLIError, ValueError, OSError, MemoryError) as error:
        # ValueError covers DataError, bpcore.io's "not a model" and the network's own checks
        # (DivergenceError included); OSError covers files that cannot be read or written;
        # MemoryError a network (--hidden) or table too large for this machine.
        message = str(error) or type(error).__name__
        if isinstance(error, OSError) and error.filename is not None and error.strerror:
            message = f"{error.filename}: {error.strerror}"
        report("error", message)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
