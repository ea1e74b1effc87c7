"""Predictions from AlphaFold DB and ColabFold: recognised by their file naming, their PAE read from the
scores file in each tool's documented layout, and kept with the document (and its project)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protein_studio.core.documents.document import load_document, load_sources
from protein_studio.core.errors import InputError
from protein_studio.core.molecules.predictions import pae_file_beside, parse_pae, read_pae

from predicted import PABP

N = 75  # residues of the PABP model


def _matrix(n=N):
    rng = np.random.default_rng(3)
    pae = rng.uniform(0.2, 31.0, size=(n, n))
    np.fill_diagonal(pae, 0.2)
    return np.round(pae, 2)


def write_alphafold_db(folder, accession="P04147"):
    """AlphaFold DB's files: AF-<acc>-F1-model_v4.pdb and AF-<acc>-F1-predicted_aligned_error_v4.json (a
    one-element list with the matrix and its largest value, the database's v3+ layout)."""
    model = folder / f"AF-{accession}-F1-model_v4.pdb"
    model.write_text(PABP.read_text())
    pae = _matrix()
    (folder / f"AF-{accession}-F1-predicted_aligned_error_v4.json").write_text(json.dumps(
        [{"predicted_aligned_error": pae.tolist(), "max_predicted_aligned_error": 31.75}]))
    return model, pae


def write_colabfold(folder, job="pabp"):
    """ColabFold's files: <job>_unrelaxed_rank_001_<model>.pdb and <job>_scores_rank_001_<model>.json."""
    tail = "alphafold2_ptm_model_3_seed_000"
    model = folder / f"{job}_unrelaxed_rank_001_{tail}.pdb"
    model.write_text(PABP.read_text())
    pae = _matrix()
    (folder / f"{job}_scores_rank_001_{tail}.json").write_text(json.dumps(
        {"max_pae": 31.75, "pae": pae.tolist(), "plddt": [90.0] * N, "ptm": 0.81}))
    return model, pae


def test_alphafold_db_files_open_as_a_prediction_with_their_pae(tmp_path):
    model, pae = write_alphafold_db(tmp_path)
    assert pae_file_beside(model).name == "AF-P04147-F1-predicted_aligned_error_v4.json"
    doc = load_document([model])
    assert doc.structure.confidence_kind == "plddt" and "AlphaFold DB" in doc.structure.confidence_evidence
    np.testing.assert_allclose(doc.structure.pae.matrix, pae)
    assert doc.structure.pae.max_value == 31.75
    assert [name for name, _ in doc.sources] == [model.name, "AF-P04147-F1-predicted_aligned_error_v4.json"]
    again = load_sources(doc.sources)  # a project's copy: the PAE comes back with the structure
    np.testing.assert_allclose(again.structure.pae.matrix, pae)


def test_colabfold_files_open_as_a_prediction_with_their_pae_and_ptm(tmp_path):
    model, pae = write_colabfold(tmp_path)
    doc = load_document([model])
    assert doc.structure.confidence_kind == "plddt" and "ColabFold" in doc.structure.confidence_evidence
    np.testing.assert_allclose(doc.structure.pae.matrix, pae)
    assert doc.structure.pae.ptm == pytest.approx(0.81)


def test_a_pae_file_opened_with_a_structure_joins_it(tmp_path):
    model = tmp_path / "model.pdb"
    model.write_text(PABP.read_text())
    scores = tmp_path / "whatever.json"
    scores.write_text(json.dumps({"pae": _matrix().tolist(), "max_pae": 30.0}))
    doc = load_document([model, scores])
    assert doc.structure.pae is not None and doc.structure.pae.source == "whatever.json"
    with pytest.raises(InputError, match="belongs to a predicted structure"):
        load_document([scores])


def test_the_old_alphafold_db_layout_and_bad_files(tmp_path):
    n = 3
    first, second = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    old = {"residue1": first.ravel().tolist(), "residue2": second.ravel().tolist(),
           "distance": [float(v) for v in range(n * n)], "max_predicted_aligned_error": 31.75}
    pae = parse_pae(json.dumps([old]))
    assert pae.matrix.shape == (3, 3) and pae.matrix[1, 2] == 5.0
    for text, message in (("{", "not a JSON file"), ('{"x": 1}', "no PAE"), ('{"pae": [[1, 2]]}', "square"),
                          ('{"pae": [[1, -2], [0, 1]]}', "negative"), ("[" * 100000 + "]" * 100000, "JSON")):
        with pytest.raises(InputError, match=message):
            parse_pae(text, "scores.json")
    wrong = tmp_path / "model.pdb"
    wrong.write_text(PABP.read_text())
    (tmp_path / "model_pae.json").write_text(json.dumps({"pae": _matrix(10).tolist()}))
    doc = load_document([wrong])  # a scores file that does not fit: the structure opens, the note says why
    assert doc.structure.pae is None and any("PAE was not used" in note for note in doc.notes)
    assert read_pae(tmp_path / "model_pae.json").matrix.shape == (10, 10)
