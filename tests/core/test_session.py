"""Session state: documents from real files, edits, pasting, scans filled chunk by chunk, variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.core.documents.document import load_document
from protein_studio.core.documents.scans import ScanState
from protein_studio.core.documents.session import Session
from protein_studio.core.molecules.structures import ResidueId

REPO = Path(__file__).resolve().parents[2]
DEMO = [REPO / "resources" / "demo" / "tem1_P62593.fasta", REPO / "resources" / "demo" / "tem1_1btl.pdb"]
STRUCTURES = sorted((REPO / "tests" / "data").glob("*.pdb"))


def recorder(session):
    log = []
    session.document_changed.connect(lambda: log.append("document"))
    session.sequence_changed.connect(lambda idx: log.append(("sequence", list(idx))))
    session.scan_changed.connect(lambda pos: log.append(("scan", None if pos is None else list(pos))))
    session.variants_changed.connect(lambda: log.append("variants"))
    return log


def test_demo_sequence_is_aligned_to_the_differently_numbered_structure():
    doc = load_document(DEMO)
    assert len(doc) == 286 and doc.chain == "A"
    # the structure (renumbered 1-263) covers the mature enzyme: the signal peptide has no residue
    assert doc.numbering.residue_at(0) is None
    assert doc.label(0) == "(1)"  # unmapped: the sequence position, in parentheses
    mapped = [i for i in range(len(doc)) if doc.numbering.residue_at(i) is not None]
    assert len(mapped) == 263
    first = mapped[0]
    assert doc.numbering.residue_at(first) == ResidueId("A", 1)
    assert doc.label(first) == "1"
    assert doc.sequence[first:first + 5] == doc.structure.chains[0].sequence[:5]


@pytest.mark.parametrize("path", STRUCTURES, ids=lambda p: p.name)
def test_every_structure_opens_on_its_first_chain(path):
    doc = load_document([path])
    chain = doc.structure.chains[0]
    assert doc.sequence == chain.sequence
    assert doc.numbering.residue_at(0) == chain.residues[0]
    assert doc.label(len(doc) - 1) == chain.residues[-1].label


def test_a_fasta_with_several_records_opens_the_first_and_says_so():
    path = REPO / "tests" / "data" / "few_proteins.fasta"
    doc = load_document([path])
    assert doc.structure is None and doc.numbering.residue_at(0) is None  # no structure, no residues
    assert doc.scheme.kind == "sequence" and doc.label(0) == "1"
    assert any("opened the first" in note for note in doc.notes)
    assert doc.record == 0 and len(doc.records) > 1 and doc.records[0] == doc.name


def test_bad_files_raise_input_errors(tmp_path):
    garbled = tmp_path / "broken.pdb"
    garbled.write_text("this is not a structure\n")
    with pytest.raises(InputError):
        load_document([garbled])
    with pytest.raises(InputError, match="no such file"):
        load_document([tmp_path / "missing.fasta"])
    unknown = tmp_path / "notes.xyz"
    unknown.write_text("hello")
    with pytest.raises(InputError, match="unknown file type"):
        load_document([unknown])
    with pytest.raises(InputError, match="one FASTA"):
        load_document([DEMO[0], DEMO[0]])


def test_edits_count_mutations_and_refuse_bad_letters():
    session = Session()
    session.open(load_document([DEMO[0]]))
    log = recorder(session)
    assert session.set_residue(1, "A") == "S"
    assert log == [("sequence", [1])]
    assert str(session.document.mutations()) == "S2A"
    assert session.document.mutated_indices() == [1]
    with pytest.raises(InputError, match="not one of the 20"):
        session.set_residue(2, "B")
    with pytest.raises(InputError, match="outside the sequence"):
        session.set_residue(500, "A")
    undo = session.apply_mutant("I3V:Q4K")
    assert undo == [(2, "I"), (3, "Q")]
    assert session.document.sequence.startswith("MAVKH")
    with pytest.raises(InputError, match="position 5 is H, not A"):
        session.apply_mutant("A5G")
    session.set_residue(1, "S")
    assert str(session.document.mutations()) == "I3V:Q4K"


def test_a_nonstandard_wild_type_residue_can_be_mutated_and_restored(tmp_path):
    path = tmp_path / "with_x.fasta"
    path.write_text(">x\nMKXAY\n")
    session = Session()
    session.open(load_document([path]))
    assert session.set_residue(2, "G") == "X"
    assert session.document.mutations() is None  # X2G cannot be named: X is not an amino acid
    assert session.set_residue(2, "X") == "G"  # undo puts the X back
    assert session.document.sequence == "MKXAY"
    with pytest.raises(InputError):
        session.set_residue(1, "X")


def test_paste_same_length_edits_other_length_replaces_and_restores():
    session = Session()
    session.open(load_document(DEMO))
    before = session.snapshot()
    session.begin_scan("m", "wt-marginals")
    wt = session.document.wild_type
    session.replace_sequence("A" + wt[1:])  # bare letters of the same length: edits
    assert session.document.mutated_indices() == [0]
    assert session.scan is not None  # same length keeps the scan
    session.replace_sequence(">edited a pasted record\n" + "A" + wt[1:])  # a FASTA record: the new document
    assert session.document.name == "edited" and session.document.wild_type == "A" + wt[1:]
    assert session.document.mutated_indices() == [] and session.scan is None
    mature = session.document.structure.chains[0].sequence
    session.replace_sequence(mature[10:60])  # a fragment: realigned onto the structure
    doc = session.document
    assert doc.wild_type == doc.sequence == mature[10:60]
    assert session.scan is None and doc.numbering.residue_at(0) == ResidueId("A", 11)
    session.replace_sequence("MKTAYIAKQRQISFVKSHFSRQ")  # unrelated: shown, but nothing maps onto the structure
    assert session.document.numbering.mapped == 0 and len(session.document) == 22
    with pytest.raises(InputError):
        session.replace_sequence("MK@T")
    session.restore(before)
    assert session.document.sequence == wt


def test_scan_fills_chunk_by_chunk_with_summary_and_ranks():
    session = Session()
    session.open(load_document([DEMO[0]]))
    sequence = session.document.sequence[:4]
    scan = ScanState.empty("random-esm2-tiny", "masked-marginals", sequence, random_weights=True)
    assert scan.positions_done == 0 and np.isnan(scan.summary()).all()
    rows = np.arange(40, dtype=float).reshape(2, 20)
    scan.update([1, 3], rows)
    assert scan.positions_done == 2
    summary = scan.summary()
    s_col = AMINO_ACIDS.index(sequence[1])
    assert summary[1] == pytest.approx(np.delete(rows[0], s_col).mean())
    assert np.isnan(summary[0])
    ranks = scan.ranks()
    assert ranks[3, 19] == 1  # the highest score is rank 1
    assert ranks[1, s_col] == 0  # wild type is not ranked
    assert ranks.max() == 38


def test_session_scan_and_variants_events():
    session = Session()
    session.open(load_document([DEMO[0]]))
    log = recorder(session)
    session.begin_scan("random-esm2-tiny", "wt-marginals")
    session.add_scan_chunk([0], np.ones((1, 20)))
    assert log[-1] == ("scan", [0])
    session.finish_scan()
    assert session.scan.complete is False
    full = np.zeros((len(session.document), 20))
    session.finish_scan(full)
    assert session.scan.complete is True
    assert session.add_variant("M1A:S2G") is True
    assert session.add_variant("S2G:M1A") is False  # same canonical mutant
    assert session.scan.additive_score(session.variants[0]) == 0.0
    with pytest.raises(InputError):
        session.add_variant("K1A")
    session.remove_variant(session.variants[0])
    assert session.variants == [] and log[-1] == "variants"


def test_preview_rows_are_replaced_by_final_rows_and_dropped_when_the_scan_stops_early():
    scan = ScanState.empty("m", "masked-marginals", "MKTA")
    preview = np.full((4, 20), -1.0)
    scan.update([0, 1, 2, 3], preview, final=False)
    assert scan.positions_done == 0 and scan.positions_in_preview == 4
    scan.update([1], np.full((1, 20), 2.0))
    scan.update([1], np.full((1, 20), -5.0), final=False)  # a late preview never overwrites a final row
    assert scan.scores[1, 0] == 2.0 and scan.positions_done == 1 and scan.positions_in_preview == 3
    scan.drop_preview()
    assert np.isnan(scan.scores[[0, 2, 3]]).all() and scan.scores[1, 0] == 2.0
    assert scan.positions_in_preview == 0


def test_finishing_a_scan_with_preview_left_is_not_complete():
    session = Session()
    session.open(load_document([DEMO[0]]))
    length = len(session.document.sequence)
    session.begin_scan("m", "masked-marginals")
    session.add_scan_chunk(list(range(length)), np.zeros((length, 20)), final=False)
    session.add_scan_chunk([0, 1], np.ones((2, 20)))
    session.finish_scan(None)
    assert not session.scan.complete and session.scan.positions_done == 2
    assert np.isnan(session.scan.scores[2:]).all()
