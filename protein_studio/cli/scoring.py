"""``protein-studio scan`` and ``protein-studio score``: ESM variant-effect scores from the command line.

``scan INPUT --model NAME --out scan.csv`` scores every substitution at every (or every chosen) position
and writes one row per substitution (:data:`~protein_studio.core.storage.export.SCAN_COLUMNS`: the mutant and its
position in the numbering used, the 1-based sequence index, the structure's chain, residue number and
insertion code, the residues, score, model and strategy), the same table as the window's Export Scan.
``score INPUT --mutants "A42G,K45R:L46F" --model NAME --out scores.csv`` scores a list of single and
multiple mutants: one row per mutant, ``mutant,sequence_mutant,score,model,method``. Both tables start with
``#`` comment lines: version, date, input, model and the numbering.

INPUT is a FASTA file (the first record, or ``--record NAME|N``; ``--structure FILE`` aligns it to a
structure), a PDB/mmCIF/BinaryCIF file (``--chain``) or ``--sequence SEQ``. Positions are read and written
in one numbering (``--numbering``: the structure's author numbering by default when there is a structure,
else the sequence index), through the same :class:`~protein_studio.core.molecules.numbering.NumberingScheme` as the
window. ``--model`` may be given several times for an ensemble: the score is the mean
(``--standardise``: of per-model standardised scores) and each model's own column ``score_<model>`` is
kept. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from protein_studio.cli.folding import check_output
from protein_studio.core.errors import InputError, UserError
from protein_studio.core.files import printable
from protein_studio.core.provenance import table_provenance
from protein_studio.engines.methods import MULTI_METHODS, PRECISIONS, STRATEGIES
from protein_studio.cli.options import whole

__all__ = ["register", "run_scan", "run_score", "parse_positions", "read_mutants_file"]


# ------------------------------------------------------------------------------------------- input
def load_input_document(args):
    """The document INPUT (and ``--structure``) describe, in the numbering ``--numbering`` asks for.

    The same :func:`~protein_studio.core.documents.document.load_document` the window uses: a structure's chain
    (chromophores expanded into their parent residues and left out of scans), a FASTA record aligned to
    a structure, and the structure's author numbering by default. Prints which numbering it uses.
    """
    from protein_studio.core.molecules.numbering import NumberingMap
    from protein_studio.core.molecules.sequences import clean_sequence
    from protein_studio.core.documents.document import Document, load_document, scheme_for
    from protein_studio.core.molecules.structures import is_structure_path

    if args.sequence is not None and args.input is not None:
        raise UserError("give an INPUT file or --sequence, not both")
    if args.sequence is not None:
        if args.chain or args.record or args.structure:
            raise UserError("--chain, --record and --structure apply to INPUT files, not to --sequence")
        sequence, _ = clean_sequence(args.sequence, source="--sequence")
        doc = Document("sequence", sequence, sequence, NumberingMap(sequence, [None] * len(sequence), "A"))
    elif args.input is not None:
        path = Path(args.input)
        paths = [path]
        if args.structure:
            if is_structure_path(path):
                raise UserError("--structure pairs a FASTA INPUT with a structure; INPUT is already one")
            paths.append(Path(args.structure))
        elif args.chain and not is_structure_path(path):
            raise UserError("--chain applies to structure files (PDB, mmCIF); add one with --structure")
        if args.record and is_structure_path(path):
            raise UserError("--record applies to FASTA files; choose a structure's chain with --chain")
        if is_structure_path(path) and args.chain is None:
            from protein_studio.core.molecules.structures import load_structure

            structure = load_structure(path)
            if len(structure.chains) != 1:
                raise InputError(f"has protein chains {', '.join(structure.chain_ids)}: choose one with --chain",
                                 source=path.name)
            doc = load_document(paths, structure=structure)
        else:
            doc = load_document(paths, chain=args.chain, record=args.record)
        if len(doc.records) > 1 and args.record is None:
            print(printable(f"protein-studio {args.command}: note: {path.name} has {len(doc.records)} records; "
                            f"using the first, '{doc.name}' (choose with --record NAME or N)"), file=sys.stderr)
    else:
        raise UserError("give an INPUT file (FASTA, PDB, mmCIF) or --sequence SEQ")
    doc = _with_numbering(doc, args, scheme_for)
    print(printable(f"protein-studio {args.command}: numbering: {doc.scheme.description} ({doc.scheme.span})"),
          file=sys.stderr)
    chosen = getattr(args, "bfactor_column", None)
    if chosen and doc.structure is not None and doc.structure.confidence_kind is not None:
        doc = doc.with_confidence(chosen)
    elif doc.structure is not None and doc.structure.confidence_guessed:
        looks = " (it looks like a prediction's pLDDT)" if doc.structure.looks_predicted else ""
        print(printable(f"protein-studio {args.command}: note: nothing in or beside {doc.structure.name} says what "
                        f"its B-factor column holds: read as B-factors{looks}; --bfactor-column plddt says "
                        f"otherwise"), file=sys.stderr)
    for i in sorted(doc.excluded):
        print(printable(f"protein-studio {args.command}: note: {doc.residue_text(i)} is left out of the scan"),
              file=sys.stderr)
    _check_scorable(doc)
    return doc


def _with_numbering(doc, args, scheme_for):
    from dataclasses import replace

    spec = list(args.numbering or [])
    if args.offset:
        if spec:
            raise UserError("give --offset N or --numbering, not both")
        spec = ["offset", str(args.offset)]
    if not spec:
        return doc
    kind, values = spec[0], spec[1:]
    needs_value = kind in ("reference", "offset", "table")
    if needs_value != bool(values) or len(values) > 1:
        usage = f"--numbering {kind} {'FILE' if kind != 'offset' else 'N'}" if needs_value else f"--numbering {kind}"
        raise UserError(f"use {usage} (schemes: structure, sequence, reference FILE, offset N, table FILE)")
    return replace(doc, scheme=scheme_for(doc, kind, values[0] if values else None))


def _check_scorable(doc) -> None:
    from protein_studio.core.molecules.sequences import AMINO_ACIDS, SCORABLE_SPECIAL

    for i, residue in enumerate(doc.sequence):
        if i not in doc.excluded and residue not in AMINO_ACIDS and residue not in SCORABLE_SPECIAL:
            raise InputError(f"residue {doc.label(i)} is '{residue}', which ESM models cannot score; "
                             f"remove it or replace it by X", source=doc.name, position=i + 1)


def parse_positions(text: str, scheme) -> list[int]:
    """Turn ``"10-50,77"`` (labels of ``scheme``, ranges inclusive) into sorted 0-based indices.

    Raises
    ------
    InputError
        For text that is not a list of positions, or a label the numbering does not have.
    """
    try:
        return scheme.parse_positions(text)
    except InputError as exc:
        raise InputError(exc.reason, source="--positions") from None


def read_mutants_file(path: str | Path):
    """The mutants of a file and what was skipped.

    A plain list (one mutant per line, ``#`` comments) or a table (CSV/TSV) with a ``mutant`` or
    ``mutations`` column, or split wild-type/position/mutant columns, read by the same reader as
    ``evaluate`` (:func:`~protein_studio.core.assays.dms.read_dms`).

    Returns
    -------
    mutants : list of (str, int)
        Mutant texts with their line numbers.
    skipped : list of (int, str, str)
        ``(line, text, reason)`` of rows left out: stop codons, synonymous rows, empty or unreadable
        mutants in a table.
    """
    from protein_studio.core.assays.dms import read_dms
    from protein_studio.core.files import read_input_text
    from protein_studio.core.molecules.mutations import split_mutant_text

    text = read_input_text(path, "a mutants file")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip() and not line.lstrip().startswith("#")), "")
    if ("," in first or "\t" in first or ";" in first) and not _mutant_like(first):  # a table's header
        table = read_dms(path)
        found = [(str(mutant), int(line)) for mutant, line in zip(table.mutants, table.lines)]
        skipped = [(p.line, p.text, _STOP_REASON if "stop (nonsense)" in p.message else p.message)
                   for p in table.problems]
        listed = found
    else:
        from protein_studio.core.molecules.mutations import split_mutants

        listed = [(mutant, number) for number, line in enumerate(lines, start=1)
                  for mutant in split_mutants(line.split("#", 1)[0])]
        skipped = []
    mutants = []
    for mutant, line in listed:
        if "*" in mutant or "Ter" in mutant:
            skipped.append((line, mutant, _STOP_REASON))
            continue
        try:
            items = split_mutant_text(mutant)
        except InputError:
            mutants.append((mutant, line))  # reported with its line when it is read in the numbering
            continue
        if all(item.wt == item.mt for item in items):
            skipped.append((line, mutant, "synonymous (no change)"))
            continue
        mutants.append((mutant, line))
    return mutants, skipped


_STOP_REASON = "stop codon (nonsense mutations cannot be scored)"


def _mutant_like(line: str) -> bool:
    """True when a first line is mutants (a list), not a table's header."""
    from protein_studio.core.molecules.mutations import split_mutant_text, split_mutants

    mutants = split_mutants(line)
    try:
        for mutant in mutants:
            split_mutant_text(mutant)
    except InputError:
        return False
    return bool(mutants)


def read_mutants(args, doc) -> list:
    """(name in the document's numbering, MultiMutant in sequence positions) of ``--mutants`` or
    ``--mutants-file``; rows a table skips are listed and counted on stderr. InputError names the file and
    line of a mutant that does not fit the document, or says that none is left."""
    skipped: list[tuple[int | None, str, str]] = []
    if args.mutants is not None:
        from protein_studio.core.molecules.mutations import split_mutants

        texts = [(t, None) for t in split_mutants(args.mutants)]
        source = "--mutants"
    else:
        from protein_studio.core.documents.positions import check_numbering

        texts, skipped = read_mutants_file(args.mutants_file)
        source = Path(args.mutants_file).name
        check_numbering([text for text, _ in texts], doc.wild_type, doc.scheme, doc.schemes(), source=source)
    from protein_studio.cli.terminal import echo_skipped

    echo_skipped(f"protein-studio {args.command}", skipped)
    if not texts:
        raise InputError("no mutants given" + (" (every row was skipped)" if skipped else ""), source=source)
    return [_engine_mutant(text, doc, source, line) for text, line in texts]


def _engine_mutant(text: str, doc, source: str, line: int | None):
    """Read a mutant in the document's numbering into 1-based sequence positions for the engine."""
    try:
        mutant = doc.parse_mutant(text)
    except InputError as exc:
        raise InputError(exc.reason, source=source, line=line) from None
    return doc.name_mutant(mutant), mutant


# ------------------------------------------------------------------------------------------- progress
# ------------------------------------------------------------------------------------------- running
def run_models(args, job, document=None):
    """Load each ``--model`` in turn, run ``job(loaded, ctx)`` and return the results. With ``document``,
    structure-aware models get its 3Di tokens (and refuse a document without a structure before any
    model is loaded)."""
    from protein_studio.engines.scoring import check_model_for_document, model_for_document
    from protein_studio.core.job_context import JobContext
    from protein_studio.models.loader import load_model
    from protein_studio.models.catalog import get_spec

    names = list(dict.fromkeys(args.model))
    for name in names:  # unknown names, and models that cannot score this document, fail before any loading
        spec = get_spec(name)
        if spec.task != "scoring":
            raise UserError(f"{name} is a {spec.task} model; scan and score need a scoring model")
        if document is not None:
            check_model_for_document(spec, document)
    results = []
    for name in names:
        spec = get_spec(name)
        if spec.is_random:
            print(f"protein-studio {args.command}: note: {spec.display_name}", file=sys.stderr)
        loaded = load_model(name, args.device, getattr(args, "precision", "auto"))
        print(f"protein-studio {args.command}: {name} in {str(loaded.dtype).replace('torch.', '')} on "
              f"{loaded.device}", file=sys.stderr)
        if document is not None:
            loaded = model_for_document(loaded, document)
            tokens = getattr(loaded.alphabet, "structure", None)
            if tokens is not None and hasattr(tokens, "masked_why"):  # a structure-aware model says what it reads
                print(printable(f"protein-studio {args.command}: {name} reads the 3Di tokens of chain {tokens.chain}: "
                                f"{tokens.masked} of {len(tokens)} residues masked ({tokens.masked_why()})"),
                      file=sys.stderr)
        from protein_studio.cli.terminal import ProgressBar

        ctx = JobContext(on_progress=ProgressBar(f"{args.command} {name}"),
                         on_warning=lambda text: print(f"protein-studio {args.command}: warning: {text}",
                                                       file=sys.stderr))
        results.append(job(loaded, ctx))
        del loaded
    return results


def write_csv(args, rows, columns, provenance: dict) -> None:
    """Write a table to standard output (``--out -``: its provenance to standard error) or, atomically, to a
    file with its provenance beside it (``NAME.csv.json``)."""
    from protein_studio.core.tables import provenance_comment_lines, table_csv, write_table

    if args.out == "-":
        sys.stdout.write(table_csv(rows, columns))
        sys.stdout.flush()
        for line in provenance_comment_lines(provenance):
            print(printable(f"protein-studio {args.command}: {line}"), file=sys.stderr)
        return
    write_table(args.out, rows, columns, provenance)


def format_score(value: float) -> str:
    """A number for a CSV cell, 6 decimals; an empty cell when there is none (NaN): pandas, R and a
    spreadsheet read that as missing, where the text 'nan' would turn R's column into text."""
    return f"{value:.6f}" if math.isfinite(value) else ""


def run_scan(args) -> int:
    """Handler of ``protein-studio scan``."""
    from protein_studio.core.storage.export import SCAN_COLUMNS, scan_long_rows
    from protein_studio.core.molecules.sequences import AMINO_ACIDS
    from protein_studio.engines.scoring import ensemble_scans, saturation_scan

    check_output(args.out)
    doc = load_input_document(args)
    positions = parse_positions(args.positions, doc.scheme) if args.positions else doc.scannable()
    left_out = [i for i in positions if i in doc.excluded]
    positions = [i for i in positions if i not in doc.excluded]
    if not positions:
        raise InputError("no positions to scan: " + "; ".join(doc.residue_text(i) for i in left_out))
    results = run_models(args, lambda loaded, ctx: saturation_scan(
        doc.sequence, loaded, ctx, strategy=args.strategy, positions=positions, batch_size=args.batch_size),
        doc)
    result = results[0] if len(results) == 1 else ensemble_scans(results, standardise=args.standardise)
    names = list(result.per_model)
    columns = list(SCAN_COLUMNS) + [f"score_{n}" for n in names]
    rows = []
    for row in scan_long_rows(result.scores, doc.sequence, doc.scheme, result.model, result.strategy,
                              doc.numbering, positions=result.positions_done):
        i, c = int(row[2]) - 1, AMINO_ACIDS.index(row[7])
        rows.append(row + [format_score(result.per_model[n][i, c]) for n in names])
    write_csv(args, rows, columns, table_provenance(doc, result.model, f"strategy {result.strategy}",
                                                    run=dict(result.provenance)))
    if args.out != "-":
        print(printable(f"protein-studio scan: wrote {len(rows)} substitutions at {len(result.positions_done)} "
                        f"positions of {doc.name} to {args.out}"), file=sys.stderr)
    from protein_studio.cli.project import add_to_project
    from protein_studio.core.documents.scans import ScanState
    from protein_studio.core.documents.session import DocumentState

    scan = ScanState.empty(result.model, result.strategy, doc.sequence, random_weights="RANDOM" in str(
        result.provenance.get("weights", "")), excluded=doc.excluded)
    scan.update(result.positions_done, result.scores[result.positions_done])
    scan.complete = bool(scan.final.all())
    scan.provenance = dict(result.provenance)
    add_to_project(args, [DocumentState(doc, scans=[scan])], f"the scan of {doc.name}")
    return 0


def run_score(args) -> int:
    """Handler of ``protein-studio score``."""
    from protein_studio.engines.scoring import ensemble_mutant_scores, score_mutants

    check_output(args.out)
    doc = load_input_document(args)
    if args.multi == "joint" and args.strategy == "wt-marginals":
        raise UserError("--multi joint masks the mutated positions together; it cannot use --strategy wt-marginals")
    parsed = read_mutants(args, doc)
    engine_mutants = [mutant for _, mutant in parsed]
    results = run_models(args, lambda loaded, ctx: score_mutants(
        doc.wild_type, engine_mutants, loaded, ctx, multi=args.multi, strategy=args.strategy,
        batch_size=args.batch_size, orders=args.orders, order_seed=args.order_seed), doc)
    result = results[0] if len(results) == 1 else ensemble_mutant_scores(results, standardise=args.standardise)
    names = list(result.per_model)
    columns = ["mutant", "sequence_mutant", "score", "model", "method"] + [f"score_{n}" for n in names]
    rows = [[name, str(mutant), format_score(result.scores[k]), result.model, result.method]
            + [format_score(result.per_model[n][k]) for n in names] for k, (name, mutant) in enumerate(parsed)]
    how = f"method {result.method}" + ("" if result.multi == "sequence-likelihood" else f", strategy {args.strategy}")
    write_csv(args, rows, columns, table_provenance(doc, result.model, how, run=dict(result.provenance)))
    if args.out != "-":
        print(f"protein-studio score: wrote {len(rows)} mutants ({result.method}) to {args.out}", file=sys.stderr)
    from protein_studio.cli.project import add_to_project
    from protein_studio.core.documents.session import DocumentState, VariantScore

    state = DocumentState(doc)
    for (_name, mutant), score in zip(parsed, result.scores):
        if mutant not in state.variants:
            state.variants.append(mutant)
        state.set_score(str(mutant), VariantScore(float(score), result.model, result.method, dict(result.provenance)))
    add_to_project(args, [state], f"{len(state.variants)} scored variants of {doc.name}")
    return 0


# ------------------------------------------------------------------------------------------- parsers
def input_arguments(parser: argparse.ArgumentParser) -> None:
    """INPUT and the options :func:`load_input_document` reads (shared by every command on one protein)."""
    parser.add_argument("input", nargs="?", metavar="INPUT", help="FASTA, PDB, mmCIF or BinaryCIF file")
    parser.add_argument("--sequence", metavar="SEQ", help="the protein sequence itself instead of INPUT")
    parser.add_argument("--chain", metavar="ID", help="chain of a structure file (needed when it has several)")
    parser.add_argument("--structure", metavar="FILE",
                        help="a structure to align a FASTA INPUT to (its author numbering is then the default)")
    parser.add_argument("--record", metavar="NAME|N",
                        help="record of a FASTA file, by name or 1-based number (default: the first)")
    parser.add_argument("--numbering", nargs="+", metavar="SCHEME",
                        help="how positions are named in input and output: structure (default with a "
                             "structure), sequence (1-based index), reference FILE (a FASTA aligned to "
                             "this one, e.g. UniProt), offset N (index + N), table FILE (CSV of sequence "
                             "index,label)")
    parser.add_argument("--offset", type=whole(-1_000_000, 1_000_000), default=0, metavar="N",
                        help="short for --numbering offset N")
    bfactor_column_argument(parser)


def bfactor_column_argument(parser: argparse.ArgumentParser) -> None:
    """``--bfactor-column plddt|bfactor``: what a structure's B-factor column holds, when its file says nothing."""
    parser.add_argument("--bfactor-column", choices=("plddt", "bfactor"), metavar="plddt|bfactor",
                        help="what the structure's B-factor column holds when nothing in or beside the file says "
                             "(read as B-factors then): plddt masks residues below 70 for SaProt")


def _common(parser: argparse.ArgumentParser) -> None:
    input_arguments(parser)
    parser.add_argument("--model", action="append", required=True, metavar="NAME",
                        help="scoring model: ESM-2/1v/1b, ESM C, SaProt (reads the structure), ProteinMPNN "
                             "(reads the backbone) (see `protein-studio models list`); repeat for an ensemble")
    parser.add_argument("--standardise", action="store_true",
                        help="ensembles: standardise each model's scores before averaging")
    parser.add_argument("--strategy", choices=STRATEGIES, default="masked-marginals",
                        help="masked-marginals (one pass per position, default) or wt-marginals (one pass)")
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N, mps")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto (fp16 on a CUDA GPU, fp32 elsewhere), fp32, bf16 or fp16; written into the "
                             "output's header and the project")
    parser.add_argument("--batch-size", type=whole(1, 4096), default=None, metavar="N",
                        help="masked copies per forward pass (default: automatic, 1 on the CPU)")
    parser.add_argument("--out", required=True, metavar="CSV", help="output CSV file ('-' for standard output)")
    from protein_studio.cli.project import add_project_argument

    add_project_argument(parser)


def register(subparsers) -> None:
    """Add ``scan`` and ``score`` to the ``protein-studio`` command line."""
    scan = subparsers.add_parser(
        "scan", help="score every substitution of a protein with an ESM model",
        description="Saturation mutagenesis in silico: score all 19 substitutions at every position (or "
                    "--positions) and write mutant,position,wt,mt,score,model,strategy rows.")
    _common(scan)
    scan.add_argument("--positions", metavar="LIST",
                      help="positions to scan in the numbering used, e.g. 10-50,77 (default all)")
    scan.set_defaults(handler=run_scan)

    score = subparsers.add_parser(
        "score", help="score a list of single and multiple mutants with an ESM model",
        description="Score mutants such as A42G or K45R:L46F and write mutant,score,model,method rows.")
    _common(score)
    group = score.add_mutually_exclusive_group(required=True)
    group.add_argument("--mutants", metavar="LIST",
                       help="comma-separated mutants; ':' joins the mutations of one mutant (A42G,K45R:L46F)")
    group.add_argument("--mutants-file", metavar="FILE",
                       help="one mutant per line, or a CSV/TSV table with a 'mutant' or 'mutations' column "
                            "or wild-type/position/mutant columns; stop codons and synonymous rows are "
                            "skipped and counted")
    score.add_argument("--multi", choices=MULTI_METHODS, default="additive",
                       help="multiple mutants: additive (sum of single-site scores, default) or joint "
                            "(all mutated positions masked together, ESM-1v)")
    score.add_argument("--orders", type=whole(1, 100), default=1, metavar="N",
                       help="ProteinMPNN: decoding orders averaged, each shared by the wild type and every "
                            "variant (default: 1)")
    score.add_argument("--order-seed", type=whole(0, 2**31 - 1), default=0, metavar="S",
                       help="ProteinMPNN: seed of the decoding orders (default: 0)")
    score.set_defaults(handler=run_score)
