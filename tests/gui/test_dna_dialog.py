"""Run > Design DNA through its buttons: a library from heatmap cells, joint scores, primers, and the order
written to a folder and kept in the project (issue 12)."""

from __future__ import annotations

import json

import math

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

pytest.importorskip("torch")
pytest.importorskip("Bio")

from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.gui.controllers.documents import DEMO_FILES  # noqa: E402

MODEL = "random-esm2-tiny"
TIMEOUT = 60000


def test_design_dna_from_heatmap_cells_to_an_order(studio, qtbot, tmp_path, monkeypatch):
    window = studio
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    window.models.set_model(MODEL)
    with qtbot.waitSignal(window.scanFinished, timeout=TIMEOUT):
        window.scans.scan_action.trigger()
    doc = window.session.document
    first, second = 100, 104  # two positions clicked in the heatmap, the second with Ctrl
    window.heatmap.ensure_visible(first)
    QTest.mouseClick(window.heatmap.viewport(), Qt.LeftButton, Qt.NoModifier, window.heatmap.cell_center(first, 0))
    window.heatmap.ensure_visible(second)
    QTest.mouseClick(window.heatmap.viewport(), Qt.LeftButton, Qt.ControlModifier, window.heatmap.cell_center(second, 0))
    assert sorted(window.mediator.selection) == [first, second]

    window.variants.design_dna_action.trigger()
    dialog = window.variants.dna_dialog
    assert dialog.isVisible() and doc.residue_text(first) in dialog.positions.text()
    dialog.mode.setCurrentIndex(dialog.mode.findData("combinations"))
    dialog.order.setValue(2)
    dialog.exclude.setText("CP")
    dialog.min_score.setValue(0.0)
    dialog.buttons["build"].click()
    scores = window.session.scan.scores
    accepted = {i: [a for c, a in enumerate(AMINO_ACIDS) if a != doc.wild_type[i] and a not in "CP" and scores[i][c] >= 0]
                for i in (first, second)}
    expected = len(accepted[first]) + len(accepted[second]) + len(accepted[first]) * len(accepted[second])
    assert len(dialog.library) == dialog.library_table.rowCount() == expected > 0
    double = next(e for e in dialog.library if len(e.variant.mutations) == 2)
    singles = [scores[m.position - 1][AMINO_ACIDS.index(m.mt)] for m in double.variant.mutations]
    assert math.isclose(double.additive, sum(singles), rel_tol=1e-9)

    with qtbot.waitSignal(window.worker.jobFinished, timeout=TIMEOUT):
        dialog.buttons["joint"].click()
    qtbot.waitUntil(lambda: dialog.joint_job is None, timeout=TIMEOUT)
    assert all(entry.joint is not None for entry in dialog.library)
    assert dialog.library_table.item(0, 3).text() != ""

    # the gene, imported through the button (here the protein back-translated for yeast, saved as FASTA)
    from protein_studio.core.cloning.dna import back_translate, codon_usage

    gene = back_translate(doc.wild_type, codon_usage("yeast"))
    gene_file = tmp_path / "bla_yeast.fasta"
    gene_file.write_text(f">bla_yeast\n{gene.dna}{gene.stop}\n")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(gene_file), ""))
    dialog.buttons["gene"].click()
    assert dialog.gene.dna == gene.dna and "bla_yeast.fasta" in dialog.gene_label.text()

    dialog.protocol.setCurrentIndex(dialog.protocol.findData("quikchange"))
    assert dialog.min_tm.value() == 78.0  # Agilent: Tm >= 78 C by its formula
    dialog.buttons["design"].click()  # the yeast gene is AT-rich here: no centred primer reaches 78 C
    assert dialog.designs and all("reaches Agilent's Tm >= 78 C: the best centred primer reaches" in d.error
                                  for d in dialog.designs)
    dialog.protocol.setCurrentIndex(dialog.protocol.findData("q5"))
    dialog.buttons["design"].click()
    assert len(dialog.designs) == len(dialog.library) and dialog.primer_table.rowCount() >= 2
    assert all(not d.error for d in dialog.designs)

    out = tmp_path / "order"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    results_before = len(window.session.state.results)
    dialog.buttons["write"].click()
    assert {p.name for p in out.iterdir()} == {"order.csv", "primers.csv", "not_designed.csv", "variants_cds.fasta",
                                               "plate_map.csv", "plate_map.png", "order.csv.json", "primers.csv.json",
                                               "not_designed.csv.json", "plate_map.csv.json"}  # provenance beside
    assert doc.name_mutant(double.variant) in (out / "variants_cds.fasta").read_text()
    assert json.loads((out / "order.csv.json").read_text())["provenance"]["gene"] == "bla_yeast (bla_yeast.fasta)"
    assert len(window.session.state.results) == results_before + 1
    assert window.session.state.results[-1]["kind"] == "primers"
    dialog.buttons["add"].click()
    assert len(window.session.variants) == len(dialog.library)
    dialog.close()


def test_import_gene_picks_bla_from_pbr322_and_the_design_survives_a_reopened_project(studio, qtbot, menu, reopen,
                                                                                        tmp_path, monkeypatch):
    from pathlib import Path

    from protein_studio.core.molecules.mutations import MultiMutant, Mutation

    window = studio
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    wt = window.session.document.wild_type
    assert window.variants.add_variant(MultiMutant((Mutation(104, wt[103], "K"),)))
    menu(window, "Run", "Design DNA").trigger()
    dialog = window.variants.dna_dialog
    dialog.mode.setCurrentIndex(dialog.mode.findData("chosen"))
    dialog.buttons["build"].click()
    plasmid = Path(__file__).resolve().parents[1] / "data" / "pBR322_J01749.gb"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(plasmid), ""))
    dialog.buttons["gene"].click()
    assert window.last_error is None
    assert "CDS bla complement(3293..4153)" in dialog.gene_label.text() and dialog.gene.stop == "TAA"
    dialog.buttons["design"].click()
    assert dialog.designs and not dialog.designs[0].error and dialog.primer_table.rowCount() == 2

    # a record with two CDS features that encode the protein: the user picks one from the list
    from Bio import SeqIO
    from PySide6.QtWidgets import QInputDialog

    record = SeqIO.read(plasmid, "genbank")
    copy = next(f for f in record.features if f.qualifiers.get("gene") == ["bla"])
    record.features.append(type(copy)(copy.location, type="CDS", qualifiers={"gene": ["bla_copy"]}))
    twice = tmp_path / "two_bla.gb"
    SeqIO.write(record, twice, "genbank")
    offered = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(twice), ""))
    monkeypatch.setattr(QInputDialog, "getItem",
                        lambda _parent, _title, _label, items, *a, **k: (offered.extend(items) or items[-1], True))
    dialog.buttons["gene"].click()
    assert len(offered) == 4 and offered[-1].startswith("4 bla_copy complement(3293..4153)")
    assert "CDS bla_copy complement(3293..4153)" in dialog.gene_label.text()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(plasmid), ""))
    dialog.buttons["gene"].click()
    assert "CDS bla complement(3293..4153)" in dialog.gene_label.text()

    path = tmp_path / "plasmid.psproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    menu(window, "File", "Save Project As").trigger()
    with reopen(path, monkeypatch) as second:
        menu(second, "Run", "Design DNA").trigger()
        again = second.variants.dna_dialog
        assert "CDS bla complement(3293..4153)" in again.gene_label.text()
        assert again.gene == dialog.gene and again.primer_table.rowCount() == 2  # the plasmid around it too


def test_damaged_designs_kept_in_a_project_are_said_and_left_out(studio, menu):
    """A project is untrusted input: a DNA design whose gene is not the protein's, and a redesign record with
    fields of the wrong kind, open as empty dialogs with a message, never a traceback."""
    window = studio
    assert window.documents.open_files(list(DEMO_FILES), remember=False)
    state = window.session.state
    state.results.append({"kind": "dna design", "name": "tampered", "arrays": {}, "provenance": {},
                          "data": {"library": [], "gene": {"name": "x", "dna": "ATGAAA", "source": "x"}}})
    state.results.append({"kind": "designs", "name": "tampered", "arrays": {}, "provenance": {},
                          "data": {"settings": {}, "designs": [{"name": "d", "nll": "much"}]}})
    menu(window, "Run", "Design DNA").trigger()
    dialog = window.variants.dna_dialog
    assert dialog.gene is None and "No gene imported" in dialog.gene_label.text()
    assert "The DNA design kept with this document could not be read" in window.activity.entries()[-1]
    menu(window, "Run", "Redesign with ProteinMPNN").trigger()
    redesign = window.design_tools.redesign_dialog
    assert redesign.rows() == [] and "could not be read" in redesign.status.text()
