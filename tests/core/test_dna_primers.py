"""Coding DNA, codon choice, back-translation, mutagenesis primers, the library builder and the primers
command (issue 12). The TEM-1 gene here is the demo protein back-translated with E. coli's most used codons
(python-codon-tables); tests/data holds no real TEM-1 coding sequence (see the closing note of issue 12)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("Bio")
pytest.importorskip("python_codon_tables")

from Bio.SeqUtils import MeltingTemp  # noqa: E402

from protein_studio.cli import main  # noqa: E402
from protein_studio.core.cloning.dna import (back_translate, check_coding_sequence, choose_codon, codon_usage,  # noqa: E402
                                     genetic_code, read_coding_sequence, translate)
from protein_studio.core.errors import InputError, UserError  # noqa: E402
from protein_studio.core.cloning.library import (Candidate, LibraryFilters, build_library, candidates_at,  # noqa: E402
                                         with_joint_scores)
from protein_studio.core.molecules.mutations import parse_mutant  # noqa: E402
from protein_studio.core.cloning.primers import (Windows, design_primers, not_designed_rows, order_rows,  # noqa: E402
                                         plate_map, reverse_complement)
from protein_studio.core.molecules.sequences import read_fasta  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
TEM1 = read_fasta(DEMO / "tem1_P62593.fasta")[0].sequence
ECOLI = codon_usage("ecoli")


@pytest.fixture(scope="module")
def gene():
    return back_translate(TEM1, ECOLI)


# ------------------------------------------------------------------------------------------------ DNA
def test_back_translation_translates_back_and_uses_no_rare_codon(gene):
    assert translate(gene.dna) == TEM1 and translate(gene.stop) == "*"
    for k in range(len(TEM1)):
        codon = gene.codon(k)
        assert ECOLI[TEM1[k]][codon] >= 0.1
        assert ECOLI[TEM1[k]][codon] == max(ECOLI[TEM1[k]].values())
    with pytest.raises(UserError, match="rarer than 0.9"):
        back_translate("MKW", ECOLI, min_frequency=0.9)  # no lysine codon is used 90 % of the time in E. coli


def test_a_gene_that_is_not_the_protein_says_where(tmp_path, gene):
    good = tmp_path / "tem1.fasta"
    good.write_text(f">bla\n{gene.dna}{gene.stop}\n")
    assert read_coding_sequence(good, TEM1).dna == gene.dna
    wrong = gene.dna[:30] + "TGG" + gene.dna[33:]  # codon 11 becomes Trp
    with pytest.raises(InputError, match=r"codon 11 \(TGG, bases 31-33\) codes for W, but residue 11 .* is "
                                         + TEM1[10]):
        check_coding_sequence(wrong, TEM1, source="tem1.fasta")
    with pytest.raises(InputError, match="not a whole number of codons"):  # a frame shift
        check_coding_sequence(gene.dna[:100] + gene.dna[101:], TEM1)
    with pytest.raises(InputError, match="base 7 is 'N', an ambiguous base"):
        check_coding_sequence(gene.dna[:6] + "N" + gene.dna[7:], TEM1)
    with pytest.raises(InputError, match="codon 3 .* is a stop codon inside the gene"):
        check_coding_sequence("ATGAAATAAGGG", None)
    genbank = tmp_path / "tem1.gb"
    genbank.write_text(_genbank(gene.dna + gene.stop))
    assert read_coding_sequence(genbank, TEM1).dna == gene.dna


def _genbank(cds: str) -> str:
    flank = "GGATCC"
    sequence = (flank + cds + flank).lower()
    lines = [f"LOCUS       test {len(sequence)} bp    DNA     linear   SYN 01-JAN-2026",
             "DEFINITION  test.", "ACCESSION   test", "VERSION     test", "KEYWORDS    .",
             "SOURCE      synthetic", "  ORGANISM  synthetic", "            .",
             "FEATURES             Location/Qualifiers",
             f"     CDS             {len(flank) + 1}..{len(flank) + len(cds)}", "ORIGIN"]
    for i in range(0, len(sequence), 60):
        chunk = sequence[i:i + 60]
        lines.append(f"{i + 1:>9} " + " ".join(chunk[j:j + 10] for j in range(0, len(chunk), 10)))
    return "\n".join(lines) + "\n//\n"


def test_codon_choice_fewest_changes_then_host_usage_never_a_stop():
    # GCT (Ala) -> Ser: TCT (1 change) beats AGC (3)
    choice = choose_codon("GCT", "S", ECOLI)
    assert choice.codon == "TCT" and choice.changed == (0,)
    # CTG (Leu) -> Ile: ATG? no (Met); ATT/ATC/ATA are all 2 changes from CTG... ATG is 1 but Met
    candidates = {c: sum(a != b for a, b in zip(c, "CTG")) for c in ("ATT", "ATC", "ATA")}
    best = min(candidates.values())
    tied = [c for c, n in candidates.items() if n == best]
    assert choose_codon("CTG", "I", ECOLI).codon == max(tied, key=lambda c: ECOLI["I"][c])
    # TGG (Trp) -> Cys or Leu: never a stop codon, whatever the distance
    for wild_type in ("TGG", "TAC", "CAA"):
        for amino_acid in "ACDEFGHIKLMNPQRSTVWY":
            choice = choose_codon(wild_type, amino_acid, ECOLI)
            assert genetic_code()[choice.codon] == amino_acid and translate(choice.codon) != "*"
    with pytest.raises(UserError, match="'\\*' is not an amino acid"):
        choose_codon("TGG", "*", ECOLI)


def test_hosts_pichia_from_its_bundled_genome_counts_and_a_table_file(tmp_path):
    assert set(codon_usage("yeast")["L"]) == {"TTA", "TTG", "CTT", "CTC", "CTA", "CTG"}
    assert abs(sum(codon_usage("human")["A"].values()) - 1) < 0.02
    import json

    counts = json.loads((Path(__file__).resolve().parents[2] / "resources" / "codon_tables" /
                         "pichia_pastoris_counts.json").read_text())
    lysine = {c["triplet"]: c["weight"] for a in counts["amino_acids"] if a["letter"] == "K" for c in a["codons"]}
    pichia = codon_usage("pichia")
    assert pichia["K"] == pytest.approx({k: v / sum(lysine.values()) for k, v in lysine.items()})
    assert set(pichia) == set(codon_usage("ecoli")) and all(abs(sum(t.values()) - 1) < 1e-9 for t in pichia.values())
    assert translate(back_translate("MKTAYIAKQR", pichia).dna) == "MKTAYIAKQR"
    table = tmp_path / "pichia.csv"
    table.write_text("amino_acid,codon,relative_frequency\n" + "".join(
        f"{aa},{codon},{1 / sum(1 for a in genetic_code().values() if a == aa):.3f}\n"
        for codon, aa in genetic_code().items()) + "*,TAA,0.5\n*,TAG,0.2\n*,TGA,0.3\n")
    assert translate(back_translate("MKT", codon_usage("pichia", table)).dna) == "MKT"


# ------------------------------------------------------------------------------------------------ primers
@pytest.fixture(scope="module")
def variants():
    """Singles, a double whose sites are far apart (two rounds) and one with both changes in one primer,
    numbered on the sequence (1-based)."""
    def at(index, mt):
        return f"{TEM1[index - 1]}{index}{mt}"

    texts = [at(104, "K"), at(238, "S"), at(182, "T"), f"{at(104, 'K')}:{at(238, 'S')}", f"{at(50, 'A')}:{at(52, 'S')}"]
    return [parse_mutant(t) for t in texts]


@pytest.mark.parametrize("protocol", ["q5", "quikchange"])
def test_primers_make_the_variant_match_the_template_and_have_biopythons_tm(gene, variants, protocol):
    windows = Windows(16, 60, 50.0, 95.0)
    designs = design_primers(gene, variants, protocol, usage=ECOLI, windows=windows)
    for design, variant in zip(designs, variants):
        assert not design.error, design.error
        expected = list(TEM1)
        for m in variant.mutations:
            expected[m.position - 1] = m.mt
        assert translate(design.gene) == "".join(expected)  # the product translates to the variant
        changed = {i for i, (a, b) in enumerate(zip(gene.dna, design.gene)) if a != b}
        assert changed and all(i // 3 + 1 in {m.position for m in variant.mutations} for i in changed)
        rounds = sorted({p.name.rsplit("_", 1)[0] for p in design.primers})
        assert len(design.primers) == 2 * len(rounds)
        for primer in design.primers:
            top = reverse_complement(primer.sequence) if primer.reverse else primer.sequence
            template = gene.dna[primer.start:primer.start + len(top)]
            product = design.gene[primer.start:primer.start + len(top)]
            mismatches = {primer.start + i for i, (a, b) in enumerate(zip(top, template)) if a != b}
            assert mismatches <= changed  # matches the template except at the intended bases
            assert top == product or primer.reverse  # carries the variant's bases
            assert windows.min_length <= len(primer.sequence) <= windows.max_length
            inside = sorted(i - primer.start for i in changed if primer.start <= i < primer.start + len(top))
            if protocol == "quikchange":  # Agilent: 81.5 + 0.41 %GC - 675/N - %mismatch, at least 78 C, centred
                n = len(primer.sequence)
                gc = 100 * sum(b in "GC" for b in primer.sequence) / n
                assert math.isclose(primer.tm, 81.5 + 0.41 * gc - 675 / n - 100 * len(inside) / n, abs_tol=1e-9)
                assert primer.tm >= 78 and abs(inside[0] - (len(top) - 1 - inside[-1])) <= 1
                continue
            if primer.reverse:
                counted = primer.sequence
            else:  # a Q5 forward primer: the change in its centre, >= 10 matching bases after it, which count
                counted = primer.sequence[inside[-1] + 1:]
                assert len(counted) >= 10 and abs(inside[0] - len(counted)) <= 1
            expected_tm = MeltingTemp.Tm_NN(counted, dnac1=500, dnac2=0, Na=50, Mg=2, dNTPs=0.2, saltcorr=7)
            assert math.isclose(primer.tm, expected_tm, abs_tol=1e-9)
        if protocol == "q5":
            for forward, reverse in zip(design.primers[::2], design.primers[1::2]):
                assert abs(forward.tm - reverse.tm) <= 5  # NEB: the pair's Tms within 5 C
                assert forward.anneal == reverse.anneal == min(forward.tm + 3, reverse.tm + 3, 72)
                assert forward.start == reverse.start + len(reverse.sequence)  # back to back
    assert "made in 2 rounds" in " ".join(designs[3].notes)
    assert len(designs[4].primers) == 2  # two changes 6 bases apart: one primer pair
    if protocol == "quikchange":
        for design in designs:
            forward, reverse = design.primers[0], design.primers[1]
            assert reverse.sequence == reverse_complement(forward.sequence)


def test_primer_rows_mark_what_cannot_be_met_and_the_rest_is_still_ordered(gene, variants):
    tight = Windows(18, 24, 40.0, 45.0)  # no primer of 18-24 nt melts this low
    designs = design_primers(gene, variants[:2] + [parse_mutant("W999A")], "q5", usage=ECOLI, windows=tight)
    rows = order_rows(designs)
    assert any(r[8].startswith("OUTSIDE THE TM WINDOW") for r in rows)
    assert len(rows) == 4 and all(r[0] and r[1] for r in rows)  # the two designable variants are still ordered
    assert not_designed_rows(designs) == [["W999A", designs[-1].error]]  # reported apart, not as a blank row
    assert "position 999 is outside the gene" in designs[-1].error
    assert plate_map(["a", "b"]) == [("A1", "a"), ("A2", "b"), ("A3", "wild type"), ("A4", "empty")]
    with pytest.raises(UserError, match="do not fit one 96-well plate"):
        plate_map([str(i) for i in range(95)])


# ------------------------------------------------------------------------------------------------ library
def test_the_library_builder_counts_filters_and_scores():
    scores = np.full((6, 20), np.nan)
    sequence = "MKTAYC"
    rng = np.random.default_rng(0)
    for i in (1, 2, 4):
        scores[i] = rng.normal(size=20)
        scores[i]["ACDEFGHIKLMNPQRSTVWY".index(sequence[i])] = 0.0
    candidates = candidates_at(scores, sequence, [1, 2, 4])
    assert len(candidates) == 3 * 19 and candidates[0].score >= candidates[-1].score
    picked = [c for c in candidates if c.mt in "AW"][:4]  # two at each of two positions, say
    singles = build_library(picked, "singles")
    assert len(singles) == len(picked)
    combos = build_library(picked, "combinations", max_order=2)
    positions = [c.index for c in picked]
    same_position_pairs = sum(1 for a in range(len(picked)) for b in range(a + 1, len(picked))
                              if positions[a] == positions[b])
    assert len(combos) == len(picked) + math.comb(len(picked), 2) - same_position_pairs
    for entry in combos:
        assert math.isclose(entry.additive, sum(
            next(c.score for c in picked if c.index + 1 == m.position and c.mt == m.mt) for m in entry.variant.mutations))
    no_cys_pro = build_library(candidates, "singles", filters=LibraryFilters(exclude_introduced="CP"))
    assert len(no_cys_pro) == 3 * 17 and all(e.variant.mutations[0].mt not in "CP" for e in no_cys_pro)
    kept = build_library(candidates, "singles", filters=LibraryFilters(keep=frozenset({1}), min_score=0.0))
    assert all(e.variant.mutations[0].position != 2 and e.additive >= 0 for e in kept)
    region = build_library(candidates, "singles", filters=LibraryFilters(region=(4, 5)))
    assert {e.variant.mutations[0].position for e in region} == {5}
    chosen = build_library([Candidate(1, "K", "A", 0.5), Candidate(4, "Y", "F", -0.2)], "chosen")
    assert len(chosen) == 1 and str(chosen[0].variant) == "K2A:Y5F" and math.isclose(chosen[0].additive, 0.3)
    with_joint_scores(chosen, {"K2A:Y5F": 2.0})
    assert math.isclose(chosen[0].difference, 1.7) and chosen[0].epistasis
    with pytest.raises(UserError, match="two substitutions at one position"):
        build_library([Candidate(1, "K", "A", 0.5), Candidate(1, "K", "W", 0.1)], "chosen")


# ------------------------------------------------------------------------------------------------ CLI
def test_the_primers_command_writes_the_order_the_genes_and_the_plate(tmp_path, gene, capsys):
    dna = tmp_path / "bla.fasta"
    dna.write_text(f">bla back-translated\n{gene.dna}{gene.stop}\n")
    out = tmp_path / "order"
    project = tmp_path / "p.psproj"
    assert main(["primers", str(DEMO / "tem1_P62593.fasta"), "--numbering", "table",
                 str(DEMO / "tem1_ambler_numbering.csv"), "--dna", str(dna), "--mutants", "E104K,G238S,E104K:G238S",
                 "--protocol", "quikchange", "--out", str(out), "--project", str(project)]) == 0
    vendor = list(csv.reader((out / "order.csv").read_text().splitlines()))
    assert vendor[0] == ["Name", "Sequence", "Scale", "Purification"] and len(vendor) == 1 + 4
    order = list(csv.reader((out / "primers.csv").read_text().splitlines()))
    assert [row[:2] for row in order[1:]] == [row[:2] for row in vendor[1:]]
    assert order[0] == ["name", "sequence", "length", "tm", "gc_percent", "scale", "purification", "variant", "note",
                        "anneal_c"]
    # one row per distinct oligo: the double's two rounds are the singles' primers, ordered once and referenced
    assert len(order) == 1 + 4 and len({row[1] for row in order[1:]}) == 4 and all(row[0] for row in order[1:])
    assert {row[7] for row in order[1:]} == {"E104K; E104K:G238S", "G238S; E104K:G238S"}  # in Ambler numbering
    assert order[1][0] == "E104K_F" and set(order[1][1]) <= set("ACGT")
    assert (out / "not_designed.csv").read_text().splitlines() == ["variant,reason"]
    assert "Mg2+ 2 mM" in json.loads((out / "order.csv.json").read_text())["provenance"]["conditions"]
    genes = read_fasta(out / "variants_cds.fasta")
    assert [g.name for g in genes] == ["E104K", "G238S", "E104K:G238S"]
    fasta = (out / "variants_cds.fasta").read_text().split(">")[1:]
    assert all(translate("".join(record.splitlines()[1:])).endswith("*") for record in fasta)  # with their stop
    plate = (out / "plate_map.csv").read_text()
    assert "A3,E104K:G238S (2 rounds)" in plate and "A4,wild type" in plate and "A5,empty" in plate
    assert (out / "plate_map.png").read_bytes()[:4] == b"\x89PNG"
    from protein_studio.core.storage.project import load_project

    results = load_project(project).states[0].results
    assert results[-1]["kind"] == "primers" and len(results[-1]["data"]["variants"]) == 3

    # a gene that is not the protein: one line, file and codon
    wrong = tmp_path / "wrong.fasta"
    wrong.write_text(f">x\n{gene.dna[:-3]}GCG{gene.stop}\n")  # the last residue, W, becomes A
    assert main(["primers", str(DEMO / "tem1_P62593.fasta"), "--dna", str(wrong), "--mutants", "E26A",
                 "--out", str(tmp_path / "x")]) == 1
    assert "wrong.fasta" in capsys.readouterr().err.splitlines()[-1]
    # no gene: back-translated for the host chosen, said in the order sheet
    assert main(["primers", "--sequence", TEM1, "--host", "yeast", "--mutants", f"{TEM1[99]}100A,S2A",
                 "--out", str(tmp_path / "y")]) == 1
    text = (tmp_path / "y" / "primers.csv").read_text()
    gene = json.loads((tmp_path / "y" / "order.csv.json").read_text())["provenance"]["gene"]
    assert f"{TEM1[99]}100A_F" in text and "back-translated with the most used yeast codons" in gene
    assert "S2A" not in text  # what could not be designed is reported apart, never a blank-name row of the order
    assert ("S2A,\"no Q5 pair fits here: the forward primer needs the change in its centre with at least 10 "
            "matching bases on its 3' side" in (tmp_path / "y" / "not_designed.csv").read_text())
