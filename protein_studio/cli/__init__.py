"""Command line: ``protein-studio SUBCOMMAND ...`` runs the same engines as the window, for batch work.

Each subcommand lives in its own module here and exposes ``register(subparsers)``, which adds its parser
and sets ``handler=<function(args) -> int>``. Modules must not import torch, esm or transformers at import
time (the engines they call do that lazily).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from protein_studio import __version__
from protein_studio.core.errors import JobCancelled, UserError
from protein_studio.core.files import printable
from protein_studio.cli.options import whole

__all__ = ["COMMANDS", "build_parser", "main"]

# subcommand name -> module (protein_studio.cli.<module>) that registers it
COMMANDS: dict[str, str] = {
    "info": "info",
    "scan": "scoring",
    "score": "scoring",
    "evaluate": "evaluate",
    "models": "models",
    "fold": "folding",
    "generate": "generation",
    "design": "design",
    "project": "project",
    "fit": "learning",
    "propose": "learning",
    "batch": "batch",
    "primers": "primers",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``command`` only the module that serves it (so `info` does not pay
    for importing what `evaluate` needs)."""
    parser = argparse.ArgumentParser(
        prog="protein-studio",
        description="Protein Studio command line. Without a subcommand, `protein-studio [FILES]` opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"protein-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--threads", type=whole(1, 4096), metavar="N",
                        help="CPU threads for the models (default: the cores this process may use, less one; "
                             "also $PROTEIN_STUDIO_THREADS); accepted anywhere on the line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module_name in modules:
        importlib.import_module(f"protein_studio.cli.{module_name}").register(sub)
    return parser


def _global_option_first(argv: list[str], option: str) -> list[str]:
    """``option VALUE`` (or ``option=VALUE``) moved to the front, wherever the user put it."""
    out, front = [], []
    k = 0
    while k < len(argv):
        word = argv[k]
        if word == option and k + 1 < len(argv):
            front += [word, argv[k + 1]]
            k += 2
            continue
        if word.startswith(option + "="):
            front.append(word)
        else:
            out.append(word)
        k += 1
    return front + out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, as the error messages suggest
    if debug:
        argv = ["--debug"] + [word for word in argv if word != "--debug"]
    argv = _global_option_first(argv, "--threads")
    command = next((word for k, word in enumerate(argv)
                    if not word.startswith("-") and (k == 0 or argv[k - 1] != "--threads")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return 2
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    from protein_studio.models.devices import apply_threads

    apply_threads(args.threads)  # before torch loads: no command oversubscribes the machine
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"protein-studio {args.command}: error: {printable(exc)}", file=sys.stderr)
        return 1
    except JobCancelled:
        print(f"protein-studio {args.command}: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print(f"\nprotein-studio {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if debug:
            traceback.print_exc()
        print(f"protein-studio {args.command}: internal error: {type(exc).__name__}: {printable(exc)} "
              f"(run again with --debug for the traceback)", file=sys.stderr)
        return 1
