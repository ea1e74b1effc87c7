"""Coding DNA for a protein: read and check the gene, back-translate for a host, choose mutant codons.

* :func:`read_coding_sequence` reads a gene from FASTA or GenBank (Biopython), checks that it is DNA
  (A, C, G, T only; an ambiguous base is reported with its position), in frame (a multiple of three, an
  optional stop codon at the end only) and that it translates to the document's protein (the first
  mismatch is reported by codon and residue).
* :func:`codon_usage` gives a host's codon frequencies from ``python-codon-tables`` (E. coli, S. cerevisiae,
  H. sapiens bundled; another host from a table file in that package's CSV layout, e.g. Pichia).
* :func:`back_translate` writes the host's most used codon for every residue, never one used less than
  ``min_frequency``.
* :func:`choose_codon` picks the codon of a substitution: fewest base changes from the wild-type codon, ties
  broken by the host's usage; never a stop codon; with the changed bases.

The standard genetic code (NCBI table 11, bacterial, the same sense codons as table 1) is Biopython's.
No Qt, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from protein_studio.core.errors import InputError, UserError

__all__ = ["HOSTS", "CodingSequence", "read_coding_sequence", "check_coding_sequence", "codon_usage", "check_codon_table",
           "back_translate", "choose_codon", "CodonChoice", "translate", "genetic_code"]

#: host name -> python-codon-tables table name (None: not bundled; give a table file)
HOSTS = {"ecoli": "e_coli_316407", "yeast": "s_cerevisiae_4932", "human": "h_sapiens_9606", "pichia": None}
_DNA = frozenset("ACGT")


def _code():
    from Bio.Data import CodonTable

    return CodonTable.unambiguous_dna_by_id[11]


@lru_cache(maxsize=1)
def genetic_code() -> dict[str, str]:
    """codon -> amino acid for the 61 sense codons."""
    return dict(_code().forward_table)


def translate(dna: str) -> str:
    """The protein of an in-frame DNA sequence (``*`` for stop codons)."""
    from Bio.Seq import Seq

    return str(Seq(dna).translate(table=11))


@dataclass(frozen=True)
class CodingSequence:
    """A checked gene: ``dna`` without its stop codon, ``stop`` the stop codon it had (or "")."""

    name: str
    dna: str
    stop: str
    source: str

    def codon(self, index: int) -> str:
        """The codon of residue ``index`` (0-based)."""
        return self.dna[3 * index:3 * index + 3]


def read_coding_sequence(path: str | Path, protein: str | None = None) -> CodingSequence:
    """Read a gene from a FASTA or GenBank file (a GenBank record's CDS feature when it has one) and check
    it with :func:`check_coding_sequence` against ``protein`` when given.

    Raises
    ------
    InputError
        Unreadable file, no sequence, not DNA, out of frame, or not the protein (file, position, codon).
    """
    from protein_studio.core.files import read_input_text

    path = Path(path)
    text = read_input_text(path, "a DNA file (FASTA or GenBank)")
    name, dna = _parse_dna(text, path)
    return check_coding_sequence(dna, protein, name=name, source=path.name)


def _parse_dna(text: str, path: Path) -> tuple[str, str]:
    import io

    from Bio import SeqIO

    kind = "genbank" if text.lstrip().startswith("LOCUS") else "fasta"
    try:
        records = list(SeqIO.parse(io.StringIO(text), kind))
    except (ValueError, IndexError) as exc:
        raise InputError(f"not a readable {kind.upper()} file ({exc})", source=path.name) from None
    if not records:
        raise InputError("no sequence found (expected FASTA or GenBank)", source=path.name)
    record = records[0]
    try:
        if kind == "genbank":
            cds = [f for f in record.features if f.type == "CDS"]
            if cds:
                return record.id, str(cds[0].extract(record.seq))
        return record.id, str(record.seq)
    except ValueError as exc:  # Bio's UndefinedSequenceError: a record without its bases (no ORIGIN)
        raise InputError(f"record {record.id!r} holds no DNA sequence (a GenBank file needs its ORIGIN section; "
                         f"{exc})", source=path.name) from None


def check_coding_sequence(dna: str, protein: str | None, *, name: str = "gene",
                          source: str = "DNA") -> CodingSequence:
    """``dna`` as a :class:`CodingSequence` after checking it; see :func:`read_coding_sequence`."""
    dna = "".join(dna.split()).upper().replace("U", "T")
    if not dna:
        raise InputError("the DNA sequence is empty", source=source)
    for i, base in enumerate(dna):
        if base not in _DNA:
            kind = "an ambiguous base" if base in "NRYKMSWBDHV" else "not a DNA base"
            raise InputError(f"base {i + 1} is '{base}', {kind}: the gene must be written in A, C, G and T",
                             source=source, position=i + 1)
    if len(dna) % 3:
        raise InputError(f"{len(dna)} bases is not a whole number of codons ({len(dna) % 3} extra): a frame "
                         f"shift, or not a coding sequence", source=source)
    protein_of_dna = translate(dna)
    stop = ""
    if protein_of_dna.endswith("*"):
        stop, dna, protein_of_dna = dna[-3:], dna[:-3], protein_of_dna[:-1]
    inner = protein_of_dna.find("*")
    if inner >= 0:
        raise InputError(f"codon {inner + 1} ({dna[3 * inner:3 * inner + 3]}) is a stop codon inside the gene",
                         source=source, position=3 * inner + 1)
    if protein is not None:
        for i, (made, expected) in enumerate(zip(protein_of_dna, protein)):
            if made != expected:
                raise InputError(f"codon {i + 1} ({dna[3 * i:3 * i + 3]}, bases {3 * i + 1}-{3 * i + 3}) codes "
                                 f"for {made}, but residue {i + 1} of the protein is {expected}", source=source,
                                 position=3 * i + 1)
        if len(protein_of_dna) != len(protein):
            raise InputError(f"the gene codes for {len(protein_of_dna)} residues, the protein has {len(protein)}",
                             source=source)
    return CodingSequence(name, dna, stop, source)


def codon_usage(host: str, table_file: str | Path | None = None) -> dict[str, dict[str, float]]:
    """amino acid (``*`` for stop) -> {codon: frequency} of ``host`` (see :data:`HOSTS`), or of a table
    file in python-codon-tables' CSV layout (``amino_acid,codon,relative_frequency``)."""
    import python_codon_tables

    if table_file is not None:
        from protein_studio.core.files import read_input_text

        text = read_input_text(table_file, "a codon usage table (CSV)")
        try:
            table = python_codon_tables.csv_string_to_codons_dict(text)
        except Exception as exc:  # noqa: BLE001 - a user's table file
            raise InputError(f"not a codon usage table: columns amino_acid,codon,relative_frequency expected "
                             f"({exc})", source=str(table_file)) from None
        if "*" not in table or len(table) < 21:
            raise InputError(f"the codon usage table covers {len(table)} of the 21 amino acids and stop",
                             source=str(table_file))
        check_codon_table(table, str(table_file))
        return table
    if host not in HOSTS:
        raise UserError(f"unknown host {host!r}; choose {', '.join(HOSTS)}")
    name = HOSTS[host]
    if name is None:
        raise UserError(f"python-codon-tables has no {host} table offline; give one with --codon-table FILE "
                        f"(columns amino_acid,codon,relative_frequency, e.g. from the Kazusa codon usage "
                        f"database for Komagataella phaffii, taxonomy id 4922)")
    return python_codon_tables.get_codons_table(name)


def check_codon_table(table: dict[str, dict[str, float]], source: str) -> None:
    """Refuse a codon usage table whose codons do not code for the amino acid they are listed under (the
    standard genetic code), or whose frequencies are not numbers from 0 to 1: a design from it would not
    translate to the protein."""
    import math

    from Bio.Data.CodonTable import standard_dna_table

    code = dict(standard_dna_table.forward_table)
    code.update({stop: "*" for stop in standard_dna_table.stop_codons})
    for amino_acid, codons in table.items():
        for codon, frequency in codons.items():
            dna = str(codon).upper().replace("U", "T")
            if code.get(dna) != amino_acid:
                meaning = code.get(dna)
                raise InputError(f"the codon {codon} is listed for {amino_acid!r} but codes for "
                                 f"{meaning!r}" if meaning else f"{codon!r} listed for {amino_acid!r} is not a codon",
                                 source=source)
            if not isinstance(frequency, (int, float)) or not math.isfinite(frequency) or not 0 <= frequency <= 1:
                raise InputError(f"the frequency of {codon} ({frequency!r}) is not a number from 0 to 1",
                                 source=source)


def back_translate(protein: str, usage: dict[str, dict[str, float]], min_frequency: float = 0.1,
                   name: str = "back-translated", host: str = "") -> CodingSequence:
    """A gene for ``protein``: each residue's most used codon in ``usage`` (none rarer than
    ``min_frequency``), ending in the host's most used stop codon; ``host`` names it in the gene's source."""
    best = {}
    for amino_acid in set(protein):
        codons = usage.get(amino_acid)
        if not codons:
            raise InputError(f"the codon table has no codon for '{amino_acid}'", source="sequence")
        codon, frequency = max(codons.items(), key=lambda item: (item[1], item[0]))
        if frequency < min_frequency:
            raise UserError(f"every codon of {amino_acid} is rarer than {min_frequency:g} in this host")
        best[amino_acid] = codon.upper().replace("U", "T")
    stop = max(usage["*"].items(), key=lambda item: (item[1], item[0]))[0].upper().replace("U", "T")
    source = f"back-translated with the most used {host} codons" if host else "back-translation"
    return CodingSequence(name, "".join(best[a] for a in protein), stop, source)


@dataclass(frozen=True)
class CodonChoice:
    """The codon chosen for a substitution and the bases (0-based, within the codon) it changes."""

    wild_type: str
    codon: str
    changed: tuple[int, ...]
    frequency: float

    def describe(self) -> str:
        return f"{self.wild_type}->{self.codon} ({len(self.changed)} base{'s' if len(self.changed) != 1 else ''})"


def choose_codon(wild_type_codon: str, amino_acid: str, usage: dict[str, dict[str, float]] | None = None,
                 min_frequency: float = 0.0) -> CodonChoice:
    """The codon for ``amino_acid`` with the fewest changes from ``wild_type_codon``; ties go to the host's
    most used codon (``usage``), then alphabetical order. Never a stop codon, never one rarer than
    ``min_frequency`` when the amino acid has another."""
    wild_type_codon = wild_type_codon.upper()
    options = [codon for codon, aa in genetic_code().items() if aa == amino_acid]
    if not options:
        raise UserError(f"'{amino_acid}' is not an amino acid with codons")
    frequency = (usage or {}).get(amino_acid, {})
    common = [c for c in options if frequency.get(c, 1.0) >= min_frequency] or options

    def cost(codon: str):
        changes = sum(a != b for a, b in zip(codon, wild_type_codon))
        return changes, -frequency.get(codon, 0.0), codon

    codon = min(common, key=cost)
    changed = tuple(i for i, (a, b) in enumerate(zip(codon, wild_type_codon)) if a != b)
    return CodonChoice(wild_type_codon, codon, changed, frequency.get(codon, float("nan")))
