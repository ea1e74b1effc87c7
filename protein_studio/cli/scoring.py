"""``protein-studio scan`` and ``protein-studio score``: ESM variant-effect scores from the command line.

``scan INPUT --model NAME --out scan.csv`` scores every substitution at every (or every chosen) position
and writes one row per substitution: ``mutant,position,wt,mt,score,model,strategy``.
``score INPUT --mutants "A42G,K45R:L46F" --model NAME --out scores.csv`` scores a list of single and
multiple mutants: one row per mutant, ``mutant,score,model,method``.

INPUT is a FASTA file (the first record, or ``--record NAME``), a PDB/mmCIF file (``--chain``; positions
are the structure's residue numbers) or ``--sequence SEQ``; ``--offset N`` numbers residue ``i`` of a
sequence as ``i + N``. ``--model`` may be given several times for an ensemble: the score is the mean
(``--standardise``: of per-model standardised scores) and each model's own column ``score_<model>`` is
kept. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from protein_studio.cli.folding import check_output
from protein_studio.core.errors import InputError, UserError
from protein_studio.engines.scoring import MULTI_METHODS, STRATEGIES

__all__ = ["register", "run_scan", "run_score", "ProgressBar", "parse_positions", "read_mutants_file"]


# ------------------------------------------------------------------------------------------- input
@dataclass
class _Protein:
    """The sequence to score and the label (residue number) of each position."""

    name: str
    sequence: str
    labels: list[str]
    where: str  # e.g. "chain A of 1btl.pdb" or "sequence"
    index: dict[str, int] = field(init=False)

    def __post_init__(self):
        self.index = {label: i for i, label in enumerate(self.labels)}

    @property
    def span(self) -> str:
        return f"residues {self.labels[0]}-{self.labels[-1]}"


def _numbered(name: str, sequence: str, first: int, where: str) -> _Protein:
    return _Protein(name, sequence, [str(first + i) for i in range(len(sequence))], where)


def _load_protein(args) -> _Protein:
    from protein_studio.core.sequences import clean_sequence, read_fasta
    from protein_studio.core.structures import is_structure_path, load_structure

    if args.sequence is not None and args.input is not None:
        raise UserError("give an INPUT file or --sequence, not both")
    if args.sequence is not None:
        if args.chain or args.record:
            raise UserError("--chain and --record apply to INPUT files, not to --sequence")
        sequence, _ = clean_sequence(args.sequence, source="--sequence")
        protein = _numbered("sequence", sequence, 1 + args.offset, "--sequence")
    elif args.input is not None:
        path = Path(args.input)
        if not path.is_file():
            raise InputError("no such file", source=str(path))
        if is_structure_path(path):
            if args.offset:
                raise UserError("--offset applies to sequences; positions in a structure are its residue numbers")
            if args.record:
                raise UserError("--record applies to FASTA files; choose a structure's chain with --chain")
            structure = load_structure(path)
            if args.chain is None:
                if len(structure.chains) != 1:
                    raise InputError(f"has protein chains {', '.join(structure.chain_ids)}: choose one with "
                                     f"--chain", source=path.name)
                chain = structure.chains[0]
            else:
                chain = structure.chain(args.chain)
            labels = [f"{r.number}{r.insertion}" for r in chain.residues]
            protein = _Protein(f"{structure.name}_{chain.chain_id}", chain.sequence, labels,
                               f"chain {chain.chain_id} of {path.name}")
        else:
            if args.chain:
                raise UserError("--chain applies to structure files (PDB, mmCIF)")
            records = read_fasta(path)
            if not records:
                raise InputError("no sequences in this FASTA file", source=path.name)
            if args.record:
                chosen = [r for r in records if r.name == args.record]
                if not chosen:
                    raise InputError(f"no record named '{args.record}' (records: "
                                     f"{', '.join(r.name for r in records[:10])})", source=path.name)
                record = chosen[0]
            else:
                record = records[0]
                if len(records) > 1:
                    print(f"protein-studio {args.command}: note: {path.name} has {len(records)} records; "
                          f"using the first, '{record.name}' (choose with --record)", file=sys.stderr)
            protein = _numbered(record.name, record.sequence, record.first_residue + args.offset,
                                f"'{record.name}' in {path.name}")
    else:
        raise UserError("give an INPUT file (FASTA, PDB, mmCIF) or --sequence SEQ")
    _check_scorable(protein)
    return protein


def _check_scorable(protein: _Protein) -> None:
    from protein_studio.core.sequences import AMINO_ACIDS, SCORABLE_SPECIAL

    for i, residue in enumerate(protein.sequence):
        if residue not in AMINO_ACIDS and residue not in SCORABLE_SPECIAL:
            raise InputError(f"residue {protein.labels[i]} is '{residue}', which ESM models cannot score; "
                             f"remove it or replace it by X", source=protein.where, position=i + 1)


_POSITION = r"-?\d+[A-Za-z]?"
_RANGE = re.compile(rf"({_POSITION})(?:\s*-\s*({_POSITION}))?")


def parse_positions(text: str, labels: list[str]) -> list[int]:
    """Turn ``"10-50,77"`` into 0-based indices of the positions labelled so (ranges inclusive).

    Parameters
    ----------
    text : str
        Comma-separated residue numbers and ranges (``a-b``), in the numbering of ``labels``.
    labels : list of str
        Label of every position, e.g. ``["1", "2", ...]`` or structure numbers such as ``"42A"``.

    Returns
    -------
    list of int
        Sorted indices without repeats.

    Raises
    ------
    InputError
        For text that is not a list of positions, or a position not in ``labels``.
    """
    index = {label.upper(): i for i, label in enumerate(labels)}

    def lookup(label: str) -> int:
        i = index.get(label.upper())
        if i is None:
            raise InputError(f"position {label} is not in the sequence (residues {labels[0]}-{labels[-1]})",
                             source="--positions")
        return i

    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        match = _RANGE.fullmatch(part)
        if not match:
            raise InputError(f"cannot read '{part}': expected residue numbers and ranges such as 10-50,77",
                             source="--positions")
        first = lookup(match.group(1))
        last = lookup(match.group(2)) if match.group(2) else first
        if last < first:
            raise InputError(f"range {part} runs backwards", source="--positions")
        chosen.update(range(first, last + 1))
    if not chosen:
        raise InputError("no positions given", source="--positions")
    return sorted(chosen)


def read_mutants_file(path: str | Path) -> list[tuple[str, int]]:
    """Mutant texts with their line numbers from a file: one mutant per line (``A42G`` or
    ``A42G:K45R``; ``#`` starts a comment), or a CSV table with a ``mutant`` column (ProteinGym)."""
    from protein_studio.core.files import read_input_text

    text = read_input_text(path, "a mutants file")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    header = [cell.strip().lower() for cell in next(csv.reader([first]))] if first else []
    if "mutant" in header and ("," in first or "\t" in first):
        dialect = "excel-tab" if "\t" in first and "," not in first else "excel"
        column = header.index("mutant")
        start = lines.index(first)
        found = []
        for number, row in enumerate(csv.reader(lines[start + 1:], dialect=dialect), start=start + 2):
            if row and len(row) > column and row[column].strip():
                found.append((row[column].strip(), number))
        return found
    return [(line.split("#", 1)[0].strip(), number) for number, line in enumerate(lines, start=1)
            if line.split("#", 1)[0].strip()]


def _engine_mutant(text: str, protein: _Protein, source: str, line: int | None):
    """Parse a mutant in the protein's numbering and renumber it 1..L for the engine."""
    from protein_studio.core.mutations import MultiMutant, Mutation, parse_mutant

    try:
        mutant = parse_mutant(text)
        renumbered = []
        for m in mutant.mutations:
            i = protein.index.get(str(m.position))
            if i is None:
                raise InputError(f"mutant {mutant}: position {m.position} is not in {protein.where} "
                                 f"({protein.span})")
            if protein.sequence[i] != m.wt:
                raise InputError(f"mutant {mutant}: position {m.position} is {protein.sequence[i]}, not {m.wt}")
            renumbered.append(Mutation(i + 1, m.wt, m.mt))
    except InputError as exc:
        raise InputError(exc.reason, source=source, line=line) from None
    return str(mutant), MultiMutant(tuple(renumbered))


# ------------------------------------------------------------------------------------------- progress
class ProgressBar:
    """A text progress bar on a stream: redrawn in place with ``\\r`` on a terminal, otherwise only a
    final line. Use as the ``on_progress`` callback of a :class:`~protein_studio.jobs.context.JobContext`.
    """

    def __init__(self, label: str, stream=None, width: int = 30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self._drawn = 0.0
        self.finished = False

    def __call__(self, done: float, total: float, text: str = "") -> None:
        if total <= 0 or self.finished:
            return
        now = time.monotonic()
        elapsed = now - self.started
        complete = done >= total
        if self.tty and (complete or now - self._drawn >= 0.1):
            filled = int(self.width * min(done / total, 1.0))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {done:.0f}/{total:.0f} passes, {elapsed:.0f}s")
            self.stream.flush()
            self._drawn = now
        if complete:
            self.finished = True
            if self.tty:
                self.stream.write("\n")
            else:
                self.stream.write(f"{self.label}: {done:.0f}/{total:.0f} passes in {elapsed:.1f}s\n")
            self.stream.flush()


# ------------------------------------------------------------------------------------------- running
def _run_models(args, job):
    """Load each ``--model`` in turn, run ``job(loaded, ctx)`` and return the results."""
    from protein_studio.jobs.context import JobContext
    from protein_studio.models.esm_loading import load_esm
    from protein_studio.models.registry import get_spec

    names = list(dict.fromkeys(args.model))
    for name in names:  # unknown names fail before anything is loaded
        spec = get_spec(name)
        if spec.task != "scoring":
            raise UserError(f"{name} is a {spec.task} model; scan and score need an ESM scoring model")
    results = []
    for name in names:
        spec = get_spec(name)
        if spec.is_random:
            print(f"protein-studio {args.command}: note: {spec.display_name}", file=sys.stderr)
        loaded = load_esm(name, args.device)
        ctx = JobContext(on_progress=ProgressBar(f"{args.command} {name}"),
                         on_warning=lambda text: print(f"protein-studio {args.command}: warning: {text}",
                                                       file=sys.stderr))
        results.append(job(loaded, ctx))
        del loaded
    return results


def _write_csv(out: str, header: list[str], rows) -> int:
    stream = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
    try:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    finally:
        if stream is not sys.stdout:
            stream.close()
    return count


def _fmt(value: float) -> str:
    return f"{value:.6f}"


def run_scan(args) -> int:
    """Handler of ``protein-studio scan``."""
    from protein_studio.core.sequences import AMINO_ACIDS
    from protein_studio.engines.scoring import ensemble_scans, saturation_scan

    check_output(args.out)
    protein = _load_protein(args)
    positions = parse_positions(args.positions, protein.labels) if args.positions else None
    results = _run_models(args, lambda loaded, ctx: saturation_scan(
        protein.sequence, loaded, ctx, strategy=args.strategy, positions=positions, batch_size=args.batch_size))
    result = results[0] if len(results) == 1 else ensemble_scans(results, standardise=args.standardise)
    names = list(result.per_model)
    header = ["mutant", "position", "wt", "mt", "score", "model", "strategy"] + [f"score_{n}" for n in names]

    def rows():
        for mutant, label, wt, mt, score in result.rows(labels=protein.labels):
            i, c = protein.index[label], AMINO_ACIDS.index(mt)
            yield [mutant, label, wt, mt, _fmt(score), result.model, result.strategy] + [
                _fmt(result.per_model[n][i, c]) for n in names]

    count = _write_csv(args.out, header, rows())
    if args.out != "-":
        print(f"protein-studio scan: wrote {count} substitutions at {len(result.positions_done)} positions of "
              f"{protein.where} to {args.out}", file=sys.stderr)
    return 0


def run_score(args) -> int:
    """Handler of ``protein-studio score``."""
    from protein_studio.engines.scoring import ensemble_mutant_scores, score_mutants

    check_output(args.out)
    protein = _load_protein(args)
    if args.mutants is not None:
        texts = [(t, None) for t in re.split(r"[,\s]+", args.mutants.strip()) if t]
        source = "--mutants"
    else:
        texts = read_mutants_file(args.mutants_file)
        source = Path(args.mutants_file).name
    if not texts:
        raise InputError("no mutants given", source=source)
    if args.multi == "joint" and args.strategy == "wt-marginals":
        raise UserError("--multi joint masks the mutated positions together; it cannot use --strategy wt-marginals")
    parsed = [_engine_mutant(text, protein, source, line) for text, line in texts]
    engine_mutants = [mutant for _, mutant in parsed]
    results = _run_models(args, lambda loaded, ctx: score_mutants(
        protein.sequence, engine_mutants, loaded, ctx, multi=args.multi, strategy=args.strategy,
        batch_size=args.batch_size))
    result = results[0] if len(results) == 1 else ensemble_mutant_scores(results, standardise=args.standardise)
    names = list(result.per_model)
    header = ["mutant", "score", "model", "method"] + [f"score_{n}" for n in names]
    rows = ([name, _fmt(result.scores[k]), result.model, result.method]
            + [_fmt(result.per_model[n][k]) for n in names] for k, (name, _) in enumerate(parsed))
    count = _write_csv(args.out, header, rows)
    if args.out != "-":
        print(f"protein-studio score: wrote {count} mutants ({result.method}) to {args.out}", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------------------- parsers
def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", metavar="INPUT", help="FASTA, PDB or mmCIF file")
    parser.add_argument("--sequence", metavar="SEQ", help="the protein sequence itself instead of INPUT")
    parser.add_argument("--chain", metavar="ID", help="chain of a structure file (needed when it has several)")
    parser.add_argument("--record", metavar="NAME", help="record of a FASTA file (default: the first)")
    parser.add_argument("--offset", type=int, default=0, metavar="N",
                        help="number residue i (1-based) of a sequence as i+N (default 0)")
    parser.add_argument("--model", action="append", required=True, metavar="NAME",
                        help="ESM scoring model (see `protein-studio models list`); repeat for an ensemble")
    parser.add_argument("--standardise", action="store_true",
                        help="ensembles: standardise each model's scores before averaging")
    parser.add_argument("--strategy", choices=STRATEGIES, default="masked-marginals",
                        help="masked-marginals (one pass per position, default) or wt-marginals (one pass)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--batch-size", type=int, default=None, metavar="N",
                        help="masked copies per forward pass (default: automatic, 1 on the CPU)")
    parser.add_argument("--out", required=True, metavar="CSV", help="output CSV file ('-' for standard output)")


def register(subparsers) -> None:
    """Add ``scan`` and ``score`` to the ``protein-studio`` command line."""
    scan = subparsers.add_parser(
        "scan", help="score every substitution of a protein with an ESM model",
        description="Saturation mutagenesis in silico: score all 19 substitutions at every position (or "
                    "--positions) and write mutant,position,wt,mt,score,model,strategy rows.")
    _common(scan)
    scan.add_argument("--positions", metavar="LIST", help="residue numbers to scan, e.g. 10-50,77 (default all)")
    scan.set_defaults(handler=run_scan)

    score = subparsers.add_parser(
        "score", help="score a list of single and multiple mutants with an ESM model",
        description="Score mutants such as A42G or K45R:L46F and write mutant,score,model,method rows.")
    _common(score)
    group = score.add_mutually_exclusive_group(required=True)
    group.add_argument("--mutants", metavar="LIST",
                       help="comma-separated mutants; ':' joins the mutations of one mutant (A42G,K45R:L46F)")
    group.add_argument("--mutants-file", metavar="FILE",
                       help="one mutant per line, or a CSV table with a 'mutant' column")
    score.add_argument("--multi", choices=MULTI_METHODS, default="additive",
                       help="multiple mutants: additive (sum of single-site scores, default) or joint "
                            "(all mutated positions masked together, ESM-1v)")
    score.set_defaults(handler=run_score)
