"""Entry point: ``protein-studio`` (also ``python -m protein_studio`` and ``python main.py``).

With a subcommand (``info``, ``scan``, ...) it runs the command line. Without one it opens the window,
optionally on files. Nothing heavy is imported here: Qt loads only for the window, torch only when a
model is first used.
"""

from __future__ import annotations

import argparse
import os
import sys

from protein_studio import __version__

__all__ = ["main", "window_parser", "has_display"]


def window_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protein-studio",
        description="Open the Protein Studio window (on the bundled demo protein when no file is given). "
                    "Subcommands for batch work: info, scan, score, evaluate, models, fold, generate, "
                    "design, fit, propose, primers, batch, project (`protein-studio COMMAND --help`).",
    )
    parser.add_argument("files", nargs="*", help="FASTA, PDB, mmCIF or BinaryCIF files to open")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="open, wait until everything is drawn, save an image of the window and exit "
                             "(works without a display)")
    parser.add_argument("--scan", metavar="MODEL", help="with --screenshot: run a full scan with MODEL first")
    parser.add_argument("--numbering", nargs="+", metavar="SCHEME",
                        help="show positions in this numbering: structure, sequence, reference FILE, offset N, "
                             "table FILE (as the subcommands' --numbering; View > Numbering in the window)")
    parser.add_argument("--version", action="version", version=f"protein-studio {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="CPU threads for the models (default: the cores available, less one)")
    return parser


def has_display() -> bool:
    """True when Qt can open a real window (X11/Wayland, or a platform chosen explicitly)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from protein_studio.cli import COMMANDS

    words = [w for k, w in enumerate(argv) if not w.startswith("-") and (k == 0 or argv[k - 1] != "--threads")]
    if words and words[0] in COMMANDS:  # global options (--debug, --threads N) may come first
        from protein_studio.cli import main as cli_main

        return cli_main(argv)
    args = window_parser().parse_args(argv)
    if args.scan and not args.screenshot:
        window_parser().error("--scan is only used with --screenshot")
    if not args.screenshot and not has_display():
        print("protein-studio: no display found (DISPLAY/WAYLAND_DISPLAY unset), so no window can open; "
              "take a picture of it instead: protein-studio --screenshot studio.png", file=sys.stderr)
        return 0
    from protein_studio.models.devices import apply_threads

    apply_threads(args.threads)  # the worker runs torch on these; one core stays with the window
    from protein_studio.gui.application import run_application

    return run_application(args)
