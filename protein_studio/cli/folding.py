"""``protein-studio fold``: predict structures with ESMFold.

``fold INPUT.fasta --out pred.pdb`` folds a FASTA file (several records give one PDB each, folded shortest
first; ``--out`` is then a folder or a name pattern with ``{name}``) and ``fold --sequence SEQ --out p.pdb``
folds one sequence; ``SEQ1:SEQ2`` (in --sequence or in a FASTA record) is a multimer, chains A, B, ...
Each PDB has the per-residue pLDDT (0-100) in its B-factor column. The memory/time estimate is printed before each run and a summary table
(name, length, chains, mean pLDDT, pTM, chunk size, seconds, file) at the end. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from protein_studio.core.errors import InputError, UserError
from protein_studio.cli.options import whole

__all__ = ["register", "run", "output_paths", "check_output", "load_for_task", "format_table"]


def check_output(out: str) -> None:
    """InputError when the folder ``out`` is to be written in does not exist, UserError when ``out`` is a device,
    pipe, socket or symbolic link (``-``, stdout, is fine)."""
    from protein_studio.core.files import refuse_special_target

    if out == "-":
        return
    refuse_special_target(out)  # before any work: a device, pipe or link is never replaced
    parent = Path(out).resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write here: folder {parent} does not exist", source=out)


def load_for_task(name: str, task: str, device: str, command: str):
    """Load model ``name`` (registry name, imported name or folder) for ``task``; UserError if it is not one."""
    from protein_studio.models.hf_loading import load_hf_model, resolve_hf_spec

    spec = resolve_hf_spec(name)
    if spec.task != task:
        raise UserError(f"{name} is a {spec.task} model; {command} needs a {task} model")
    if spec.is_random:
        print(f"protein-studio {command}: note: {spec.display_name}", file=sys.stderr)
    return load_hf_model(spec, device)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "prediction"


def output_paths(out: str, names: list[str]) -> list[Path]:
    """Where each record's PDB goes.

    One record: ``out`` itself (a folder gets ``<name>.pdb``). Several: ``out`` must be a folder (existing,
    or ending in ``/``, or without a ``.pdb`` suffix) or contain ``{name}``.
    """
    names = [_safe(n) for n in names]
    if "{name}" in out:
        return [Path(out.replace("{name}", n)) for n in names]
    path = Path(out)
    folder = path.is_dir() or out.endswith(("/", "\\")) or path.suffix.lower() not in (".pdb", ".ent")
    if len(names) == 1 and not folder:
        return [path]
    if not folder:
        raise InputError(f"{len(names)} records but one output file: give a folder (e.g. --out preds/) or a "
                         f"pattern (e.g. --out 'preds/{{name}}.pdb')", source=out)
    return [path / f"{n}.pdb" for n in names]


def _records(args) -> list[tuple[str, str]]:
    if args.sequence is not None:
        if args.input is not None:
            raise InputError("give either INPUT or --sequence, not both")
        return [(args.name or "prediction", args.sequence)]
    if args.input is None:
        raise InputError("nothing to fold: give a FASTA file or --sequence SEQ")
    from protein_studio.core.molecules.sequences import read_fasta

    records = read_fasta(args.input, allow_chain_breaks=True)  # SEQ1:SEQ2 records are multimers
    if not records:
        raise InputError("no sequences found", source=str(args.input))
    seen: dict[str, int] = {}
    out = []
    for record in records:  # names become file names: make them unique
        seen[record.name] = seen.get(record.name, 0) + 1
        name = record.name if seen[record.name] == 1 else f"{record.name}_{seen[record.name]}"
        out.append((name, ":".join(record.chains)))
    return out


def run(args) -> int:
    """Handler of ``protein-studio fold``."""
    from protein_studio.core.files import write_text_atomically
    from protein_studio.engines.folding import FoldResult, fold_many, split_chains
    from protein_studio.core.job_context import JobContext

    records = _records(args)
    for name, sequence in records:  # bad input fails before a model is loaded
        split_chains(sequence, source=name)
    paths = dict(zip((n for n, _ in records), output_paths(args.out, [n for n, _ in records])))
    if list(paths.values()) == [Path(args.out)]:
        check_output(args.out)
    loaded = load_for_task(args.model, "folding", args.device, "fold")
    from protein_studio.cli.terminal import StatusLine

    status = StatusLine("protein-studio fold")
    written: list[tuple[FoldResult, Path]] = []

    def save(result: FoldResult) -> None:
        path = paths[result.name]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, result.pdb_text)
        written.append((result, path))

    ctx = JobContext(on_progress=status, on_partial=save, on_warning=status.warn)
    fold_many(records, loaded, ctx, chunk_size=args.chunk_size, num_recycles=args.num_recycles)
    from protein_studio.core.files import printable

    print(printable(_summary(written)))
    if getattr(args, "project", None):
        from protein_studio.cli.project import add_to_project

        add_to_project(args, [prediction_state(result, path.name) for result, path in written],
                       f"{len(written)} predicted structures")
    return 0


def prediction_state(result, file_name: str):
    """A project document of a prediction: the predicted structure, with its pLDDT, pTM and PAE kept."""
    from protein_studio.core.storage.records import prediction_record
    from protein_studio.core.documents.document import load_sources
    from protein_studio.core.documents.session import DocumentState

    document = load_sources([(file_name, result.pdb_text.encode("utf-8"))])
    state = DocumentState(document)
    state.results.append(prediction_record(result, name=f"Predicted: {result.name} ({result.model})",
                                           source=result.name, wild_type=document.wild_type, numbered=True))
    return state


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Rows of text cells (the first is the header) as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _summary(rows) -> str:
    header = ("name", "length", "chains", "mean pLDDT", "pTM", "chunk", "seconds", "file")
    return format_table([header] + [
        (r.name, str(r.length), ",".join(r.chain_ids), f"{r.mean_plddt:.1f}", f"{r.ptm:.3f}",
         "none" if r.chunk_size is None else str(r.chunk_size), f"{r.seconds:.1f}", str(p)) for r, p in rows])


def _chunk(text: str) -> str | int | None:
    """``--chunk-size`` as ``fold_sequence`` takes it: "auto", None (for "none") or a positive number."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    try:
        if int(text) >= 1:
            return int(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected auto, none or a positive number, not {text!r}")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``fold`` subcommand."""
    parser = subparsers.add_parser(
        "fold", help="predict structures with ESMFold (pLDDT in the B-factor column)",
        description="Predict 3D structures with ESMFold. A FASTA file with several records gives one PDB each "
                    "(shortest first); SEQ1:SEQ2 in --sequence or in a FASTA record folds a multimer "
                    "(chains A, B, ...).")
    parser.add_argument("input", nargs="?", type=Path, metavar="INPUT.fasta", help="sequences to fold")
    parser.add_argument("--sequence", metavar="SEQ", help="fold this sequence instead (SEQ1:SEQ2 for a multimer)")
    parser.add_argument("--name", help="name of the --sequence prediction (default: prediction)")
    parser.add_argument("--out", required=True, metavar="PATH",
                        help="PDB file; with several records a folder or a pattern such as 'preds/{name}.pdb'")
    parser.add_argument("--model", default="esmfold_v1", metavar="NAME",
                        help="folding model: esmfold_v1 (default), an imported name or a snapshot folder")
    parser.add_argument("--chunk-size", type=_chunk, default="auto", metavar="N",
                        help="trunk chunk size: auto (default: from length and free memory), none, or a "
                             "number (smaller uses less memory and runs slower)")
    parser.add_argument("--num-recycles", type=whole(0, 64), metavar="N", help="recycling passes (default: the model's)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    from protein_studio.cli.project import add_project_argument

    add_project_argument(parser)
    parser.set_defaults(handler=run)
    return parser
