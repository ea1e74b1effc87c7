"""The file name endings Protein Studio reads, in one place (no heavy imports: the command line's help
texts use them before any parser is loaded)."""

from __future__ import annotations

__all__ = ["STRUCTURE_SUFFIXES", "FASTA_SUFFIXES"]

#: Structure file endings (each may also end in ``.gz``) and their format.
STRUCTURE_SUFFIXES: dict[str, str] = {
    ".pdb": "pdb",
    ".ent": "pdb",
    ".cif": "cif",
    ".mmcif": "cif",
    ".bcif": "bcif",
}

#: Sequence file endings read as FASTA.
FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".fsa", ".mpfa", ".fna", ".seq", ".txt")
