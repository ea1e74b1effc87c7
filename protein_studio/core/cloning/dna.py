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

__all__ = ["HOSTS", "CodingSequence", "CdsFeature", "cds_features", "genbank_cds", "read_coding_sequence", "check_coding_sequence", "codon_usage", "check_codon_table",
           "back_translate", "choose_codon", "CodonChoice", "translate", "genetic_code"]

#: host name -> python-codon-tables table name, or the bundled counts file (resources/codon_tables) of a host
#: python-codon-tables lacks
HOSTS = {"ecoli": "e_coli_316407", "yeast": "s_cerevisiae_4932", "human": "h_sapiens_9606",
         "pichia": "codon_tables/pichia_pastoris_counts.json"}
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
    """A checked gene: ``dna`` without its stop codon, ``stop`` the stop codon it had (or ""); for a gene read
    from a GenBank feature, ``feature`` names it and ``location`` gives its place in the record (GenBank style,
    e.g. ``complement(3293..4153)``)."""

    name: str
    dna: str
    stop: str
    source: str
    feature: str = ""
    location: str = ""
    #: the plasmid's bases before the gene and after its stop codon, in the gene's direction (primers near the
    #: gene's ends reach into them); empty for a gene read alone
    upstream: str = ""
    downstream: str = ""
    #: the whole plasmid record the gene was read from (its bases, name, topology) and where the gene sits in
    #: it (0-based start and end of the CDS, stop included; strand 1 or -1): variant plasmids are written from it
    plasmid: str = ""
    plasmid_name: str = ""
    topology: str = ""
    span: tuple = ()

    def to_dict(self) -> dict:
        """Plain data for a project (see :meth:`from_dict`)."""
        import dataclasses

        data = dataclasses.asdict(self)
        data["span"] = list(self.span)
        return data

    @classmethod
    def from_dict(cls, data, protein: str | None, source: str = "the project") -> "CodingSequence":
        """A gene kept in a project, checked again as any gene read from a file (a project is untrusted input):
        A/C/G/T, in frame, the protein; a plasmid context that does not hold the gene where it says is dropped.

        Raises
        ------
        InputError
            Not a gene record, or not a gene of ``protein``.
        """
        if not isinstance(data, dict) or not isinstance(data.get("dna"), str):
            raise InputError("its gene is not a gene record", source=source)
        text = {key: str(data.get(key) or "") for key in ("name", "stop", "source", "feature", "location",
                                                          "upstream", "downstream", "plasmid", "plasmid_name",
                                                          "topology")}
        checked = check_coding_sequence(data["dna"] + text["stop"], protein, name=text["name"] or "gene",
                                        source=f"{source}, gene {text['name']}")
        span = data.get("span") or ()
        try:
            span = tuple(int(v) for v in span)
        except (TypeError, ValueError):
            span = ()
        gene = cls(checked.name, checked.dna, checked.stop, text["source"], text["feature"], text["location"],
                   *(text[k] for k in ("upstream", "downstream", "plasmid", "plasmid_name", "topology")), span)
        if gene.plasmid and (len(span) != 3 or not _holds(gene)):
            gene = cls(checked.name, checked.dna, checked.stop, text["source"], text["feature"], text["location"])
        return gene

    def variant_plasmid(self, variant_gene: str) -> str:
        """The plasmid's bases with ``variant_gene`` (without its stop) in place of the gene."""
        from Bio.Seq import reverse_complement

        start, end, strand = self.span
        insert = variant_gene + self.stop
        if len(insert) != end - start:
            raise ValueError("a variant gene must keep the gene's length")
        return self.plasmid[:start] + (insert if strand == 1 else reverse_complement(insert)) + self.plasmid[end:]

    def codon(self, index: int) -> str:
        """The codon of residue ``index`` (0-based)."""
        return self.dna[3 * index:3 * index + 3]


@dataclass(frozen=True)
class CdsFeature:
    """A CDS feature of a GenBank record, and whether it encodes the protein.

    ``index`` is 1-based among the record's CDS features; ``name`` its gene (else locus tag, label or
    product); ``location`` GenBank style; ``encodes`` whether its translation (table 11, stop dropped) is the
    protein (None when no protein was given); ``difference`` where it is not."""

    index: int
    name: str
    product: str
    location: str
    encodes: bool | None
    difference: str

    def describe(self) -> str:
        what = f"{self.index} {self.name} {self.location}" + (f" ({self.product})" if self.product else "")
        return what + (f": {self.difference}" if self.difference else "")


def _location_text(location) -> str:
    parts = getattr(location, "parts", [location])
    text = ",".join(f"{int(p.start) + 1}..{int(p.end)}" for p in parts)
    text = f"join({text})" if len(parts) > 1 else text
    return f"complement({text})" if location.strand == -1 else text


def _feature_name(feature, index: int) -> str:
    for key in ("gene", "locus_tag", "label", "product"):
        value = feature.qualifiers.get(key)
        if value:
            return str(value[0])
    return f"CDS {index}"


def _as_cds(dna: str) -> str:
    """The protein a coding sequence makes: table 11, a start codon (GTG, TTG ...) read as M."""
    coded = translate(dna[:len(dna) - len(dna) % 3])
    if coded and dna[:3] in _code().start_codons:
        coded = "M" + coded[1:]
    return coded


def _difference(dna: str, protein: str) -> str:
    coded = _as_cds(dna).rstrip("*")
    for i, (made, expected) in enumerate(zip(coded, protein)):
        if made != expected:
            return f"codon {i + 1} ({dna[3 * i:3 * i + 3]}) codes for {made}, residue {i + 1} of the protein is {expected}"
    if len(coded) != len(protein):
        return f"it codes for {len(coded)} residues, the protein has {len(protein)}"
    return ""


def cds_features(record, protein: str | None = None) -> list[CdsFeature]:
    """The CDS features of a Biopython GenBank record, each checked against ``protein`` when given."""
    out = []
    for index, feature in enumerate((f for f in record.features if f.type == "CDS"), start=1):
        dna = str(feature.extract(record.seq)).upper()
        difference = _difference(dna, protein) if protein is not None else ""
        out.append(CdsFeature(index, _feature_name(feature, index), str(feature.qualifiers.get("product", [""])[0]),
                              _location_text(feature.location), None if protein is None else not difference,
                              difference))
    return out


def _pick_feature(features: list[CdsFeature], wanted: str | None, protein: str | None, record_name: str,
                  source: str) -> CdsFeature:
    listing = "; ".join(f.describe() for f in features)
    if wanted is not None:
        key = str(wanted).strip()
        for feature in features:
            if key == str(feature.index) or key.lower() == feature.name.lower():
                return feature
        raise InputError(f"no CDS feature {key!r} in {record_name}; its CDS features: {listing}", source=source)
    if len(features) == 1:
        return features[0]
    if protein is None:
        raise InputError(f"{record_name} has {len(features)} CDS features; choose one with --feature NAME|INDEX: "
                         f"{listing}", source=source)
    encoding = [f for f in features if f.encodes]
    if len(encoding) == 1:
        return encoding[0]
    if not encoding:
        raise InputError(f"none of the {len(features)} CDS features of {record_name} encodes the protein: {listing}",
                         source=source)
    raise InputError(f"{len(encoding)} CDS features of {record_name} encode the protein "
                     f"({', '.join(f.name for f in encoding)}); choose one with --feature NAME|INDEX", source=source)


def _holds(gene: CodingSequence) -> bool:
    """Whether the gene's plasmid holds the gene (with its stop) at its span, and its flanks around it."""
    start, end, strand = gene.span
    if not (0 <= start < end <= len(gene.plasmid)) or strand not in (1, -1):
        return False
    try:
        return gene.variant_plasmid(gene.dna) == gene.plasmid
    except ValueError:
        return False


#: Bases of the plasmid kept on each side of a gene for primers near its ends.
FLANK = 80


def _flanks(record, location) -> tuple[str, str]:
    """The plasmid's bases before and after a simple CDS location, in the gene's direction (a circular record
    wraps around its origin; a linear one stops at its ends)."""
    if len(getattr(location, "parts", [location])) != 1:
        return "", ""
    sequence = str(record.seq).upper()
    circular = record.annotations.get("topology") == "circular"
    start, end = int(location.start), int(location.end)

    def span(a: int, b: int) -> str:
        if circular:
            return "".join(sequence[i % len(sequence)] for i in range(a, b))
        return sequence[max(a, 0):min(b, len(sequence))]

    before, after = span(start - FLANK, start), span(end, end + FLANK)
    if location.strand == -1:
        from Bio.Seq import reverse_complement

        return reverse_complement(after), reverse_complement(before)
    return before, after


def genbank_cds(path: str | Path, protein: str | None = None) -> list[CdsFeature]:
    """The CDS features of a GenBank file, each checked against ``protein`` (empty for FASTA or a record
    without CDS features): what a chooser lists when the gene is not picked by itself."""
    from protein_studio.core.files import read_input_text

    path = Path(path)
    record, kind = _parse_record(read_input_text(path, "a DNA file (FASTA or GenBank)"), path)
    return cds_features(record, protein) if kind == "genbank" else []


def read_coding_sequence(path: str | Path, protein: str | None = None, feature: str | None = None) -> CodingSequence:
    """Read a gene from a FASTA or GenBank file and check it with :func:`check_coding_sequence` against
    ``protein`` when given.

    In a GenBank record (a plasmid) the CDS feature ``feature`` (its gene name or 1-based index among the CDS
    features) is read; without it, the one CDS that encodes ``protein`` (or the only CDS). Messages name the
    feature and its location in the record.

    Raises
    ------
    InputError
        Unreadable file, no sequence, not DNA, out of frame, or not the protein (file, feature, position,
        codon); no CDS encodes the protein or several do (each is listed with where it differs).
    """
    from protein_studio.core.files import read_input_text

    path = Path(path)
    text = read_input_text(path, "a DNA file (FASTA or GenBank)")
    record, kind = _parse_record(text, path)
    if kind == "genbank":
        features = cds_features(record, protein)
        if features:
            chosen = _pick_feature(features, feature, protein, record.id, path.name)
            cds = [f for f in record.features if f.type == "CDS"][chosen.index - 1]
            gene = check_coding_sequence(str(cds.extract(record.seq)), protein, name=chosen.name,
                                         source=f"{path.name}, CDS {chosen.name} {chosen.location}")
            upstream, downstream = _flanks(record, cds.location)
            simple = len(getattr(cds.location, "parts", [cds.location])) == 1
            return CodingSequence(gene.name, gene.dna, gene.stop, path.name, chosen.name, chosen.location,
                                  upstream, downstream, str(record.seq).upper() if simple else "", record.id,
                                  str(record.annotations.get("topology", "linear")),
                                  (int(cds.location.start), int(cds.location.end), int(cds.location.strand or 1))
                                  if simple else ())
    if feature is not None:
        raise InputError(f"--feature {feature}: {path.name} is not a GenBank record with CDS features",
                         source=path.name)
    return check_coding_sequence(_bases(record, path), protein, name=record.id, source=path.name)


def _bases(record, path: Path) -> str:
    try:
        return str(record.seq)
    except ValueError as exc:  # Bio's UndefinedSequenceError: a record without its bases (no ORIGIN)
        raise InputError(f"record {record.id!r} holds no DNA sequence (a GenBank file needs its ORIGIN section; "
                         f"{exc})", source=path.name) from None


def _parse_record(text: str, path: Path):
    import io

    from Bio import SeqIO

    kind = "genbank" if text.lstrip().startswith("LOCUS") else "fasta"
    try:
        records = list(SeqIO.parse(io.StringIO(text), kind))
    except (ValueError, IndexError) as exc:
        raise InputError(f"not a readable {kind.upper()} file ({exc})", source=path.name) from None
    if not records:
        raise InputError("no sequence found (expected FASTA or GenBank)", source=path.name)
    if kind == "genbank":
        _bases(records[0], path)  # a record without ORIGIN says so before its features are read
    return records[0], kind


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
    protein_of_dna = _as_cds(dna)
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
    if name.endswith(".json"):
        return _bundled_counts(name)
    return python_codon_tables.get_codons_table(name)


def _bundled_counts(name: str) -> dict[str, dict[str, float]]:
    """A bundled table of codon counts (``{"amino_acids": [{"letter", "codons": [{"triplet", "weight"}]}]}``) as
    relative frequencies per amino acid."""
    import json
    from importlib import resources

    data = json.loads((resources.files("protein_studio.resources") / name).read_text(encoding="utf-8"))
    table = {}
    for entry in data["amino_acids"]:
        total = sum(float(c["weight"]) for c in entry["codons"])
        table[entry["letter"]] = {c["triplet"]: float(c["weight"]) / total for c in entry["codons"]}
    check_codon_table(table, name)
    return table


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
