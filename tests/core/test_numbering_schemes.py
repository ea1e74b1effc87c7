"""One numbering for every label: schemes, mutation text read in them, chromophores, chain breaks, and what
the B-factor column means."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, parse_mutation, split_mutant_text
from protein_studio.core.molecules.numbering import NumberingScheme, read_numbering_table
from protein_studio.core.molecules.sequences import read_fasta
from protein_studio.core.documents.document import load_document, scheme_for
from protein_studio.core.documents.scans import ScanState
from protein_studio.core.documents.session import Session
from protein_studio.core.molecules.structures import load_structure, structure_from_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gfp_model import ema_sequence, write_gfp_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
DEMO = [REPO / "resources" / "demo" / "tem1_P62593.fasta", REPO / "resources" / "demo" / "tem1_1btl.pdb"]


def ambler_table(path: Path) -> Path:
    """TEM-1's Ambler numbering made here from its rule: UniProt index + 2 up to 238; no 239, no 253."""
    rows = ["uniprot,ambler"]
    for index in range(1, 287):
        label = index + 2
        label += 1 if label > 238 else 0
        label += 1 if label >= 253 else 0
        rows.append(f"{index},{label}")
    path.write_text("\n".join(rows) + "\n")
    return path


# ---------------------------------------------------------------------------------------- schemes
def test_sequence_offset_and_table_schemes_name_and_read_positions(tmp_path):
    seq = "MKTAYIAKQR"
    assert NumberingScheme.sequence(10).display(0) == "1"
    offset = NumberingScheme.with_offset(10, 25)
    assert offset.display(0) == "26" and offset.index("35") == 9 and offset.index("25") is None
    assert offset.span == "26-35" and offset.description == "offset +25"
    table = NumberingScheme.from_table(10, "# a comment\nindex,label\n1,-1\n2,1\n3,1A\n5,3\n", "t.csv")
    assert table.labels[:5] == ("-1", "1", "1A", None, "3")
    assert table.display(3) == "(4)"  # no label here: the sequence index in parentheses
    assert table.parse_mutant("M-1A", seq) == MultiMutant((Mutation(1, "M", "A"),))
    assert table.parse_mutant("T1AG:A(4)W", seq).positions == (3, 4)  # insertion code 1A, then index 4
    assert table.name_mutant(MultiMutant((Mutation(3, "T", "G"), Mutation(4, "A", "W")))) == "T1AG:A(4)W"
    assert table.parse_positions("1-3") == [1, 2, 3, 4] and table.parse_positions("(4)") == [3]


def test_the_ambler_table_reads_the_literature_names_on_tem1(tmp_path):
    doc = load_document(DEMO)
    ambler = scheme_for(doc, "table", ambler_table(tmp_path / "ambler.csv"))
    doc = replace(doc, scheme=ambler)
    mutant = doc.parse_mutant("E104K:G238S")
    assert mutant.positions == (102, 236)  # UniProt 102 and 236
    assert doc.name_mutant(mutant) == "E104K:G238S" and str(mutant) == "E102K:G236S"
    assert ambler.index("239") is None and ambler.index("253") is None and ambler.display(285) == "290"
    # the shipped table is the same rule
    shipped = scheme_for(doc, "table", REPO / "resources" / "demo" / "tem1_ambler_numbering.csv")
    assert shipped.labels == ambler.labels


def test_a_label_that_is_not_there_or_holds_another_residue_names_every_scheme(tmp_path):
    doc = load_document(DEMO)
    doc = replace(doc, scheme=scheme_for(doc, "table", ambler_table(tmp_path / "ambler.csv")))
    with pytest.raises(InputError) as missing:
        doc.parse_mutant("E239K")
    text = str(missing.value)
    assert "has no position 239" in text and "in sequence numbering 239 is G" in text
    assert "in structure numbering 239 is" in text
    with pytest.raises(InputError) as wrong:
        doc.parse_mutant("A104K")
    assert "position 104 is E, not A" in str(wrong.value) and "in sequence numbering 104 is S" in str(wrong.value)
    # in structure numbering the classic name does not fit, and the message says what fits where
    structure_doc = load_document(DEMO)
    with pytest.raises(InputError, match=r"position 104 is .*, not E; in sequence numbering 104 is"):
        structure_doc.parse_mutant("E104K")


@pytest.mark.parametrize("text, problem", [
    ("1,5\n1,6\n", "sequence index 1 is given twice (lines 1 and 2)"),
    ("1,5\n2,5\n", "label 5 is given twice (lines 1 and 2)"),
    ("1,5\n40,6\n", "sequence index 40 is outside the sequence (1-10)"),
    ("1,five\n", "label 'five' is not a residue number"),
    ("1\n", "expected two columns"),
    ("# nothing\n", "holds no rows"),
    ("x,y\n1٣,4\n", "sequence index '1٣' is not a number"),
])
def test_bad_numbering_tables_name_file_and_line(text, problem):
    with pytest.raises(InputError, match="ambler.csv") as error:
        read_numbering_table(text, 10, "ambler.csv")
    assert problem in str(error.value)


def test_a_reference_sequence_numbers_the_sequence_by_alignment():
    uniprot = read_fasta(DEMO[0])[0]
    mature = uniprot.sequence[23:]
    scheme = NumberingScheme.from_reference(mature, uniprot.sequence, "P62593")
    assert scheme.display(0) == "24" and scheme.index("102") == 78 and scheme.description == "reference P62593"
    with pytest.raises(InputError, match="does not match"):
        NumberingScheme.from_reference("W" * 40, uniprot.sequence, "P62593")


@pytest.mark.parametrize("text, label", [("E52AA", "52A"), ("M-9A", "-9"), ("p.Glu52AGly", "52A"),
                                         ("K(12)R", "(12)"), ("A42G", "42")])
def test_mutation_text_keeps_insertion_codes_negative_numbers_and_sequence_indices(text, label):
    assert split_mutant_text(text)[0].label == label


@pytest.mark.parametrize("text", ["A٣G", "A３G", "A4²G"])
def test_digits_other_than_ascii_are_not_read_as_numbers(text):
    with pytest.raises(InputError, match="cannot read mutation"):
        parse_mutation(text)


def test_scheme_round_trips_through_plain_data(tmp_path):
    scheme = NumberingScheme.from_table(5, "1,10\n2,10A\n4,12\n", "t.csv")
    assert NumberingScheme.from_dict(scheme.to_dict()) == scheme


# ---------------------------------------------------------------------------------- documents
def test_a_structure_numbers_the_document_and_a_fasta_range_gives_an_offset(tmp_path):
    demo = load_document(DEMO)
    assert demo.scheme.kind == "structure" and demo.label(23) == "1" and demo.label(0) == "(1)"
    ranged = tmp_path / "r.fasta"
    ranged.write_text(">PABP_YEAST/126-200\n" + load_structure(DATA / "PABP_YEAST_126-200_predicted.pdb")
                      .chains[0].sequence + "\n")
    doc = load_document([ranged])
    assert doc.scheme.kind == "offset" and doc.label(0) == "126" and doc.label(74) == "200"


def test_multi_record_fasta_opens_the_record_asked_for():
    path = DATA / "few_proteins.fasta"
    records = read_fasta(path)
    second = load_document([path], record=2)
    assert second.name == records[1].name and second.sequence == records[1].sequence and second.record == 1
    assert load_document([path], record=records[2].name).record == 2
    with pytest.raises(InputError, match=f"record 99 does not exist: the file holds {len(records)}"):
        load_document([path], record=99)
    with pytest.raises(InputError, match="no record named 'nope'"):
        load_document([path], record="nope")


def test_pasting_a_fasta_record_takes_its_name():
    session = Session()
    session.open(load_document(DEMO))
    session.replace_sequence(">TEM-52 a variant from the bench\n" + session.document.wild_type[:200])
    assert session.document.name == "TEM-52"


def test_switching_the_scheme_keeps_scan_and_variants():
    session = Session()
    session.open(load_document(DEMO))
    session.begin_scan("m", "wt-marginals")
    session.add_variant("M45A" if session.document.wild_type[67] == "M" else
                        f"{session.document.wild_type[67]}45A")
    changed = []
    session.numbering_changed.connect(lambda: changed.append(True))
    session.set_scheme(scheme_for(session.document, "sequence"))
    assert changed and session.scan is not None and len(session.variants) == 1
    assert session.document.name_mutant(session.variants[0]).startswith(f"{session.document.wild_type[67]}68")


# ---------------------------------------------------------------------------------- chromophores
def test_the_gfp_chromophore_is_its_three_residues_numbered_65_to_67_and_left_out_of_scans(tmp_path):
    doc = load_document([write_gfp_model(tmp_path / "1ema_model.pdb")])
    assert doc.sequence == ema_sequence() and len(doc) == 228
    y66 = doc.scheme.index("66")
    assert doc.sequence[y66 - 1:y66 + 2] == "TYG" and [doc.label(i) for i in (y66 - 1, y66, y66 + 1)] == \
        ["65", "66", "67"]
    assert sorted(doc.excluded) == [y66 - 1, y66, y66 + 1]
    assert "chromophore CRO A:66" in doc.excluded[y66] and any("left out of scans" in n for n in doc.notes)
    # C70 is C70 (the window once called it C67: sequence index with the chromophore as one X)
    assert doc.name_mutant(doc.parse_mutant("C70S")) == "C70S" and doc.label(doc.scheme.index("70")) == "70"
    # Y66 can be named and mutated (Y66W: cyan, Y66H: blue)
    session = Session()
    session.open(doc)
    session.apply_mutant("Y66W")
    assert session.document.sequence[y66] == "W"
    scan = ScanState.empty("m", "masked-marginals", doc.sequence, excluded=doc.excluded)
    assert scan.positions_to_scan == 225 and scan.positions_done == 0
    scan.update(doc.scannable(), np.zeros((225, 20)))
    assert scan.positions_done == 225 and np.isnan(scan.scores[y66]).all()
    assert (scan.ranks()[y66] == 0).all()  # never ranked
    # the 3D residue maps back to all three letters
    assert doc.numbering.indices_of(doc.numbering.residue_at(y66)) == [y66 - 1, y66, y66 + 1]


def test_chain_breaks_are_found_in_numbering_gaps_and_long_peptide_bonds(tmp_path):
    doc = load_document([write_gfp_model(tmp_path / "gap.pdb", missing=(156, 157, 158))])
    i = doc.scheme.index("155")
    assert doc.breaks == (i,) and doc.label(i + 1) == "159"
    whole = load_document([write_gfp_model(tmp_path / "whole.pdb")])
    assert whole.breaks == ()  # the chromophore's numbering jump is not a break
    demo = load_document(DEMO)  # the sequence runs on where 1BTL's coordinates start
    assert 22 in demo.breaks and demo.label(22) == "(23)" and demo.label(23) == "1"
    text = (DATA / "1ubq.pdb").read_text().splitlines()
    moved = []
    for line in text:  # pull residue 40 (and what follows) 10 angstroms away: a break with no missing number
        if line.startswith("ATOM") and int(line[22:26]) >= 40:
            line = line[:30] + f"{float(line[30:38]) + 10:8.3f}" + line[38:]
        moved.append(line)
    stretched = structure_from_text("\n".join(moved) + "\n", "pdb", name="stretched")
    assert stretched.chains[0].breaks == (38,) and stretched.chains[0].gaps == []


# --------------------------------------------------------------------------- pLDDT or B-factors
@pytest.mark.parametrize("name, kind", [
    ("1ubq.pdb", "bfactor"),                           # EXPDTA X-RAY DIFFRACTION
    ("2qmt.pdb", "bfactor"),
    ("2N2U.pdb", "bfactor"),                           # no header; values differ between a residue's atoms
    ("PABP_YEAST_126-200_predicted.pdb", "bfactor"),   # no header, name or scores file: never pLDDT by a guess
    ("1btl.pdb", None),                                # every B-factor 0
])
def test_what_the_b_factor_column_holds(name, kind):
    assert load_structure(DATA / name).confidence_kind == kind


def test_a_guessed_column_says_so_and_the_user_can_say_otherwise():
    guessed = load_structure(DATA / "PABP_YEAST_126-200_predicted.pdb")
    assert guessed.confidence_guessed and guessed.looks_predicted and "guessed" in guessed.confidence_evidence
    chosen = guessed.with_confidence("plddt")
    assert chosen.confidence_kind == "plddt" and not chosen.confidence_guessed
    assert chosen.confidence_evidence == "chosen by the user"
    np.testing.assert_allclose(chosen.chains[0].confidence, guessed.chains[0].confidence)  # already 0-100
    experimental = load_structure(DATA / "1ubq.pdb")
    assert not experimental.confidence_guessed and "X-RAY" in experimental.confidence_evidence
    assert not load_structure(DATA / "2N2U.pdb").looks_predicted  # values differ between a residue's atoms


@pytest.mark.parametrize("file_name, evidence", [
    ("AF-P0CG48-F1-model_v4.pdb", "AlphaFold DB file name"),
    ("ubq_unrelaxed_rank_001_alphafold2_ptm_model_1_seed_000.pdb", "ColabFold file name"),
    ("ranked_0.pdb", "AlphaFold file name"),
])
def test_a_predictors_file_name_is_evidence(tmp_path, file_name, evidence):
    text = (DATA / "PABP_YEAST_126-200_predicted.pdb").read_text()
    (tmp_path / file_name).write_text(text)
    structure = load_structure(tmp_path / file_name)
    assert structure.confidence_kind == "plddt" and evidence in structure.confidence_evidence
    assert not structure.confidence_guessed


def test_a_scores_file_beside_the_structure_is_evidence(tmp_path):
    (tmp_path / "model.pdb").write_text((DATA / "PABP_YEAST_126-200_predicted.pdb").read_text())
    assert load_structure(tmp_path / "model.pdb").confidence_kind == "bfactor"
    (tmp_path / "model_pae.json").write_text('{"pae": [[0.5]], "max_pae": 31.75}')
    structure = load_structure(tmp_path / "model.pdb")
    assert structure.confidence_kind == "plddt" and "model_pae.json" in structure.confidence_evidence


def test_a_predictor_header_means_plddt_and_a_0_to_1_column_is_scaled():
    lines = (DATA / "1ubq.pdb").read_text().splitlines()
    atoms = [line for line in lines if line.startswith(("ATOM", "HETATM"))]
    titled = structure_from_text("\n".join(["TITLE     ALPHAFOLD MONOMER V2.0 PREDICTION FOR UBIQUITIN"] + atoms),
                                 "pdb", name="af")
    assert titled.confidence_kind == "plddt"
    fractions = [line[:60] + f"{0.5 + (k % 5) / 10:6.2f}" + line[66:] for k, line in enumerate(atoms)]
    scaled = structure_from_text("\n".join(["TITLE     COLABFOLD MODEL"] + fractions), "pdb", name="fractions")
    assert scaled.confidence_kind == "plddt" and np.nanmax(scaled.chains[0].confidence) > 50
    bare = structure_from_text("\n".join(fractions), "pdb", name="fractions")  # 0-1 without evidence: a guess
    assert bare.confidence_kind == "bfactor" and bare.confidence_guessed and bare.looks_predicted
    experimental = structure_from_text("\n".join(["EXPDTA    X-RAY DIFFRACTION"] + fractions), "pdb", name="x")
    assert experimental.confidence_kind == "bfactor"  # the header wins over the values
    assert structure_from_text("\n".join(atoms), "pdb", confidence="plddt").confidence_kind == "plddt"
