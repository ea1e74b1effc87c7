"""Site-directed mutagenesis primers for chosen variants, the order sheet, the variant genes and a plate map.

Protocols:

* ``q5`` (back-to-back, non-overlapping, as NEB's Q5 kit): the forward primer starts with the changed
  codon(s) and anneals downstream of them; the reverse primer anneals upstream, ending where the forward
  primer begins. Each primer's Tm is that of its part that matches the template (the forward primer's
  bases after the last change; the whole reverse primer), the temperature the first cycles anneal at.
* ``quikchange`` (overlapping complementary, as Agilent's kit): one primer centred on the change(s) with
  equal flanks, and its reverse complement. The Tm is the whole primer's with its exact complement (the
  mutated strand made in the first cycle).

Tm is the nearest-neighbour Tm of Biopython's ``Bio.SeqUtils.MeltingTemp.Tm_NN`` (Allawi & SantaLucia
1997) under :class:`Conditions` (stated in every output). Primers grow one base at a time from their
shortest length until their Tm reaches the window; among lengths in both windows the shortest ending in G
or C (a GC clamp) is kept. Mutations of one variant whose changed bases lie within ``max_span`` bases go in
one primer; others are made in rounds, one pair per site, and the row says so. Each pair is checked: every
primer matches the template except at the intended bases, and the product translates to the variant.
A primer that cannot meet the windows is still written, with its row marked. No Qt, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protein_studio.core.cloning.dna import CodingSequence, choose_codon, translate
from protein_studio.core.errors import UserError

__all__ = ["PROTOCOLS", "ORDER_SCALES", "ORDER_PURIFICATIONS", "order_scale", "order_purification", "Conditions", "Windows", "Primer", "PrimerDesign", "design_primers", "order_rows",
           "ORDER_COLUMNS", "VENDOR_COLUMNS", "vendor_rows", "NOT_DESIGNED_COLUMNS", "not_designed_rows", "rounds", "variant_genes_fasta", "plate_map", "plate_map_png", "mutated_gene", "write_order", "variant_plasmid_genbank"]

PROTOCOLS = ("q5", "quikchange")
ORDER_COLUMNS = ("name", "sequence", "length", "tm", "gc_percent", "scale", "purification", "variant", "note",
                 "anneal_c")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
#: Synthesis scales an oligo vendor takes (what the order sheet's scale column may say).
ORDER_SCALES = ("25 nmol", "100 nmol", "250 nmol", "1 umol", "5 umol", "10 umol")
#: Purifications an oligo vendor offers for unmodified primers.
ORDER_PURIFICATIONS = ("desalt", "HPLC", "PAGE")
#: ``order.csv`` is IDT's bulk-upload layout for tube oligos (Name, Sequence, Scale, Purification) with IDT's codes.
VENDOR_COLUMNS = ("Name", "Sequence", "Scale", "Purification")
VENDOR_SCALES = {"25 nmol": "25nm", "100 nmol": "100nm", "250 nmol": "250nm", "1 umol": "1um", "5 umol": "5um",
                 "10 umol": "10um"}
VENDOR_PURIFICATIONS = {"desalt": "STD", "HPLC": "HPLC", "PAGE": "PAGE"}


def _vocabulary(text: str, choices: tuple, what: str, aliases: dict) -> str:
    key = "".join(str(text).lower().split()).replace("µ", "u").replace("nmole", "nmol").replace("umole", "umol")
    key = aliases.get(key, key)
    for choice in choices:
        if key == "".join(choice.lower().split()):
            return choice
    raise UserError(f"{what} {str(text)[:40]!r} is not one a vendor takes: use one of {', '.join(choices)}")


def order_scale(text: str) -> str:
    """The synthesis scale as the order sheet writes it (``25nm`` -> ``25 nmol``); anything else is refused:
    a free-text field never reaches the vendor's sheet."""
    return _vocabulary(text, ORDER_SCALES, "the synthesis scale", {"25nm": "25nmol", "100nm": "100nmol",
                                                                   "250nm": "250nmol", "1um": "1umol",
                                                                   "5um": "5umol", "10um": "10umol"})


def order_purification(text: str) -> str:
    """The purification as the order sheet writes it (``STD`` -> ``desalt``); anything else is refused."""
    return _vocabulary(text, ORDER_PURIFICATIONS, "the purification", {"std": "desalt", "standard": "desalt",
                                                                       "standarddesalting": "desalt",
                                                                       "desalting": "desalt"})


def reverse_complement(dna: str) -> str:
    return dna.translate(_COMPLEMENT)[::-1]


@dataclass(frozen=True)
class Conditions:
    """The conditions the Tm is computed for (Biopython's Tm_NN: nM and mM)."""

    primer_nm: float = 500.0
    na_mm: float = 50.0
    mg_mm: float = 2.0
    dntps_mm: float = 0.2

    def describe(self) -> str:
        return (f"Tm nearest-neighbour (Allawi & SantaLucia 1997, Biopython Tm_NN), primer {self.primer_nm:g} nM, "
                f"Na+ {self.na_mm:g} mM, Mg2+ {self.mg_mm:g} mM, dNTPs {self.dntps_mm:g} mM (Owczarzy 2008 "
                f"salt correction)")

    def tm(self, dna: str) -> float:
        from Bio.SeqUtils import MeltingTemp

        return float(MeltingTemp.Tm_NN(dna, dnac1=self.primer_nm, dnac2=0, Na=self.na_mm, Mg=self.mg_mm,
                                       dNTPs=self.dntps_mm, saltcorr=7))


@dataclass(frozen=True)
class Windows:
    """Allowed primer lengths and Tms (per protocol defaults)."""

    min_length: int = 18
    max_length: int = 45
    min_tm: float = 55.0
    max_tm: float = 72.0

    @classmethod
    def for_protocol(cls, protocol: str) -> "Windows":
        return cls(25, 45, QUIKCHANGE_MIN_TM, 100.0) if protocol == "quikchange" else cls()


@dataclass(frozen=True)
class Primer:
    name: str
    sequence: str
    start: int  # 0-based start on the gene's top strand of the region it covers
    reverse: bool
    tm: float
    gc_percent: float
    in_window: bool
    anneal: float | None = None  # the pair's annealing temperature (Q5), C


@dataclass
class PrimerDesign:
    """The primers of one variant (several pairs when its sites are made in rounds)."""

    variant: str
    protein: str
    gene: str
    primers: list[Primer] = field(default_factory=list)
    codons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(p.in_window for p in self.primers)


def _gc(dna: str) -> float:
    return 100.0 * sum(b in "GC" for b in dna) / max(1, len(dna))


def mutated_gene(gene: CodingSequence, mutations, usage=None, min_frequency: float = 0.0):
    """The gene with each mutation's codon (:func:`choose_codon`); returns (dna, [(base index, choice)])."""
    dna = list(gene.dna)
    changes = []
    for m in mutations:
        index = m.position - 1
        if not 0 <= index < len(gene.dna) // 3:
            raise UserError(f"{m}: position {m.position} is outside the gene's {len(gene.dna) // 3} codons")
        wild_type = gene.codon(index)
        if translate(wild_type) != m.wt:
            raise UserError(f"{m}: codon {index + 1} of the gene is {wild_type} ({translate(wild_type)}), not {m.wt}")
        choice = choose_codon(wild_type, m.mt, usage, min_frequency)
        dna[3 * index:3 * index + 3] = choice.codon
        changes.append((3 * index, choice))
    return "".join(dna), changes


#: NEB's Q5 rules: at least this many template-matching bases on the 3' side of a substitution, the pair's Tms
#: at most this far apart, and the annealing temperature that many degrees above the lower Tm, at most 72 C.
Q5_MIN_3PRIME, Q5_MAX_TM_DIFFERENCE, Q5_ANNEAL_ABOVE, Q5_MAX_ANNEAL = 10, 5.0, 3.0, 72.0
#: Agilent's QuikChange rule: Tm = 81.5 + 0.41 (%GC) - 675 / N - %mismatch at least this.
QUIKCHANGE_MIN_TM = 78.0


def agilent_tm(primer: str, mismatches: int) -> float:
    """Agilent's QuikChange formula: 81.5 + 0.41 x %GC - 675 / N - %mismatch (N the primer length)."""
    n = len(primer)
    return 81.5 + 0.41 * _gc(primer) - 675.0 / n - 100.0 * mismatches / n


def _window_miss(tm: float, windows: Windows) -> float:
    return 0.0 if windows.min_tm <= tm <= windows.max_tm else min(abs(tm - windows.min_tm), abs(tm - windows.max_tm))


def _q5_pair(name: str, template: str, product: str, first: int, last: int, conditions, windows):
    """NEB's Q5 substitution design: the change in the centre of the forward primer with at least
    :data:`Q5_MIN_3PRIME` matching bases on its 3' side; the reverse primer back to back with it (their 5' ends
    meet); lengths chosen so that both Tms (of the template-matching parts: the forward primer's 3' side, the
    whole reverse primer) are in the window and within :data:`Q5_MAX_TM_DIFFERENCE` of each other, 3' G/C
    preferred; the pair's annealing temperature is the lower Tm + 3 C, at most 72 C."""
    tm_forward: dict[int, float] = {}
    tm_reverse: dict[tuple[int, int], float] = {}
    best = None
    for right in range(Q5_MIN_3PRIME, windows.max_length + 1):
        end = last + 1 + right
        if end > len(product):
            break
        for left in (right, right - 1):  # the change in the centre (one base either way for an even fit)
            start = first - left
            length = end - start
            if left < 0 or start < 0 or not windows.min_length <= length <= windows.max_length:
                continue
            if right not in tm_forward:
                tm_forward[right] = conditions.tm(product[last + 1:end])
            tm_f = tm_forward[right]
            for reverse_length in range(windows.min_length, windows.max_length + 1):
                if start - reverse_length < 0:
                    break
                key = (start, reverse_length)
                if key not in tm_reverse:
                    tm_reverse[key] = conditions.tm(reverse_complement(template[start - reverse_length:start]))
                tm_r = tm_reverse[key]
                difference = abs(tm_f - tm_r)
                cost = (_window_miss(tm_f, windows) + _window_miss(tm_r, windows)
                        + 10 * max(0.0, difference - Q5_MAX_TM_DIFFERENCE),
                        (product[end - 1] not in "GC") + (template[start - reverse_length] not in "GC"),
                        difference, length + reverse_length)
                if best is None or cost < best[0]:
                    best = (cost, start, end, reverse_length, tm_f, tm_r)
    if best is None:
        raise UserError(f"no Q5 pair fits here: the forward primer needs the change in its centre with at least "
                        f"{Q5_MIN_3PRIME} matching bases on its 3' side and {windows.min_length}-{windows.max_length} "
                        f"nt in all, and the site is too close to an end of the gene (the plasmid around it is not "
                        f"used)")
    cost, start, end, reverse_length, tm_f, tm_r = best
    fits = cost[0] == 0.0
    anneal = min(min(tm_f, tm_r) + Q5_ANNEAL_ABOVE, Q5_MAX_ANNEAL)
    forward, reverse = product[start:end], reverse_complement(template[start - reverse_length:start])
    return [Primer(f"{name}_F", forward, start, False, tm_f, _gc(forward), fits, anneal),
            Primer(f"{name}_R", reverse, start - reverse_length, True, tm_r, _gc(reverse), fits, anneal)]


def _quikchange_pair(name: str, product: str, first: int, last: int, conditions, windows, mismatches: int):
    """Agilent's QuikChange design: one primer with the change in its centre, :data:`QUIKCHANGE_MIN_TM` or more
    by Agilent's formula, within the length window, G or C at both 3' ends where possible (the forward primer's
    last base, and its first, which is the reverse primer's last); the reverse primer is its reverse complement.
    A site no centred primer can serve is refused with the reason. ``mismatches``: the bases it changes."""
    best, closest = None, None
    for right in range(0, windows.max_length):
        for left in (right, right + 1):
            start, end = first - left, last + 1 + right
            if start < 0 or end > len(product) or not windows.min_length <= end - start <= windows.max_length:
                continue
            primer = product[start:end]
            tm = agilent_tm(primer, mismatches)
            if closest is None or tm > closest[1]:
                closest = (primer, tm)
            if tm < max(QUIKCHANGE_MIN_TM, windows.min_tm):
                continue
            cost = ((primer[-1] not in "GC") + (primer[0] not in "GC"), len(primer))
            if best is None or cost < best[0]:
                best = (cost, primer, start, tm)
    if best is None:
        reason = (f"the best centred primer reaches {closest[1]:.1f} C at {len(closest[0])} nt" if closest else
                  "the site is too close to an end of the gene for a centred primer")
        raise UserError(f"no QuikChange primer of {windows.min_length}-{windows.max_length} nt with the change in "
                        f"its centre reaches Agilent's Tm >= {QUIKCHANGE_MIN_TM:g} C: {reason}")
    _cost, forward, start, tm = best
    return [Primer(f"{name}_F", forward, start, False, tm, _gc(forward), True),
            Primer(f"{name}_R", reverse_complement(forward), start, True, tm, _gc(forward), True)]


def _check(primer: Primer, template: str, intended: set[int]) -> None:
    """Every base of the primer matches the template except at intended positions (top-strand indices)."""
    top = reverse_complement(primer.sequence) if primer.reverse else primer.sequence
    region = template[primer.start:primer.start + len(top)]
    wrong = [primer.start + i for i, (a, b) in enumerate(zip(top, region)) if a != b and primer.start + i not in intended]
    if wrong or len(region) != len(top):
        raise UserError(f"{primer.name} does not match the template at base {wrong[0] + 1 if wrong else '?'}")


def design_primers(gene: CodingSequence, variants, protocol: str = "q5", *, usage=None, min_frequency: float = 0.0,
                   conditions: Conditions | None = None, windows: Windows | None = None,
                   max_span: int = 12, names=None) -> list[PrimerDesign]:
    """Primers for each variant (a :class:`~protein_studio.core.molecules.mutations.MultiMutant` numbered from 1 on the
    gene's protein); ``names`` are the variants as the user writes them (their numbering), which name the
    primers too. A variant that cannot be made (a position outside the gene, another residue there) gets its
    ``error`` and the others are still designed."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; choose q5 or quikchange")
    conditions = conditions or Conditions()
    windows = windows or Windows.for_protocol(protocol)
    protein = translate(gene.dna)
    designs = []
    for k, variant in enumerate(variants):
        label = names[k] if names is not None else str(variant)
        name = _primer_name(label)
        design = PrimerDesign(label, "", "")
        designs.append(design)
        unchanged = next((m for m in variant.mutations if m.wt == m.mt), None)
        if unchanged is not None:
            design.error = f"{unchanged.wt}{unchanged.position}{unchanged.mt} changes nothing: no primers are needed"
            continue
        try:
            product, changes = mutated_gene(gene, variant.mutations, usage, min_frequency)
        except UserError as exc:
            design.error = str(exc)
            continue
        design.gene, design.protein = product, translate(product)
        design.codons = [f"{m.wt}{m.position}{m.mt}: {choice.describe()}" for m, (_, choice) in
                         zip(variant.mutations, changes)]
        changed = sorted(base + i for base, choice in changes for i in choice.changed)
        expected = list(protein)
        for m in variant.mutations:
            expected[m.position - 1] = m.mt
        if design.protein != "".join(expected):
            design.error = "the mutated gene does not translate to the variant"
            continue
        if not changed:
            design.notes.append("no base changes")
            continue
        # the template is the gene with its stop and, for a gene read from its plasmid, the plasmid around it:
        # primers near the gene's ends reach into the vector
        offset = len(gene.upstream)
        changed = [base + offset for base in changed]
        whole = gene.upstream + product + gene.stop + gene.downstream
        sites = _sites(changed, max_span)
        if len(sites) > 1:
            design.notes.append(f"{len(sites)} sites too far apart for one primer: made in {len(sites)} rounds")
        try:
            template = gene.upstream + gene.dna + gene.stop + gene.downstream
            for round_number, site in enumerate(sites, start=1):
                label = name if len(sites) == 1 else f"{name}_r{round_number}"
                # each round's template carries the earlier rounds' changes
                product_round = _apply(template, whole, site)
                pair = (_q5_pair(label, template, product_round, site[0], site[-1], conditions, windows)
                        if protocol == "q5" else
                        _quikchange_pair(label, product_round, site[0], site[-1], conditions, windows, len(site)))
                for primer in pair:
                    _check(primer, template, set(site))
                if protocol == "q5" and abs(pair[0].tm - pair[1].tm) > Q5_MAX_TM_DIFFERENCE:
                    design.notes.append(f"{label}: the pair's Tms differ by {abs(pair[0].tm - pair[1].tm):.1f} C "
                                        f"(NEB asks for at most {Q5_MAX_TM_DIFFERENCE:g})")
                design.primers.extend(pair)
                template = product_round
            if template != whole:
                raise UserError("the rounds do not make the variant's gene")
        except UserError as exc:
            design.error = str(exc)
            continue
        for primer in design.primers:
            if not primer.in_window:
                design.notes.append(f"{primer.name}: no length in {windows.min_length}-{windows.max_length} nt "
                                    f"reaches Tm {windows.min_tm:g}-{windows.max_tm:g} C (closest: {primer.tm:.1f} C)")
    return designs


def _apply(template: str, product: str, bases) -> str:
    out = list(template)
    for i in bases:
        out[i] = product[i]
    return "".join(out)


def _sites(changed: list[int], max_span: int) -> list[list[int]]:
    sites = [[changed[0]]]
    for base in changed[1:]:
        if base - sites[-1][0] < max_span:
            sites[-1].append(base)
        else:
            sites.append([base])
    return sites


def _primer_name(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-" else "_" for c in label.replace(":", "_")) or "wt"


def vendor_rows(designs, scale: str = "25 nmol", purification: str = "desalt") -> list[list[str]]:
    """``order.csv``: one row per distinct oligo in IDT's bulk-upload layout (:data:`VENDOR_COLUMNS`), the
    scale and purification in IDT's codes; the details of each are in ``primers.csv`` (:func:`order_rows`)."""
    scale, purification = VENDOR_SCALES[order_scale(scale)], VENDOR_PURIFICATIONS[order_purification(purification)]
    return [[row[0], row[1], scale, purification] for row in order_rows(designs)]


def order_rows(designs, scale: str = "25 nmol", purification: str = "desalt"):
    """Rows of ``primers.csv``, the details of the order (:data:`ORDER_COLUMNS`): one per distinct oligo, in the order first needed,
    named by the first primer that needs it, its ``variant`` cell listing every variant that uses it (a
    double mutant's rounds share the singles' oligos: ordered once). Variants that could not be designed
    are not on the sheet (see :func:`not_designed_rows`); a primer outside the windows is marked."""
    rows: dict[str, list] = {}
    for design in designs:
        if design.error:
            continue
        for primer in design.primers:
            if primer.sequence in rows:
                row = rows[primer.sequence]
                row[7] = f"{row[7]}; {design.variant}" if design.variant not in row[7].split("; ") else row[7]
                continue
            note = "; ".join(n for n in design.notes if n.startswith(primer.name) or "rounds" in n)
            if not primer.in_window:
                note = "OUTSIDE THE TM WINDOW: " + note
            rows[primer.sequence] = [primer.name, primer.sequence, str(len(primer.sequence)), f"{primer.tm:.1f}",
                                     f"{primer.gc_percent:.1f}", scale, purification, design.variant, note,
                                     "" if primer.anneal is None else f"{primer.anneal:.1f}"]
    return list(rows.values())


#: Columns of ``not_designed.csv``: the variants no primers were made for, and why.
NOT_DESIGNED_COLUMNS = ("variant", "reason")


def not_designed_rows(designs) -> list[list[str]]:
    """``(variant, reason)`` of every variant that could not be designed."""
    return [[design.variant, design.error] for design in designs if design.error]


def rounds(design) -> int:
    """How many mutagenesis rounds the variant needs (one primer pair each)."""
    return max(1, len(design.primers) // 2)


def variant_genes_fasta(designs, width: int = 60, stop: str = "TAA") -> str:
    """The mutated full-length genes with their stop codon (``stop``: the gene's own), one record per variant,
    named by the variant (for gene synthesis: a gene without its stop reads on into the vector)."""
    out = []
    for design in designs:
        if design.error or not design.gene:
            continue
        gene = design.gene + stop
        out.append(f">{design.variant}\n")
        out.extend(gene[i:i + width] + "\n" for i in range(0, len(gene), width))
    return "".join(out)


def variant_plasmid_genbank(gene: CodingSequence, design) -> str:
    """The variant's whole plasmid as GenBank text (what SnapGene and Benchling open): the plasmid with the
    variant gene in place, the gene annotated as a CDS with its new translation, each changed codon as a
    ``variation`` feature naming the substitution and its codons."""
    import io

    from Bio import SeqIO
    from Bio.Seq import Seq
    from Bio.SeqFeature import FeatureLocation, SeqFeature
    from Bio.SeqRecord import SeqRecord

    start, end, strand = gene.span
    bases = gene.variant_plasmid(design.gene)
    name = "".join(c if c.isalnum() else "_" for c in design.variant)[:16] or "variant"
    record = SeqRecord(Seq(bases), id=name, name=name,
                       description=f"{gene.plasmid_name} with {gene.feature} {design.variant}",
                       annotations={"molecule_type": "DNA", "topology": gene.topology or "linear"})
    record.features.append(SeqFeature(FeatureLocation(start, end, strand=strand), type="CDS", qualifiers={
        "gene": [gene.feature], "label": [f"{gene.feature} {design.variant}"], "transl_table": ["11"],
        "translation": [design.protein]}))
    codons = [i for i in range(0, len(design.gene), 3) if gene.dna[i:i + 3] != design.gene[i:i + 3]]
    named = design.variant.split(":")  # the user's numbering, in the order of the positions
    for k, index in enumerate(codons):
        old, new = gene.dna[index:index + 3], design.gene[index:index + 3]
        a, b = (start + index, start + index + 3) if strand == 1 else (end - index - 3, end - index)
        change = named[k] if len(named) == len(codons) else f"{translate(old)}{index // 3 + 1}{translate(new)}"
        record.features.append(SeqFeature(FeatureLocation(a, b, strand=strand), type="variation", qualifiers={
            "label": [change], "note": [f"{design.variant}: codon {index // 3 + 1} of {gene.feature} {old}>{new}"],
            "replace": [new.lower()]}))
    buffer = io.StringIO()
    SeqIO.write(record, buffer, "genbank")
    return buffer.getvalue()


def plate_map(variants: list[str], controls: tuple[str, ...] = ("wild type", "empty")) -> list[tuple[str, str]]:
    """(well, content) for a 96-well plate filled by rows (A1, A2, ... H12): the variants, then the
    controls. More than 96 entries is refused."""
    contents = list(variants) + list(controls)
    if len(contents) > 96:
        raise UserError(f"{len(contents)} variants and controls do not fit one 96-well plate")
    wells = [f"{row}{column}" for row in "ABCDEFGH" for column in range(1, 13)]
    return list(zip(wells, contents))


def plate_map_png(layout: list[tuple[str, str]], title: str = "") -> bytes:
    """A picture of the plate (PNG bytes): each well labelled with its content."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    figure = Figure(figsize=(12, 7))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    filled = dict(layout)
    for r, row in enumerate("ABCDEFGH"):
        for c in range(12):
            well = f"{row}{c + 1}"
            content = filled.get(well, "")
            colour = ("#d9d9d9" if not content else "#9ecae1" if content == "wild type"
                      else "#fdd0a2" if content == "empty" else "#c7e9c0")
            axes.add_patch(Circle((c, -r), 0.45, facecolor=colour, edgecolor="#444444"))
            axes.text(c, -r, content.replace(":", ":\n"), ha="center", va="center", fontsize=5.5)
    axes.set_xlim(-0.6, 11.6)
    axes.set_ylim(-7.6, 0.6)
    axes.set_xticks(range(12), [str(c) for c in range(1, 13)])
    axes.set_yticks([-r for r in range(8)], list("ABCDEFGH"))
    axes.set_aspect("equal")
    axes.set_title(title or "96-well plate")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def write_order(out, designs, doc, gene: CodingSequence, protocol: str, conditions: Conditions, windows: Windows,
                scale: str = "25 nmol", purification: str = "desalt") -> list:
    """``order.csv`` (the vendor sheet), ``primers.csv`` (its details), ``not_designed.csv``, ``variants_cds.fasta``, ``plate_map.csv`` and ``plate_map.png`` into
    the folder ``out``, and for a gene read from its plasmid ``plasmids/<variant>.gb``
    (each written atomically); the protocol, conditions, windows, gene and the numbering the variants are
    named in go beside the tables (``order.csv.json``). Returns the paths."""
    from pathlib import Path

    from protein_studio.core.files import write_bytes_atomically, write_text_atomically
    from protein_studio.core.provenance import table_provenance
    from protein_studio.core.tables import write_table

    scale, purification = order_scale(scale), order_purification(purification)
    from protein_studio.core.files import make_output_folder

    out = make_output_folder(out)
    provenance = table_provenance(doc, method=f"{protocol} primers", conditions=conditions.describe(),
                                  windows=f"length {windows.min_length}-{windows.max_length} nt, Tm "
                                          f"{windows.min_tm:g}-{windows.max_tm:g} C",
                                  gene=f"{gene.name} ({gene.source})")
    layout = plate_map([d.variant if rounds(d) == 1 else f"{d.variant} ({rounds(d)} rounds)"
                        for d in designs if not d.error])
    plasmids = []
    if gene.plasmid and gene.span:  # the gene came from its plasmid: each variant as the whole plasmid
        folder = make_output_folder(out / "plasmids")
        for design in designs:
            if not design.error and design.gene:
                plasmids.append(write_text_atomically(folder / f"{_primer_name(design.variant)}.gb",
                                                      variant_plasmid_genbank(gene, design)))
    return plasmids + [Path(p) for p in (
        write_table(out / "order.csv", vendor_rows(designs, scale, purification), VENDOR_COLUMNS, provenance),
        write_table(out / "primers.csv", order_rows(designs, scale, purification), ORDER_COLUMNS, provenance),
        write_table(out / "not_designed.csv", not_designed_rows(designs), NOT_DESIGNED_COLUMNS, provenance),
        write_text_atomically(out / "variants_cds.fasta", variant_genes_fasta(designs, stop=gene.stop or "TAA")),
        write_table(out / "plate_map.csv", layout, ("well", "content"), provenance),
        write_bytes_atomically(out / "plate_map.png", plate_map_png(layout, f"{doc.name}: {protocol} variants")))]
