"""SaProt and ESM C scores from the application against plain transformers calls on the same random-weight
models, and the 3Di structure tokens against mini3di's own output (issue 11)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mini3di")

from protein_studio.core.errors import UserError  # noqa: E402
from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.core.documents.document import load_document  # noqa: E402
from protein_studio.core.molecules.structure_tokens import structure_tokens  # noqa: E402
from protein_studio.engines.scoring import (check_model_for_document, model_for_document,  # noqa: E402
                                            pseudo_log_likelihood, saturation_scan, score_mutants)
from protein_studio.core.job_context import JobContext  # noqa: E402
from protein_studio.models.loader import load_model  # noqa: E402
from protein_studio.models.catalog import get_spec  # noqa: E402
from predicted import predicted_pabp  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
THREE_DI = "pynwrqhgdlvtmfsaeikc#"
TOLERANCE = 1e-5


# ----------------------------------------------------------------------------------- 3Di tokens
def _backbone_from_pdb_columns(path: Path, chain: str):
    """CA, CB, N, C coordinates per residue read straight from the PDB columns (first altloc), in file
    order: an independent reading of the file for mini3di."""
    residues: dict = {}
    for line in path.read_text().splitlines():
        if not line.startswith(("ATOM", "HETATM")) or line[21] != chain:
            continue
        if line.startswith("HETATM") and line[17:20] in ("HOH",):
            continue
        name = line[12:16].strip()
        key = (int(line[22:26]), line[26].strip())
        atoms = residues.setdefault(key, {})
        if name in ("CA", "CB", "N", "C") and name not in atoms:
            atoms[name] = [float(line[30:38]), float(line[38:46]), float(line[46:54])]
    keys = [k for k, atoms in residues.items() if "CA" in atoms]
    arrays = [np.array([residues[k].get(n, [np.nan] * 3) for k in keys], dtype=np.float32)
              for n in ("CA", "CB", "N", "C")]
    return keys, arrays


@pytest.mark.parametrize("name", ["1ubq.pdb", "2qmt.pdb", "1btl.pdb", "PABP_YEAST_126-200_predicted.pdb"])
def test_3di_tokens_equal_the_library_output(name):
    from mini3di import Encoder

    document = load_document([DATA / name])
    keys, arrays = _backbone_from_pdb_columns(DATA / name, document.chain)
    encoder = Encoder()
    expected = encoder.build_sequence(encoder.encode_atoms(*arrays)).lower().replace("x", "#")
    assert len(keys) == len(document)
    assert structure_tokens(document) == expected
    assert set(expected) <= set(THREE_DI)


def test_low_plddt_and_missing_residues_become_hash(tmp_path):
    source = predicted_pabp(tmp_path).read_text().splitlines()
    low = {5, 6, 40}  # residue numbers given a pLDDT below 70
    lines = [line[:60] + " 42.00" + line[66:] if line.startswith("ATOM") and int(line[22:26]) in low else line
             for line in source]
    path = tmp_path / "predicted_unrelaxed_rank_001_alphafold2_ptm_model_1_seed_000.pdb"  # ColabFold's name
    path.write_text("\n".join(lines) + "\n")
    document = load_document([path])
    assert document.structure.confidence_kind == "plddt"
    tokens = structure_tokens(document)
    original = structure_tokens(load_document([predicted_pabp(tmp_path)]))
    hashed = {i for i, t in enumerate(tokens) if t == "#"}
    assert hashed == {i for i in range(len(tokens)) if document.numbering.residues[i].number in low}
    assert all(a == b for i, (a, b) in enumerate(zip(tokens, original)) if i not in hashed)
    assert tokens.masked_low_confidence == 3 and "pLDDT < 70" in tokens.describe()
    assert tokens.masked == 3 and "ColabFold file name" in tokens.masked_why()
    # the same file under a name that says nothing: read as B-factors, nothing masked for it
    plain = tmp_path / "model.pdb"
    plain.write_text(path.read_text())
    guessed = structure_tokens(load_document([plain]))
    assert "#" not in guessed and "B-factors, no residue masked" in guessed.masked_why()

    # a FASTA sequence longer than the structure: its extra residues have no coordinates
    fasta = tmp_path / "longer.fasta"
    fasta.write_text(">longer\nMKT" + document.sequence + "\n")
    aligned = load_document([fasta, path])
    tokens = structure_tokens(aligned)
    assert tokens[:3] == "###" and tokens.without_coordinates == 3 and tokens[3:] == structure_tokens(document)


def test_a_crystal_structure_keeps_every_token_whatever_its_b_factors():
    document = load_document([DATA / "1ubq.pdb"])  # B-factors, every one below 70 square angstroms
    assert document.structure.confidence_kind == "bfactor"
    assert np.nanmax(document.structure.chains[0].confidence) < 70
    assert "#" not in structure_tokens(document)


def test_without_a_structure_or_the_extra_saprot_says_so(monkeypatch, tmp_path):
    fasta = tmp_path / "s.fasta"
    fasta.write_text(">s\nMKTAYIAKQR\n")
    document = load_document([fasta])
    with pytest.raises(UserError, match="has no 3D structure: structure-aware models .* read the structure"):
        check_model_for_document(get_spec("random-saprot-tiny"), document)
    check_model_for_document(get_spec("random-esmc-tiny"), document)  # sequence models need none
    monkeypatch.setitem(sys.modules, "mini3di", None)  # the [structure] extra not installed
    with pytest.raises(UserError, match=r"not installed: pip install \"protein-studio\[structure\]\""):
        check_model_for_document(get_spec("random-saprot-tiny"), load_document([DATA / "1ubq.pdb"]))


# ----------------------------------------------------------------------------------- references
@pytest.fixture(scope="module")
def ubiquitin():
    return load_document([DATA / "1ubq.pdb"])


@pytest.fixture(scope="module")
def saprot(ubiquitin):
    return model_for_document(load_model("random-saprot-tiny", "cpu"), ubiquitin)


@pytest.fixture(scope="module")
def esmc():
    return load_model("random-esmc-tiny", "cpu")


def _saprot_reference(loaded, sequence: str, structure: str, masked: tuple[int, ...]) -> np.ndarray:
    """Per-amino-acid log-probabilities at every residue (L, 20), SaProt's way: tokens are residue + 3Di
    letter, a masked residue is '#' + its 3Di letter, and an amino acid's probability is the sum over the
    tokens pairing it with each 3Di letter."""
    tokenizer, model = loaded.tokenizer, loaded.model.inner
    tokens = [a + s for a, s in zip(sequence, structure)]
    for i in masked:
        tokens[i] = "#" + structure[i]
    inputs = tokenizer(" ".join(tokens), return_tensors="pt")
    assert inputs["input_ids"].shape[1] == len(sequence) + 2
    with torch.no_grad():
        probs = model(input_ids=inputs["input_ids"]).logits[0, 1:-1].double().softmax(-1)
    vocab = tokenizer.get_vocab()
    return np.log(np.stack([probs[:, [vocab[a + s] for s in THREE_DI]].sum(-1).numpy() for a in AMINO_ACIDS], -1))


def _esmc_reference(loaded, sequence: str, masked: tuple[int, ...]) -> np.ndarray:
    tokenizer, model = loaded.tokenizer, loaded.model.inner
    ids = tokenizer(sequence, return_tensors="pt")["input_ids"]
    for i in masked:
        ids[0, i + 1] = tokenizer.mask_token_id
    with torch.no_grad():
        logp = model(input_ids=ids).logits[0, 1:-1].double().log_softmax(-1).numpy()
    return logp[:, [tokenizer.convert_tokens_to_ids(a) for a in AMINO_ACIDS]]


def _reference(kind, loaded, document, masked):
    if kind == "saprot":
        return _saprot_reference(loaded, document.sequence, str(structure_tokens(document)), masked)
    return _esmc_reference(loaded, document.sequence, masked)


@pytest.fixture(params=["saprot", "esmc"])
def case(request, saprot, esmc, ubiquitin):
    return request.param, (saprot if request.param == "saprot" else esmc), ubiquitin


def test_wt_marginals_match_plain_transformers(case):
    kind, loaded, document = case
    result = saturation_scan(document.sequence, loaded, JobContext(), strategy="wt-marginals")
    logp = _reference(kind, loaded, document, ())
    own = np.array([AMINO_ACIDS.index(a) for a in document.sequence])
    expected = logp - logp[np.arange(len(own)), own][:, None]
    assert np.abs(result.scores - expected).max() <= TOLERANCE
    assert np.abs(result.wt_logp - logp[np.arange(len(own)), own]).max() <= TOLERANCE


def test_masked_marginals_match_plain_transformers(case):
    kind, loaded, document = case
    positions = [0, 7, 30, 75]
    result = saturation_scan(document.sequence, loaded, JobContext(), positions=positions)
    for i in positions:
        logp = _reference(kind, loaded, document, (i,))[i]
        wt = logp[AMINO_ACIDS.index(document.sequence[i])]
        assert np.abs(result.scores[i] - (logp - wt)).max() <= TOLERANCE
    if kind == "saprot":
        assert "3Di of chain A (mini3di)" in result.provenance["structure_tokens"]


def test_both_multi_mutant_methods_match_plain_transformers(case):
    kind, loaded, document = case
    sequence = document.sequence
    mutants = ["Q2A", "I3V:F4L", "K6R:T7S:L8I"]
    joint = score_mutants(sequence, mutants, loaded, JobContext(), multi="joint")
    additive = score_mutants(sequence, mutants, loaded, JobContext(), multi="additive")
    for k, text in enumerate(mutants):
        parts = [(p[0], int(p[1:-1]) - 1, p[-1]) for p in text.split(":")]
        logp = _reference(kind, loaded, document, tuple(i for _, i, _ in parts))
        expected_joint = sum(logp[i, AMINO_ACIDS.index(mt)] - logp[i, AMINO_ACIDS.index(wt)] for wt, i, mt in parts)
        expected_additive = 0.0
        for wt, i, mt in parts:
            single = _reference(kind, loaded, document, (i,))
            expected_additive += single[i, AMINO_ACIDS.index(mt)] - single[i, AMINO_ACIDS.index(wt)]
        assert abs(joint.scores[k] - expected_joint) <= TOLERANCE
        assert abs(additive.scores[k] - expected_additive) <= TOLERANCE


def test_windows_and_pseudo_likelihood_match_plain_transformers(case):
    from dataclasses import replace

    from protein_studio.engines.windows import centred_window

    kind, loaded, document = case
    windowed = saturation_scan(document.sequence, loaded, JobContext(), positions=[40], max_residues=30)
    start, end = centred_window(len(document), 40, 30)
    assert end - start == 30
    window = document.sequence[start:end]
    if kind == "saprot":
        logp = _saprot_reference(loaded, window, str(structure_tokens(document))[start:end], (40 - start,))
    else:
        logp = _esmc_reference(loaded, window, (40 - start,))
    row = logp[40 - start]
    assert np.abs(windowed.scores[40] - (row - row[AMINO_ACIDS.index(document.sequence[40])])).max() <= TOLERANCE

    short = document.sequence[:20]
    if kind == "saprot":
        loaded = replace(loaded, alphabet=loaded.alphabet.bind(str(structure_tokens(document))[:20]))
    pll = pseudo_log_likelihood(short, loaded, JobContext())
    expected = 0.0
    for i, residue in enumerate(short):
        logp = (_saprot_reference(loaded, short, str(structure_tokens(document))[:20], (i,)) if kind == "saprot"
                else _esmc_reference(loaded, short, (i,)))
        expected += logp[i, AMINO_ACIDS.index(residue)]
    assert abs(float(pll.pll[0]) - expected) <= TOLERANCE


def test_a_saprot_vocabulary_refuses_a_sequence_of_another_length(saprot):
    with pytest.raises(UserError, match="structure tokens cover 76 residues, the sequence has 10"):
        saturation_scan("MKTAYIAKQR", saprot, JobContext())
    unbound = load_model("random-saprot-tiny", "cpu")
    with pytest.raises(UserError, match="reads the 3D structure, and none was given"):
        saturation_scan("MKTAYIAKQR", unbound, JobContext())


def test_a_structure_aware_scan_says_how_many_residues_it_masked_and_why(tmp_path, capsys):
    import json

    from protein_studio.cli import main

    source = predicted_pabp(tmp_path).read_text().splitlines()
    low = {5, 6, 40}
    model = tmp_path / "pabp_unrelaxed_rank_001_alphafold2_ptm_model_1_seed_000.pdb"
    model.write_text("\n".join(line[:60] + " 42.00" + line[66:] if line.startswith("ATOM") and int(line[22:26]) in low
                               else line for line in source) + "\n")
    out = tmp_path / "scan.csv"
    assert main(["scan", str(model), "--model", "random-saprot-tiny", "--strategy", "wt-marginals", "--positions",
                 "1-3", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "3 of 75 residues masked (3 with pLDDT < 70 (B-factor column: pLDDT, ColabFold file name" in err
    run = json.loads(out.with_name("scan.csv.json").read_text())["provenance"]["run"]
    assert run["masked_residues"] == 3 and "3 with pLDDT < 70" in run["masked_why"]
    plain = tmp_path / "model.pdb"  # the same file under a name that says nothing: nothing masked, and why
    plain.write_text(model.read_text())
    assert main(["scan", str(plain), "--model", "random-saprot-tiny", "--strategy", "wt-marginals", "--positions",
                 "1-3", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "nothing in or beside model says what its B-factor column holds" in err
    assert "0 of 75 residues masked (none masked (B-factor column: B-factors, no residue masked for it" in err
    assert main(["scan", str(plain), "--bfactor-column", "plddt", "--model", "random-saprot-tiny", "--strategy",
                 "wt-marginals", "--positions", "1-3", "--out", str(out)]) == 0
    assert "3 of 75 residues masked (3 with pLDDT < 70 (B-factor column: pLDDT, chosen by the user" in \
        capsys.readouterr().err
