"""``protein-studio generate``: sample new sequences with a ProtGPT2-style causal protein language model.

``generate --model protgpt2 --n 20 --seed 1 --out gen.fasta`` samples 20 candidates, drops those that did
not end naturally or are low-complexity / repeat-dominated (see :mod:`protein_studio.engines.generation`),
ranks the rest by perplexity and writes them as FASTA with the scores in the headers. The same seed and
settings write the same file. A table of the kept sequences is printed (to stderr when ``--out -``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from protein_studio.core.errors import InputError, UserError
from protein_studio.cli.options import number, whole

__all__ = ["register", "run"]


def _reference(text: str | None) -> str | None:
    if text is None:
        return None
    path = Path(text)
    if path.is_file():
        from protein_studio.core.molecules.sequences import read_fasta

        records = read_fasta(path)
        if not records:
            raise InputError("no sequence found", source=text)
        if len(records) > 1:
            print(f"protein-studio generate: note: {text} has {len(records)} records; the first, "
                  f"'{records[0].name}', is the reference", file=sys.stderr)
        return records[0].sequence
    return text


def _table(result) -> str:
    from protein_studio.cli.folding import format_table

    header = ("rank", "name", "length", "perplexity", "entropy", "repeats")
    extra = []
    if result.reference is not None:
        extra.append("identity")
    if any(c.mean_plddt is not None for c in result.kept):
        extra.append("pLDDT")
    rows = [header + tuple(extra)]
    for rank, c in enumerate(result.kept, start=1):
        row = (str(rank), c.name, str(len(c.sequence)), f"{c.perplexity:.2f}", f"{c.entropy:.2f}",
               f"{c.repeat_fraction:.2f}")
        if result.reference is not None:
            row += (f"{100 * c.identity:.1f}%",)
        if "pLDDT" in extra:
            row += (f"{c.mean_plddt:.1f}",)
        rows.append(row)
    return format_table(rows)


def run(args) -> int:
    """Handler of ``protein-studio generate``."""
    from protein_studio.cli.folding import check_output, load_for_task
    from protein_studio.cli.terminal import StatusLine
    from protein_studio.core.files import write_text_atomically
    from protein_studio.engines.generation import GenerationSettings, generate_sequences
    from protein_studio.core.job_context import JobContext

    settings = GenerationSettings(
        n=args.n, prompt=args.prompt or "", max_length=args.max_length, min_length=args.min_length,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
        repetition_penalty=args.repetition_penalty, seed=args.seed, batch_size=args.batch_size).validated()
    reference = _reference(args.reference)
    check_output(args.out)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # generate() warns about padding masks that sampling never uses
    loaded = load_for_task(args.model, "generation", args.device, "generate")
    fold_model = load_for_task(args.fold_model, "folding", args.device, "generate") if args.fold_model else None
    status = StatusLine("protein-studio generate")
    ctx = JobContext(on_progress=status, on_warning=status.warn)
    result = generate_sequences(loaded, settings, ctx, reference=reference, fold_model=fold_model)
    text = result.to_fasta(include_dropped=args.include_dropped)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        write_text_atomically(args.out, text)
    dropped = ", ".join(f"{n} {reason}" for reason, n in sorted(result.drop_counts().items()))
    summary = (f"protein-studio generate: kept {len(result.kept)} of {len(result.candidates)}"
               + (f" (dropped: {dropped})" if dropped else "")
               + ("" if args.out == "-" else f"; wrote {args.out}"))
    stream = sys.stderr if args.out == "-" else sys.stdout
    if result.kept:
        from protein_studio.core.files import printable

        print(printable(_table(result)), file=stream)
    print(summary, file=sys.stderr)
    if getattr(args, "project", None):
        if not result.kept:
            raise UserError("no sequence was kept, so nothing was added to the project")
        from protein_studio.cli.project import add_to_project

        add_to_project(args, [generated_state(result, settings, text, args.model)],
                       f"{len(result.kept)} generated sequences")
    return 0


def generated_state(result, settings, fasta_text: str, model: str):
    """A project document of a generated set: its sequences as the records of one FASTA (the best first,
    File > Choose Record shows the others), with the settings and seed that made them."""
    from protein_studio.core.storage.records import generated_record
    from protein_studio.core.documents.document import load_sources
    from protein_studio.core.documents.session import DocumentState

    document = load_sources([(f"generated_seed{settings.seed}.fasta", fasta_text.encode("utf-8"))])
    state = DocumentState(document)
    state.results.append(generated_record(result, settings, fasta_text, model))
    return state


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``generate`` subcommand."""
    parser = subparsers.add_parser(
        "generate", help="sample new sequences with a ProtGPT2-style model (FASTA, scores in headers)",
        description="Sample sequences with a causal protein language model (ProtGPT2 format), drop those that "
                    "did not end naturally or are low-complexity or repeat-dominated, and rank the rest by "
                    "perplexity (lower is better). Defaults follow the ProtGPT2 model card.")
    parser.add_argument("--model", required=True, metavar="NAME",
                        help="protgpt2, an imported GPT-2 checkpoint name, or a snapshot folder")
    parser.add_argument("--n", type=whole(1, 100_000), default=20, help="sequences to sample (default: 20)")
    parser.add_argument("--prompt", metavar="RESIDUES", help="start every sequence with these residues, e.g. M")
    parser.add_argument("--max-length", type=whole(1, 100_000), default=400, metavar="N",
                        help="longest sequence in residues, prompt included; longer ones are dropped as "
                             "truncated (default: 400)")
    parser.add_argument("--min-length", type=whole(0, 100_000), default=10, metavar="N", help="shortest kept (default: 10)")
    parser.add_argument("--temperature", type=number(0, 100, above=True), default=1.0, help="sampling temperature (default: 1.0)")
    parser.add_argument("--top-k", type=whole(0, 1_000_000), default=950, metavar="K", help="top-k sampling, 0 = off (default: 950)")
    parser.add_argument("--top-p", type=number(0, 1, above=True), default=1.0, metavar="P", help="nucleus sampling, 1 = off (default)")
    parser.add_argument("--repetition-penalty", type=number(0, 100, above=True), default=1.2, metavar="R", help="default: 1.2")
    parser.add_argument("--seed", type=whole(0, 2**32 - 1), default=0, help="random seed; the same seed gives the same file")
    parser.add_argument("--batch-size", type=whole(1, 4096), default=8, metavar="B", help="sequences sampled at once")
    parser.add_argument("--reference", metavar="SEQ|FASTA", help="report identity to this sequence")
    parser.add_argument("--fold-model", metavar="NAME", help="also fold each kept sequence and report mean pLDDT")
    parser.add_argument("--include-dropped", action="store_true",
                        help="also write dropped sequences (after the kept ones, with dropped=REASON)")
    parser.add_argument("--out", required=True, metavar="FASTA", help="output FASTA ('-' for stdout)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    from protein_studio.cli.project import add_project_argument

    add_project_argument(parser)
    parser.set_defaults(handler=run)
    return parser
