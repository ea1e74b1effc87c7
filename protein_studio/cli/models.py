"""``protein-studio models list|download NAME|import PATH [--name NAME]|remove NAME``.

Lists the models the application knows (size, licence, whether the weights are on disk), downloads
fair-esm checkpoints and Hugging Face models (SaProt, ESM C, ESMFold, ProtGPT2) with a progress bar, imports a fair-esm
checkpoint file (checked with the safe loader first) or a Hugging Face snapshot folder copied from
elsewhere, and removes weights. No torch at import time.
"""

from __future__ import annotations

import sys
import time

from protein_studio.core.units import format_bytes, format_parameters
from protein_studio.models.registry import EXTRAS, SCORING_FAMILIES

__all__ = ["register"]


def register(subparsers) -> None:
    """Add the ``models`` command and its sub-commands to the ``protein-studio`` parser."""
    parser = subparsers.add_parser(
        "models", help="list, download, import or remove model weights",
        description="Models Protein Studio can use and their weights on disk.")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    parser.set_defaults(handler=lambda args: _usage(parser))

    listing = sub.add_parser("list", help="every model: size, licence, maximum length, on disk or not")
    listing.add_argument("--task", choices=("scoring", "folding", "generation"),
                         help="only models for this task")
    listing.set_defaults(handler=_list)

    download = sub.add_parser("download", help="download a model's weights (progress on stderr)")
    download.add_argument("name", metavar="NAME", help="model name, as `models list` shows it")
    download.set_defaults(handler=_download)

    importing = sub.add_parser(
        "import", help="copy a fair-esm checkpoint or a Hugging Face model folder into the weights folder",
        description="A file: check a fair-esm checkpoint (loaded safely, architecture verified) and copy it "
                    "into the weights folder under its expected name, with its "
                    "<name>-contact-regression.pt when that file lies beside it. A folder with config.json: "
                    "copy a Hugging Face snapshot (SaProt, ESM C, ESMFold, or a ProtGPT2-compatible GPT-2 "
                    "checkpoint with its tokenizer), after checking its configuration and the shape of every "
                    "tensor, into <weights folder>/huggingface/NAME.")
    importing.add_argument("path", metavar="PATH",
                           help="checkpoint file (e.g. esm2_t33_650M_UR50D.pt) or model folder "
                                "(e.g. esmfold_v1/)")
    importing.add_argument("--name", help="model name (default: the file name without .pt; for a folder "
                                          "esmfold_v1, protgpt2 or the folder's name)")
    importing.set_defaults(handler=_import)

    remove = sub.add_parser("remove", help="delete a model's weights")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_remove)


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _list(args) -> int:
    from protein_studio.models.locations import hf_cache_dir, imported_dir, imported_root
    from protein_studio.models.catalog import all_models
    from protein_studio.models.locations import weights_dir
    from protein_studio.models.weights import is_on_disk

    header = ("NAME", "TASK", "PARAMS", "DOWNLOAD", "LICENCE", "MAX LENGTH", "ON DISK", "NOTE")
    rows = [header]
    for spec in all_models(args.task):
        rows.append((
            spec.name, spec.task, format_parameters(spec.parameters), format_bytes(spec.download_bytes),
            spec.license, _max_length(spec),
            "yes" if is_on_disk(spec) else "no",
            _note(spec, imported_dir(spec.name)),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"\nfair-esm weights folder: {weights_dir()}")
    print(f"imported Hugging Face models: {imported_root()}")
    print(f"Hugging Face cache: {hf_cache_dir()}")
    return 0


def _note(spec, imported_folder) -> str:
    extra = f"; needs the [{EXTRAS[spec.family][0]}] extra" if spec.family in EXTRAS else ""
    if spec.is_random:
        return "RANDOM WEIGHTS" + extra
    if spec.source != "huggingface":
        return extra.lstrip("; ")
    if spec.hub_id is None:
        return "IMPORTED" + extra
    return spec.hub_id + (" (imported)" if (imported_folder / "config.json").is_file() else "") + extra


def _max_length(spec) -> str:
    if spec.max_tokens is None:
        return "-"
    if spec.family in SCORING_FAMILIES:
        return f"{spec.max_residues} aa"
    return f"{spec.max_tokens} tokens"


class _ByteProgress:
    """Progress of a download on stderr: redrawn in place on a terminal, one line per file otherwise."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.text = None
        self.started = self.drawn = time.monotonic()

    def __call__(self, done: float, total: float, text: str = "") -> None:
        now = time.monotonic()
        if text != self.text:
            self.text, self.started = text, now
        finished = total > 0 and done >= total
        if self.tty and (finished or now - self.drawn >= 0.2):
            share = f" {100 * done / total:5.1f}%" if total > 0 else ""
            amount = f"{format_bytes(int(done))} of {format_bytes(int(total))}" if total > 0 \
                else format_bytes(int(done))
            self.stream.write(f"\r{text}:{share} {amount}   ")
            self.drawn = now
        if finished:  # a terminal ends the redrawn line; a log gets one summary line per file
            self.stream.write("\n" if self.tty
                              else f"{text}: {format_bytes(int(total))} in {now - self.started:.1f}s\n")
        self.stream.flush()


def _download(args) -> int:
    from protein_studio.core.job_context import JobContext
    from protein_studio.models.catalog import get_spec
    from protein_studio.models.weights import download

    spec = get_spec(args.name)
    ctx = JobContext(on_progress=_ByteProgress(),
                     on_warning=lambda text: print(f"protein-studio models: warning: {text}", file=sys.stderr))
    for path in download(spec, ctx):
        print(path)
    return 0


def _import(args) -> int:
    from protein_studio.models.weights import import_weights

    for path in import_weights(args.path, args.name):
        print(path)
    return 0


def _remove(args) -> int:
    from protein_studio.models.weights import remove

    for path in remove(args.name):
        print(f"removed {path}")
    return 0
