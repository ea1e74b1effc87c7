"""The gene in its plasmid (issue 25): the real pBR322 record (tests/data/pBR322_J01749.gb, provenance in
tests/data/README.md) holds tet, rop and bla; the CDS that encodes the protein is picked without being named,
any other is refused naming the feature and where it sits, and the order a lab sends is one row per oligo."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from protein_studio.cli import main
from protein_studio.core.cloning.dna import genbank_cds, read_coding_sequence, translate
from protein_studio.core.errors import InputError
from protein_studio.core.molecules.sequences import read_fasta

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
DEMO = REPO / "resources" / "demo"
PLASMID = DATA / "pBR322_J01749.gb"
TEM1 = read_fasta(DEMO / "tem1_P62593.fasta")[0].sequence


def test_bla_is_picked_from_pbr322_without_being_named():
    features = genbank_cds(PLASMID, TEM1)
    assert [(f.name, f.location, f.encodes) for f in features] == [
        ("tet", "86..1276", False), ("ROP protein", "1915..2106", False), ("bla", "complement(3293..4153)", True)]
    gene = read_coding_sequence(PLASMID, TEM1)
    assert (gene.feature, gene.location, gene.stop) == ("bla", "complement(3293..4153)", "TAA")
    assert translate(gene.dna) == TEM1 and len(gene.dna) == 3 * 286


def test_another_feature_or_protein_is_refused_naming_the_feature_and_its_place():
    with pytest.raises(InputError, match=r"pBR322_J01749.gb, CDS tet 86..1276: codon 2 \(AAA, bases 4-6\) codes "
                                         r"for K, but residue 2 of the protein is S"):
        read_coding_sequence(PLASMID, TEM1, feature="tet")
    with pytest.raises(InputError, match=r"none of the 3 CDS features of J01749.1 encodes the protein: 1 tet 86..1276 "
                                         r".*3 bla complement\(3293..4153\) \(beta-lactamase\): codon 286"):
        read_coding_sequence(PLASMID, TEM1[:-1] + "A")
    with pytest.raises(InputError, match="no CDS feature 'lacZ' in J01749.1; its CDS features: 1 tet"):
        read_coding_sequence(PLASMID, TEM1, feature="lacZ")
    assert read_coding_sequence(PLASMID, TEM1, feature="3").feature == "bla"


def test_primers_from_the_plasmid_order_each_oligo_once_with_genes_that_stop(tmp_path, capsys):
    out = tmp_path / "order"
    assert main(["primers", str(DEMO / "tem1_P62593.fasta"), "--numbering", "table",
                 str(DEMO / "tem1_ambler_numbering.csv"), "--dna", str(PLASMID), "--mutants",
                 "E104K,G238S,M182T,E104K:G238S,S4A,W290F", "--protocol", "q5", "--out", str(out)]) == 0
    assert "gene: CDS bla complement(3293..4153) of pBR322_J01749.gb" in capsys.readouterr().err
    vendor = list(csv.DictReader(io.StringIO((out / "order.csv").read_text(encoding="utf-8"))))
    assert vendor and all(row["Name"] and row["Sequence"] and row["Scale"] == "25nm" and row["Purification"] == "STD"
                          for row in vendor)
    assert len({row["Sequence"] for row in vendor}) == len(vendor) == 10
    rows = list(csv.DictReader(io.StringIO((out / "primers.csv").read_text(encoding="utf-8"))))
    assert rows and all(row["name"] and row["sequence"] for row in rows)
    assert len({row["sequence"] for row in rows}) == len(rows) == 10  # the double reuses the singles' four
    assert {v for row in rows for v in row["variant"].split("; ")} == {"E104K", "G238S", "M182T", "E104K:G238S",
                                                                       "S4A", "W290F"}  # the end sites too
    assert all(row["anneal_c"] for row in rows)
    assert (out / "not_designed.csv").read_text().splitlines() == ["variant,reason"]
    # every primer matches the plasmid except at the changed bases: the end sites reach into the vector
    gene = read_coding_sequence(PLASMID, TEM1)
    template = gene.upstream + gene.dna + gene.stop + gene.downstream
    from protein_studio.core.cloning.primers import reverse_complement

    for row in rows:
        top = row["sequence"] if row["name"].endswith("_F") else reverse_complement(row["sequence"])
        best = min(sum(a != b for a, b in zip(top, template[i:i + len(top)]))
                   for i in range(len(template) - len(top) + 1))
        assert best <= 3, row
    # each variant as its whole plasmid, the change annotated (what SnapGene and Benchling open next)
    from Bio import SeqIO

    original = SeqIO.read(PLASMID, "genbank")
    written = sorted(p.name for p in (out / "plasmids").iterdir())
    assert written == sorted(["E104K.gb", "G238S.gb", "M182T.gb", "E104K_G238S.gb", "S4A.gb", "W290F.gb"])
    double = SeqIO.read(out / "plasmids" / "E104K_G238S.gb", "genbank")
    assert len(double) == len(original) == 4361 and double.annotations["topology"] == "circular"
    cds = next(f for f in double.features if f.type == "CDS")
    protein = str(cds.extract(double.seq).translate(table=11))
    assert protein.endswith("*") and sum(a != b for a, b in zip(protein, TEM1)) == 2
    variations = [f for f in double.features if f.type == "variation"]
    assert sorted(f.qualifiers["label"][0] for f in variations) == ["E104K", "G238S"]  # in the numbering used
    assert sorted(f.qualifiers["note"][0].split(": ")[1].split(" of")[0] for f in variations) == ["codon 102",
                                                                                                   "codon 236"]
    differing = [i for i, (a, b) in enumerate(zip(str(original.seq), str(double.seq))) if a != b]
    assert differing and all(3292 <= i < 4153 for i in differing)  # only bla's codons changed
    for path in (out / "plasmids").iterdir():  # every variant plasmid's bla: its variant, then a stop
        record = SeqIO.read(path, "genbank")
        made = str(next(f for f in record.features if f.type == "CDS").extract(record.seq).translate(table=11))
        assert made.endswith("*") and "*" not in made[:-1]
        assert len([f for f in record.features if f.type == "variation"]) == sum(
            a != b for a, b in zip(made[:-1], TEM1)) == path.stem.count("_") + 1

    records = [r.splitlines() for r in (out / "variants_cds.fasta").read_text().split(">")[1:]]
    assert [r[0] for r in records] == ["E104K", "G238S", "M182T", "E104K:G238S", "S4A", "W290F"]
    for name, *lines in records:
        protein = translate("".join(lines))
        assert protein.endswith("*") and "*" not in protein[:-1]  # each gene ends with its stop codon
        changed = [(a, b) for a, b in zip(TEM1, protein[:-1]) if a != b]
        assert [b for _, b in changed] == [m[-1] for m in name.split(":")]


def test_q5_pairs_follow_neb_and_quikchange_follows_agilent_on_the_plasmid_gene():
    from protein_studio.core.cloning.dna import codon_usage
    from protein_studio.core.cloning.primers import agilent_tm, design_primers
    from protein_studio.core.molecules.mutations import parse_mutant

    gene = read_coding_sequence(PLASMID, TEM1)
    variants = [parse_mutant(f"{TEM1[i - 1]}{i}{mt}") for i, mt in ((104, "K"), (238, "S"), (182, "T"), (50, "A"),
                                                                     (270, "W"))]
    for design in design_primers(gene, variants, "q5", usage=codon_usage("ecoli")):
        assert not design.error, design.error
        forward, reverse = design.primers
        assert abs(forward.tm - reverse.tm) <= 5 and forward.anneal == min(forward.tm, reverse.tm) + 3
    for design in design_primers(gene, variants, "quikchange", usage=codon_usage("ecoli")):
        if design.error:
            assert "reaches Agilent's Tm >= 78 C" in design.error
            continue
        forward, reverse = design.primers
        template = gene.upstream + gene.dna + gene.stop + gene.downstream  # primers are placed on the plasmid
        changed = sum(a != b for a, b in zip(forward.sequence, template[forward.start:forward.start + len(forward.sequence)]))
        assert forward.tm == agilent_tm(forward.sequence, changed) >= 78 and 25 <= len(forward.sequence) <= 45
