"""The ``dlcore`` command: train, evaluate, predict, plot, launch, devices, backends, info, env.

How it behaves, for every command: results on stdout, progress and logs on stderr; exit
status 0 on success, 1 when something failed while running (data, checkpoint, training), 2
for a usage mistake (an option, a name, a value), 130 on Ctrl+C; a mistake is one line
``dlcore: error: ...`` (``--debug`` shows the traceback); ``--quiet`` keeps stderr to errors.
No framework is imported until a command needs one.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
from typing import NoReturn

from ..contract.errors import BackendError, ConfigError, DeviceError, DlcoreError, PluginError
from ..data.datasets import registered
from ..parallel.launcher import worker_of
from ..version import __version__
from . import system, train, use

USAGE_ERRORS = (ConfigError, DeviceError, BackendError, PluginError)  # exit status 2; any other: 1
# Where a framework's message turns into its logs: gRPC's details, C++ frames (shown with --debug).
FRAMEWORK_DETAILS = re.compile(r"^\s*(Additional GRPC error information|Exception raised from |frame #\d+|"
                               r"\*\*\* Begin stack trace|:\{\"created\"|:UNKNOWN:)", re.MULTILINE)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage mistakes are one line (the options: ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"dlcore: error: {message} ({self.prog} --help lists the options)\n")


def _said(err: BaseException, debug: bool) -> str:
    """An error's message without the framework's logs it carries (all of it with ``--debug``)."""
    text = str(err)
    cut = FRAMEWORK_DETAILS.search(text)
    if debug or cut is None:
        return text
    return text[:cut.start()].rstrip() + " (--debug shows the framework's details)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlcore", description="Train, evaluate and use models on PyTorch, TensorFlow or JAX with one API.",
        epilog="examples:\n  dlcore train fashion-mnist --epochs 2\n  dlcore predict runs/fashion-mnist shoe.png\n"
               "  dlcore evaluate runs/fashion-mnist --backend tensorflow\n  dlcore plot runs/fashion-mnist\n"
               "  dlcore COMMAND --help   (each command's options and examples)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"dlcore {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="nothing on stderr but errors")
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".", parents=[common],
                              epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)

    train.add_parser(command("train", "train a model and write a run folder (config, history, checkpoints, plots)",
                             train.EXAMPLES), registered())
    use.add_parsers(command)
    train.add_launch_parser(command)
    system.add_parsers(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``dlcore`` command with ``argv`` (default: the process's arguments); return
    its exit status.

    Example::

        from dlcore.cli import main
        status = main(["train", "fashion-mnist", "--epochs", "1"])
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if "--verbose" not in argv:  # the frameworks' start-up logs
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as done:  # --help, --version, or a usage mistake (one line on stderr)
            return done.code if isinstance(done.code, int) else 2
        if args.command == "train":
            return train.run(args, argv)
        return int(args.run(args))
    except DlcoreError as err:
        worker = worker_of()
        if debug:
            traceback.print_exc()
        print(f"dlcore: error{f' in worker {worker[0]}' if worker else ''}: {_said(err, debug)}", file=sys.stderr)
        return 2 if isinstance(err, USAGE_ERRORS) else 1
    except KeyboardInterrupt:
        print(f"dlcore: interrupted{train.interrupted_note()}", file=sys.stderr)
        return 130
    except Exception as err:  # a fault of dlcore or of a framework: one line, the rest with --debug
        if debug:
            traceback.print_exc()
        print(f"dlcore: error: {type(err).__name__}: {_said(err, debug)} (dlcore {__version__}; --debug shows the "
              "traceback, dlcore env what a bug report needs)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

