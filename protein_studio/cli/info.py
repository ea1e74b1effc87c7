"""``protein-studio info``: what is in a FASTA, PDB, mmCIF or BinaryCIF file.

FASTA: each record's name, length, sequence and validation problems. Structures: each protein chain of
the model used with its length, first and last residue number, gaps in the numbering, insertion codes,
non-standard residues and one-letter sequence. ``--json`` prints the same as a list of objects (keys
``chain`` or ``name``, ``length``, ``sequence``, ``first_residue``, ``last_residue``, ``problems``; structures
also ``residues``, the residue label of every sequence position, ``gaps``, ``insertion_codes``,
``nonstandard``, ``model`` and ``n_models``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from protein_studio.core.errors import InputError
from protein_studio.core.formats import FASTA_SUFFIXES, STRUCTURE_SUFFIXES
from protein_studio.cli.options import whole

__all__ = ["FASTA_SUFFIXES", "register", "run", "describe_file", "chain_record", "fasta_record",
           "format_records"]

#: File name endings read as FASTA.

_LINE_WIDTH = 60
_BLOCK = 10


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``info`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "info", help="show the sequences and chains in FASTA, PDB, mmCIF or BinaryCIF files",
        description="Show each FASTA record (name, length, sequence, problems) or each protein chain of a "
                    "structure (length, first/last residue, gaps, insertion codes, non-standard residues, "
                    "sequence).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help=f"FASTA ({', '.join(FASTA_SUFFIXES)}) or structure "
                             f"({', '.join(STRUCTURE_SUFFIXES)}, optionally .gz)")
    parser.add_argument("--chain", metavar="ID", help="only this chain (structures)")
    parser.add_argument("--model", type=whole(1, 1_000_000), default=1, metavar="N",
                        help="model of a multi-model (NMR) structure to read (default: 1)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of records")
    parser.set_defaults(handler=run)
    return parser


def _is_fasta(path: Path) -> bool:
    return path.suffix.lower() in FASTA_SUFFIXES


def chain_record(structure, chain) -> dict:
    """One JSON-ready record describing a protein chain."""
    return {
        "file": str(structure.path) if structure.path else structure.name,
        "type": "structure",
        "model": structure.model,
        "n_models": structure.n_models,
        "chain": chain.chain_id,
        "length": len(chain),
        "sequence": chain.sequence,
        "first_residue": chain.first_residue,
        "last_residue": chain.last_residue,
        "residues": [residue.label for residue in chain.residues],
        "gaps": [{"after": str(gap.before), "before": str(gap.after), "missing": gap.missing}
                 for gap in chain.gaps],
        "insertion_codes": [str(residue) for residue in chain.insertion_codes],
        "nonstandard": [{"residue": str(item.residue), "name": item.name, "code": item.code}
                        for item in chain.nonstandard],
        "problems": chain.problems,
        "bfactor_column": structure.confidence_kind,
        "bfactor_column_why": structure.confidence_evidence,
    }


def fasta_record(path: Path, record) -> dict:
    """One JSON-ready record describing a FASTA entry (a ``ProteinSequence``)."""
    return {
        "file": str(path),
        "type": "sequence",
        "name": record.name,
        "description": record.description,
        "length": len(record),
        "sequence": record.sequence,
        "first_residue": record.first_residue,
        "last_residue": record.last_residue,
        "problems": [problem.message for problem in record.problems],
    }


def describe_file(path: Path, chain: str | None = None, model: int = 1) -> list[dict]:
    """The records ``info`` shows for one file.

    Raises
    ------
    InputError
        Missing, unreadable or invalid file, unknown extension, or no such chain.
    """
    path = Path(path)
    if _is_fasta(path):
        if chain is not None:
            raise InputError("--chain applies to structure files, not FASTA", source=str(path))
        from protein_studio.core.molecules.sequences import read_fasta

        return [fasta_record(path, record) for record in read_fasta(path)]
    from protein_studio.core.molecules.structures import load_structure, structure_format

    if structure_format(path) is None:
        raise InputError(f"unknown file type '{''.join(path.suffixes) or path.name}' (FASTA: "
                         f"{', '.join(FASTA_SUFFIXES)}; structures: {', '.join(STRUCTURE_SUFFIXES)})",
                         source=str(path))
    structure = load_structure(path, model=model)
    chains = [structure.chain(chain)] if chain is not None else structure.chains
    return [chain_record(structure, item) for item in chains]


def _sequence_lines(sequence: str, labels: list[str], indent: str) -> list[str]:
    width = max((len(label) for label in labels), default=1)
    lines = []
    for start in range(0, len(sequence), _LINE_WIDTH):
        chunk = sequence[start:start + _LINE_WIDTH]
        blocks = " ".join(chunk[i:i + _BLOCK] for i in range(0, len(chunk), _BLOCK))
        lines.append(f"{indent}{labels[start]:>{width}}  {blocks}")
    return lines


def _field(indent: str, name: str, value: str) -> str:
    return f"{indent}{name + ':':<17}{value}"


def format_records(records: list[dict]) -> str:
    """Human-readable text for the records of :func:`describe_file` (one block per file)."""
    out: list[str] = []
    by_file: dict[str, list[dict]] = {}
    for record in records:
        by_file.setdefault(record["file"], []).append(record)
    for file, items in by_file.items():
        if out:
            out.append("")
        if items[0]["type"] == "structure":
            first = items[0]
            n = len(items)
            out.append(f"{file}: {n} protein chain{'s' if n != 1 else ''} "
                       f"(model {first['model']} of {first['n_models']})")
            for item in items:
                out.append(f"  chain {item['chain']}: {item['length']} residues, "
                           f"{item['first_residue']} to {item['last_residue']}")
                gaps = ", ".join(f"{g['after']} / {g['before']} ({g['missing']} missing)"
                                 for g in item["gaps"])
                out.append(_field("    ", "gaps", gaps or "none"))
                out.append(_field("    ", "insertion codes", ", ".join(item["insertion_codes"]) or "none"))
                nonstandard = ", ".join(f"{x['name']} at {x['residue']} as {x['code']}"
                                        for x in item["nonstandard"])
                out.append(_field("    ", "non-standard", nonstandard or "none"))
                column = {"plddt": "pLDDT", "bfactor": "B-factors", None: "empty"}[item["bfactor_column"]]
                why = f" ({item['bfactor_column_why']})" if item["bfactor_column_why"] else ""
                out.append(_field("    ", "B-factor column", column + why))
                out.append("    sequence:")
                out.extend(_sequence_lines(item["sequence"], item["residues"], "      "))
        else:
            n = len(items)
            out.append(f"{file}: {n} sequence{'s' if n != 1 else ''}")
            for item in items:
                title = f"  {item['name'] or '(no name)'}"
                if item["description"]:
                    title += f"  {item['description']}"
                out.append(title)
                out.append(_field("    ", "length", f"{item['length']} residues, "
                                                      f"{item['first_residue']} to {item['last_residue']}"))
                out.append(_field("    ", "problems", "; ".join(item["problems"]) or "none"))
                out.append("    sequence:")
                labels = [str(item["first_residue"] + i) for i in range(item["length"])]
                out.extend(_sequence_lines(item["sequence"], labels, "      "))
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Handler of ``protein-studio info``."""
    records = [record for path in args.files
               for record in describe_file(path, chain=args.chain, model=args.model)]
    if args.json:
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from protein_studio.core.files import printable

        print(printable(format_records(records)))
    return 0
