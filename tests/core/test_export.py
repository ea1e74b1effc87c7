"""Saving designs: the edited sequence's FASTA record, the variant table, and atomic writes."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from protein_studio.core.errors import UserError
from protein_studio.core.documents.session import VariantScore
from protein_studio.core.storage.export import (VARIANT_COLUMNS, document_record, variant_rows, variant_table,
                                                variants_fasta)
from protein_studio.core.tables import table_csv
from protein_studio.core.files import write_text_atomically
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS, format_fasta, parse_fasta_text
from protein_studio.core.documents.scans import ScanState

WT = "MKTAYIAKQR"  # numbered from 10: M10 K11 T12 A13 Y14 I15 A16 K17 Q18 R19
FROM_10 = NumberingScheme.with_offset(len(WT), 9)


def _v(text):
    """A variant typed in the numbering from 10, held in sequence positions."""
    return FROM_10.parse_mutant(text, WT)


def _scan():
    scores = np.arange(len(WT) * 20, dtype=float).reshape(len(WT), 20) / 100.0
    scores[5] = np.nan  # position 15 not scanned
    return ScanState("random-esm2-tiny", "masked-marginals", WT, scores)


ESM1V = VariantScore(-1.25, "esm1v_1", "masked-marginals, additive")
SAPROT = VariantScore(0.5, "saprot_35M_AF2", "masked-marginals, joint")


def _scores(**by_variant):
    return {name: {score.key: score for score in scores} for name, scores in by_variant.items()}


def test_rows_carry_scan_and_model_scores_and_the_mutated_sequence():
    variants = [_v("K11R:A13G"), _v("I15V"), _v("T12S")]
    assert [str(v) for v in variants] == ["K2R:A4G", "I6V", "T3S"]  # held in sequence positions
    scan = _scan()
    rows = variant_rows(WT, variants, scan, _scores(I6V=[ESM1V, SAPROT]), FROM_10)
    assert [r.variant for r in rows] == ["K11R:A13G", "I15V", "T12S"]
    assert [r.sequence_variant for r in rows] == ["K2R:A4G", "I6V", "T3S"]
    assert [r.n_mutations for r in rows] == [2, 1, 1]
    assert rows[0].positions == (1, 3)
    expected = scan.scores[1, AMINO_ACIDS.index("R")] + scan.scores[3, AMINO_ACIDS.index("G")]
    assert rows[0].scan_additive_score == pytest.approx(expected)
    assert rows[1].scan_additive_score is None  # its position is not scanned
    assert rows[1].scores == (ESM1V, SAPROT) and rows[1].latest == SAPROT  # every model's score is kept
    assert rows[0].scores == () and rows[0].latest is None
    assert rows[0].scan == scan.label and scan.label.startswith("random-esm2-tiny, masked-marginals, ")
    assert rows[0].sequence == "MRTGYIAKQR" and rows[1].sequence == "MKTAYVAKQR"
    assert all(r.scan_additive_score is None for r in variant_rows(WT, variants, scheme=FROM_10))
    assert [r.variant for r in variant_rows(WT, variants)] == ["K2R:A4G", "I6V", "T3S"]  # sequence numbering


def test_a_variant_that_does_not_match_the_wild_type_is_refused():
    with pytest.raises(UserError, match="position 2"):
        variant_rows(WT, [parse_mutant("A2G")])
    with pytest.raises(UserError, match="position 11 is K, not A"):
        _v("A11G")


def _csv(rows):
    return table_csv(*reversed(variant_table(rows))).splitlines()


def test_csv_names_each_scores_model_and_leaves_missing_scores_empty():
    scan = _scan()
    rows = variant_rows(WT, [_v("K11R:A13G"), _v("I15V")], scan, _scores(I6V=[ESM1V, SAPROT], K2R_A4G=[]), FROM_10)
    lines = _csv(rows)
    assert lines[0] == ",".join([*VARIANT_COLUMNS, "score_esm1v_1_masked_marginals_additive",
                                 "score_saprot_35M_AF2_masked_marginals_joint", "note", "sequence"])
    additive = rows[0].scan_additive_score
    assert lines[1] == f'K11R:A13G,K2R:A4G,2,{additive:.6g},"{scan.label}",,,,MRTGYIAKQR'
    assert lines[2] == f'I15V,I6V,1,,"{scan.label}",-1.25,0.5,,MKTAYVAKQR'
    assert len(lines) == 3
    noted = variant_rows(WT, [_v("I15V")], scheme=FROM_10, notes={"I6V": "made in round 2, 3x activity"})
    assert _csv(noted)[1] == 'I15V,I6V,1,,,"made in round 2, 3x activity",MKTAYVAKQR'
    hostile = variant_rows(WT, [_v("I15V")], scheme=FROM_10, notes={"I6V": '=HYPERLINK("http://evil.example")'})
    assert _csv(hostile)[1].endswith(',"\'=HYPERLINK(""http://evil.example"")",MKTAYVAKQR')


def test_fasta_has_one_record_per_variant_with_scores_in_the_header():
    rows = variant_rows(WT, [_v("K11R:A13G"), _v("I15V")], _scan(), _scores(I6V=[ESM1V]), FROM_10)
    text = variants_fasta(rows, "toy")
    records = parse_fasta_text(text)
    assert [r.name for r in records] == ["toy_K11R:A13G", "toy_I15V"]
    assert [r.sequence for r in records] == ["MRTGYIAKQR", "MKTAYVAKQR"]
    assert records[0].description == (f"n_mutations=2 sequence_variant=K2R:A4G "
                                      f"scan_additive_score={rows[0].scan_additive_score:.6g}")
    assert records[1].description == "n_mutations=1 sequence_variant=I6V score_esm1v_1_masked_marginals_additive=-1.25"


def test_document_record_names_the_edits_or_only_the_protein():
    mutant = parse_mutant("G238S:E104K")
    record = document_record("P62593", "MSIQ", mutant)
    assert format_fasta([record]).splitlines()[0] == ">P62593_E104K:G238S P62593 with E104K:G238S"
    assert format_fasta([document_record("P62593", "MSIQ", None)]) == ">P62593\nMSIQ\n"


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.fasta"
    path.write_text("old")
    os.chmod(path, 0o640)
    assert write_text_atomically(path, ">a\nMK\n") == path
    assert path.read_text() == ">a\nMK\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # a replaced file keeps its permissions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fasta"]
    new = write_text_atomically(tmp_path / "new.csv", "x\n")
    assert stat.S_IMODE(new.stat().st_mode) & 0o044  # readable by others as usual, not 0600


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.fasta"
    path.write_text("old")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(UserError, match="cannot write .*out.fasta: No space left on device"):
        write_text_atomically(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fasta"]


def test_atomic_write_into_a_missing_folder_names_the_path(tmp_path):
    with pytest.raises(UserError, match="cannot write .*missing"):
        write_text_atomically(tmp_path / "missing" / "out.csv", "x")
    assert not (tmp_path / "missing").exists()


_KILLED_WRITER = """
import sys
from protein_studio.core.files import write_text_atomically
k = 0
while True:
    k += 1
    write_text_atomically(sys.argv[1], f"version {k}\\n" + "x" * 2_000_000 + "\\nend\\n")
    print(k, flush=True)
"""


def test_an_export_killed_at_random_moments_leaves_a_whole_file_and_no_temporary_after_the_next_write(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    script = tmp_path / "writer.py"
    script.write_text(_KILLED_WRITER)
    target = tmp_path / "out" / "scan.csv"
    target.parent.mkdir()
    target.write_text("version 0\nend\n")
    rng = random.Random(11)
    for _round in range(8):
        child = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True,
                                 env=dict(os.environ, PYTHONPATH=str(repo)))
        child.stdout.readline()  # it has written once
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        text = target.read_text()
        assert text.startswith("version ") and text.endswith("\nend\n")  # never a truncated file
    # a writer killed for certain between writing its temporary file and renaming it
    dying = tmp_path / "dying.py"
    dying.write_text("import os, signal, sys\n"
                     "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
                     "from protein_studio.core.files import write_text_atomically\n"
                     "write_text_atomically(sys.argv[1], 'never renamed')\n")
    subprocess.run([sys.executable, str(dying), str(target)], env=dict(os.environ, PYTHONPATH=str(repo)), timeout=60)
    assert len(list(target.parent.glob(".scan.csv.*.tmp"))) == 1 and target.read_text().endswith("\nend\n")
    write_text_atomically(target, "final\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["scan.csv"]  # the killed writers' temporaries went
    assert target.read_text() == "final\n"
