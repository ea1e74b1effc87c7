"""Positions from a file are checked against the wild type before they are used: the real TEM-1 DMS table
(UniProt positions) read under the demo's Ambler numbering is refused, naming the numbering that fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from protein_studio.core.assays.dms import read_dms
from protein_studio.core.assays.measurements import read_assay
from protein_studio.core.documents.document import load_document, scheme_for
from protein_studio.core.documents.positions import NumberingMismatch, check_numbering, numbering_fits
from protein_studio.core.molecules.numbering import NumberingScheme

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
BLAT = REPO / "tests" / "data" / "BLAT_ECOLX_Ranganathan2015_2500.csv"
PDB_1BTL = REPO / "tests" / "data" / "1btl.pdb"


@pytest.fixture(scope="module")
def mutants():
    return [str(m) for m in read_dms(BLAT).mutants]


@pytest.fixture(scope="module")
def ambler_demo():
    doc = load_document([DEMO / "tem1_P62593.fasta", DEMO / "tem1_1btl.pdb"])
    from dataclasses import replace

    return replace(doc, scheme=scheme_for(doc, "table", DEMO / "tem1_ambler_numbering.csv"))


def test_every_numbering_of_the_demo_is_counted(mutants, ambler_demo):
    fits = {f.name: f for f in numbering_fits(mutants, ambler_demo.wild_type, ambler_demo.schemes())}
    assert len(mutants) == 4996
    assert fits["sequence"].matched == 4996 and fits["sequence"].rate == 1.0
    assert fits["table"].matched == 247  # Ambler = UniProt + 2 up to 238: rows two positions off
    assert fits["table"].matched + fits["table"].mismatched + fits["table"].outside == 4996
    assert fits["structure"].rate < 0.2  # 1BTL's own numbering starts at 1 for residue 24


def test_the_wrong_numbering_is_refused_and_the_right_one_named(mutants, ambler_demo):
    with pytest.raises(NumberingMismatch, match=r"only 247 of 4,996 \(5 %\).*use --numbering sequence") as caught:
        check_numbering(mutants, ambler_demo.wild_type, ambler_demo.scheme, ambler_demo.schemes(), source="BLAT.csv")
    assert caught.value.better.name == "sequence" and caught.value.chosen.matched == 247
    assert str(caught.value).startswith("BLAT.csv: ")
    fits = check_numbering(mutants, ambler_demo.wild_type, NumberingScheme.sequence(286), ambler_demo.schemes())
    assert fits[0].rate == 1.0  # the right one passes, every numbering counted


def test_read_assay_refuses_before_using_a_row_and_reads_all_rows_in_the_right_numbering(ambler_demo):
    with pytest.raises(NumberingMismatch):
        read_assay(BLAT, ambler_demo.wild_type, ambler_demo.scheme, column="2500", schemes=ambler_demo.schemes())
    assay = read_assay(BLAT, ambler_demo.wild_type, NumberingScheme.sequence(286), column="2500",
                       schemes=ambler_demo.schemes())
    assert len(assay) == 4996 and assay.rows_used == 4996 and assay.problems == []
    assert assay.summary().endswith("4,996 rows, 4,996 used as 4,996 variants; every row used")


def test_a_whole_number_offset_is_found_when_no_numbering_of_the_document_fits(mutants):
    mature = load_document([PDB_1BTL])  # residues 24-286 of P62593, numbered 1-263 in this file
    fits = numbering_fits(mutants, mature.wild_type, mature.schemes())
    offset = fits[-1]
    assert offset.name == "offset +23" and offset.option == "--numbering offset 23"
    assert offset.rate > 0.99  # 1BTL differs from P62593 at two residues
    with pytest.raises(NumberingMismatch, match="use --numbering offset 23"):
        check_numbering(mutants, mature.wild_type, mature.scheme, mature.schemes())


def test_a_few_mismatches_in_the_right_numbering_pass():
    wild_type = "MKTAYIAKQR"
    texts = ["K2A", "T3G", "A4C", "Y5F", "I6V", "A7G", "K8R", "Q9E", "R10K", "M1A", "K3A"]  # one wrong of 11
    fits = check_numbering(texts, wild_type, NumberingScheme.sequence(10), {"sequence": NumberingScheme.sequence(10)})
    assert fits[0].matched == 10 and fits[0].mismatched == 1
