"""Structures: every real fixture loads with the right chains, survives PDB/mmCIF/BinaryCIF round trips,
and every kind of bad file gives one clear InputError naming the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import biotite.structure as struc
import biotite.structure.io.pdb as pdb
import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.structures import (ChainInfo, Gap, ResidueId, Structure, is_structure_path,
                                            load_structure, save_structure, structure_format,
                                            structure_from_text, to_pdb_text)

DATA = Path(__file__).resolve().parent.parent / "data"

GB1 = "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE"  # tests/data/README.md, 2qmt
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"

# file -> (chain ids, length, sequence start, confidence: "none" | "b-factor" | "0-100")
EXPECTED = {
    "1btl.pdb": (["A"], 263, "HPETLVKVKDAEDQLGARVG", "none"),
    "1ubq.pdb": (["A"], 76, UBIQUITIN, "b-factor"),
    "2qmt.pdb": (["A"], 56, GB1, "b-factor"),
    "2N2U.pdb": (["A"], 67, "MVDLKIDVSD", "b-factor"),
    "PABP_YEAST_126-200_predicted.pdb": (["A"], 75, "GNIFIKNLHPDIDNKALYDT", "0-100"),
}


def test_every_structure_fixture_is_covered():
    present = {p.name for p in DATA.iterdir() if is_structure_path(p)}
    assert present == set(EXPECTED)


def _same_chains(a: Structure, b: Structure) -> None:
    assert a.chain_ids == b.chain_ids
    for ca, cb in zip(a.chains, b.chains):
        assert ca.sequence == cb.sequence
        assert ca.residues == cb.residues
        np.testing.assert_allclose(ca.confidence, cb.confidence, atol=0.01, equal_nan=True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_chains(name):
    chain_ids, length, start, confidence = EXPECTED[name]
    structure = load_structure(DATA / name)
    assert structure.chain_ids == chain_ids
    assert structure.model == 1 and structure.n_models == 1
    assert structure.name == Path(name).stem
    chain = structure.chain(chain_ids[0])
    assert isinstance(chain, ChainInfo)
    assert len(chain) == length == len(chain.residues) == len(chain.confidence)
    assert chain.sequence.startswith(start)
    assert set(chain.sequence) <= set("ACDEFGHIKLMNPQRSTVWY")
    assert (chain.first_residue, chain.last_residue) == (1, length)
    assert chain.gaps == [] and chain.insertion_codes == [] and chain.nonstandard == []
    assert chain.problems == []
    if confidence == "none":  # 1btl: every B-factor is 0, i.e. no information
        assert np.all(np.isnan(chain.confidence))
    else:
        assert np.all(np.isfinite(chain.confidence))
    if confidence == "0-100":
        assert 50 < np.nanmean(chain.confidence) <= 100 and np.nanmax(chain.confidence) > 1
    # the atoms kept are the whole model (waters of 1ubq included), the chain only protein
    assert structure.atoms.array_length() >= struc.get_residue_count(structure.atoms) >= length


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("suffix", [".cif", ".bcif", ".pdb", ".cif.gz"])
def test_round_trip_through_every_format(name, suffix, tmp_path):
    original = load_structure(DATA / name)
    target = tmp_path / f"copy{suffix}"
    if suffix.endswith(".gz"):
        plain = save_structure(original, tmp_path / "copy.cif")
        target.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        assert save_structure(original, target) == target
    again = load_structure(target)
    assert structure_format(target) == suffix.split(".")[1]
    _same_chains(original, again)
    assert again.atoms.array_length() == original.atoms.array_length()
    np.testing.assert_allclose(again.atoms.coord, original.atoms.coord, atol=1e-3)


def test_save_plain_atom_array_and_pdb_text(tmp_path):
    original = load_structure(DATA / "1ubq.pdb")
    save_structure(original.atoms, tmp_path / "atoms.cif")
    _same_chains(original, load_structure(tmp_path / "atoms.cif"))
    text = to_pdb_text(original)
    records = [line for line in text.splitlines() if line.startswith(("ATOM  ", "HETATM"))]
    assert len(records) == original.atoms.array_length()
    assert records[0].startswith("ATOM      1  N   MET A   1")
    _same_chains(original, structure_from_text(text, fmt="pdb", name="pasted"))
    cif_text = (tmp_path / "atoms.cif").read_text()
    assert structure_from_text(cif_text, fmt="mmcif").chain("A").sequence == UBIQUITIN
    bcif = save_structure(original, tmp_path / "atoms.bcif").read_bytes()
    assert structure_from_text(bcif, fmt="bcif").chain("A").sequence == UBIQUITIN


def test_save_errors(tmp_path):
    structure = load_structure(DATA / "1ubq.pdb")
    with pytest.raises(InputError, match=r"out\.xyz.*use \.pdb, \.cif or \.bcif"):
        save_structure(structure, tmp_path / "out.xyz")
    atoms = structure.atoms.copy()
    atoms.chain_id[:] = "AB"
    with pytest.raises(InputError, match="save it as mmCIF"):
        to_pdb_text(atoms)
    save_structure(atoms, tmp_path / "long_chain_ids.cif")
    assert load_structure(tmp_path / "long_chain_ids.cif").chain_ids == ["AB"]


def test_chain_lookup_names_available_chains():
    structure = load_structure(DATA / "1ubq.pdb")
    with pytest.raises(InputError, match=r"no protein chain 'B' \(protein chains: A\)"):
        structure.chain("B")


# ---- edited copies of real files: modified residues, gaps, insertion codes, ligands, models -------------


def _edit(text: str, edit) -> str:
    """Apply ``edit(line) -> line | None`` to every ATOM/HETATM line (None drops the line)."""
    out = []
    for line in text.splitlines():
        if line.startswith(("ATOM  ", "HETATM")):
            line = edit(line)
            if line is None:
                continue
        out.append(line)
    return "\n".join(out) + "\n"


def _rename(line: str, number: int, name: str, record: str = "HETATM") -> str:
    if int(line[22:26]) == number:
        return f"{record:<6}{line[6:17]}{name:>3}{line[20:]}"
    return line


UBQ_TEXT = (DATA / "1ubq.pdb").read_text()


@pytest.mark.parametrize("name, record, code", [
    ("MSE", "HETATM", "M"), ("SEP", "HETATM", "S"), ("TPO", "HETATM", "T"), ("PTR", "HETATM", "Y"),
    ("HYP", "HETATM", "P"), ("MLY", "HETATM", "K"), ("CSO", "HETATM", "C"), ("UNK", "ATOM", "X"),
    ("ZZ9", "ATOM", "X"),   # not in the Chemical Component Dictionary, but an ATOM record with a CA
    ("HIE", "ATOM", "H"), ("CYX", "ATOM", "C"), ("GLH", "ATOM", "E"),  # force-field protonation names
])
def test_modified_residue_read_as_parent(name, record, code, tmp_path):
    text = _edit(UBQ_TEXT, lambda line: _rename(line, 5, name, record))
    chain = structure_from_text(text, name="edited").chain("A")
    assert len(chain) == 76
    assert chain.sequence == UBIQUITIN[:4] + code + UBIQUITIN[5:]
    assert [(str(n.residue), n.name, n.code) for n in chain.nonstandard] == [("A:5", name, code)]
    assert chain.problems == [f"non-standard residue {name} at A:5 read as {code}"]


def test_protein_chains_only_not_free_amino_acid_ligand_or_water_chains():
    protein = [line for line in UBQ_TEXT.splitlines() if line.startswith("ATOM")]
    second = [f"{line[:21]}B{int(line[22:26]) + 100:>4}{line[26:]}" for line in protein[:300]]  # 1-38 as B
    ligand = [f"HETATM{line[6:21]}L{line[22:]}" for line in protein if int(line[22:26]) == 48]  # free Lys
    water = [f"{line[:21]}W{line[22:]}" for line in UBQ_TEXT.splitlines() if line.startswith("HETATM")]
    lines = [line for line in UBQ_TEXT.splitlines() if not line.startswith(("END", "MASTER", "CONECT"))]
    structure = structure_from_text("\n".join(lines + second + ligand + water) + "\nEND\n", name="complex")
    assert {"A", "B", "L", "W"} <= set(structure.atoms.chain_id)
    assert structure.chain_ids == ["A", "B"]
    assert structure.chain("A").sequence == UBIQUITIN
    chain_b = structure.chain("B")
    assert (chain_b.first_residue, chain_b.last_residue) == (101, 100 + len(chain_b))
    assert chain_b.sequence == UBIQUITIN[:len(chain_b)]
    with pytest.raises(InputError, match=r"no protein chain 'L' \(protein chains: A, B\)"):
        structure.chain("L")


def test_gaps_and_insertion_codes_are_kept():
    def edit(line):
        number = int(line[22:26])
        if 10 <= number <= 12:
            return None  # a missing loop: residues 10-12
        if number >= 30:  # 30 becomes 29A, the rest move down by one: 29, 29A, 30, ...
            return f"{line[:22]}{number - 1:>4}{'A' if number == 30 else ' '}{line[27:]}"
        return line

    chain = structure_from_text(_edit(UBQ_TEXT, edit), name="gappy").chain("A")
    assert chain.sequence == UBIQUITIN[:9] + UBIQUITIN[12:]
    assert chain.gaps == [Gap(ResidueId("A", 9), ResidueId("A", 13))]
    assert chain.gaps[0].missing == 3
    assert chain.insertion_codes == [ResidueId("A", 29, "A")]
    assert [r.label for r in chain.residues[25:28]] == ["29", "29A", "30"]
    assert chain.last_residue == 75
    assert chain.problems == ["gap in numbering after A:9 (3 missing: 10-12)", "insertion code at A:29A"]


def test_confidence_stored_as_fraction_is_scaled_to_100():
    original = load_structure(DATA / "PABP_YEAST_126-200_predicted.pdb")
    text = (DATA / "PABP_YEAST_126-200_predicted.pdb").read_text()
    scaled = _edit(text, lambda line: f"{line[:60]}{float(line[60:66]) / 100:6.4f}{line[66:]}")
    chain = structure_from_text(scaled, name="fraction", confidence="plddt").chain("A")
    np.testing.assert_allclose(chain.confidence, original.chain("A").confidence, atol=0.01)


def test_multi_model_file_uses_model_one_unless_told(tmp_path):
    atoms = load_structure(DATA / "2N2U.pdb").atoms
    moved = atoms.copy()
    moved.coord = moved.coord + 10.0
    stack = struc.stack([atoms, moved])
    pdb_file = pdb.PDBFile()
    pdb_file.set_structure(stack)
    path = tmp_path / "two_models.pdb"
    pdb_file.write(str(path))

    first = load_structure(path)
    assert (first.model, first.n_models) == (1, 2)
    np.testing.assert_allclose(first.atoms.coord, atoms.coord, atol=1e-3)
    second = load_structure(path, model=2)
    assert second.model == 2
    np.testing.assert_allclose(second.atoms.coord, atoms.coord + 10.0, atol=1e-3)
    assert second.chain("A").sequence == first.chain("A").sequence
    with pytest.raises(InputError, match="model 3 requested, but the file has 2 models"):
        load_structure(path, model=3)


# ---- bad files ------------------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _truncated(tmp_path):
    data = (DATA / "1ubq.pdb").read_bytes()
    cut = data.index(b"ATOM    300 ") + 40  # mid-line: the coordinates of atom 300 are cut
    return _write(tmp_path / "truncated.pdb", data[:cut])


def _garbled_coordinates(tmp_path):
    lines = (DATA / "1ubq.pdb").read_text().splitlines(keepends=True)
    assert lines[311].startswith("ATOM      5  CB  MET A   1      25.112")
    lines[311] = lines[311].replace("25.112", "2x.1$2")
    return _write(tmp_path / "garbled_coordinates.pdb", "".join(lines).encode())


def _saved_as(tmp_path, suffix):
    return save_structure(load_structure(DATA / "1ubq.pdb"), tmp_path / f"saved{suffix}")


BAD_FILES = {
    "empty": (lambda d: _write(d / "empty.pdb", b""), "file is empty"),
    "blank": (lambda d: _write(d / "blank.cif", b"\n  \n"), "file is empty"),
    "random bytes": (lambda d: _write(d / "random.pdb", np.random.default_rng(0).bytes(4096)),
                     "binary data, not a PDB text file"),
    "png": (lambda d: _write(d / "picture.pdb", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
            "binary data, not a PDB text file"),
    "random cif": (lambda d: _write(d / "random.cif", np.random.default_rng(1).bytes(4096)),
                   "binary data, not an mmCIF text file"),
    "random bcif": (lambda d: _write(d / "random.bcif", np.random.default_rng(2).bytes(4096)),
                    "not a valid BinaryCIF file"),
    "truncated": (_truncated, "line 607: ATOM record cut short"),
    "garbled": (lambda d: _write(d / "garbled.pdb", b"Dear colleague,\nplease find the structure.\n"),
                "no ATOM or HETATM records"),
    "garbled coordinates": (_garbled_coordinates, "line 312: ATOM record has unreadable coordinates"),
    "pdb named cif": (lambda d: _write(d / "wrong.cif", (DATA / "1ubq.pdb").read_bytes()),
                      "not an mmCIF file; it looks like PDB"),
    "cif named pdb": (lambda d: _saved_as(d, ".cif").rename(d / "wrong.pdb"),
                      "this is mmCIF text, not PDB: name the file .cif"),
    "bcif named cif": (lambda d: _saved_as(d, ".bcif").rename(d / "wrong.cif"),
                       "binary data, not an mmCIF text file (it looks like BinaryCIF: name it .bcif)"),
    "png named pdb": (lambda d: _write(d / "picture.pdb", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
                      "binary data, not a PDB text file (it is a PNG image)"),
    "gzip without .gz": (lambda d: _write(d / "packed.pdb", __import__("gzip").compress((DATA / "1ubq.pdb")
                                                                                   .read_bytes())),
                         "(it is gzip data: name it .pdb.gz or .cif.gz)"),
    "unknown extension": (lambda d: _write(d / "protein.xyz", (DATA / "1ubq.pdb").read_bytes()),
                          "unknown structure file type '.xyz'"),
    "no protein": (lambda d: _write(d / "water.pdb", b"\n".join(
        line for line in (DATA / "1ubq.pdb").read_bytes().splitlines() if line.startswith(b"HETATM"))),
        "no protein chain found (residues present: HOH)"),
    "missing": (lambda d: d / "does_not_exist.pdb", "file not found"),
    "bad gzip": (lambda d: _write(d / "broken.pdb.gz", b"not gzip at all"), "not a valid gzip file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_one_clear_line(case, tmp_path):
    make, reason = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(InputError) as info:
        load_structure(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert reason in message
    assert "\n" not in message


def test_truncated_cif_and_bcif(tmp_path):
    structure = load_structure(DATA / "1ubq.pdb")
    for suffix in (".cif", ".bcif"):
        whole = save_structure(structure, tmp_path / f"whole{suffix}").read_bytes()
        cut = _write(tmp_path / f"cut{suffix}", whole[: len(whole) // 2])
        with pytest.raises(InputError, match=r"cut\.b?cif: .*(truncated|not a valid BinaryCIF)"):
            load_structure(cut)


def test_structure_from_text_errors():
    with pytest.raises(InputError, match="unknown structure format 'xyz'"):
        structure_from_text("ATOM", fmt="xyz")
    with pytest.raises(InputError, match="^prediction: file is empty$"):
        structure_from_text("", name="prediction")


def test_residue_id():
    assert str(ResidueId("A", 42)) == "A:42"
    assert str(ResidueId("A", 42, "B")) == "A:42B"
    assert str(ResidueId("", -3)) == "-3"
    assert ResidueId("A", 42, "B").label == "42B"
    assert ResidueId.parse("A:42B") == ResidueId("A", 42, "B")
    assert ResidueId.parse("-3", default_chain="H") == ResidueId("H", -3)
    assert sorted([ResidueId("A", 43), ResidueId("A", 42, "A"), ResidueId("A", 42)]) == [
        ResidueId("A", 42), ResidueId("A", 42, "A"), ResidueId("A", 43)]
    with pytest.raises(InputError, match="'A:x' is not a residue"):
        ResidueId.parse("A:x")


def test_a_pdb_cut_after_the_coordinates_of_its_last_atom_is_refused(tmp_path):
    """The copy stopped inside the last ATOM line but after its B-factor: every coordinate reads, yet the
    file is incomplete; loading the atoms before it would silently show a partial protein."""
    text = (DATA / "1ubq.pdb").read_text()
    cut = text.index("ATOM    187 ") + 67  # through the B-factor, before the element symbol
    path = tmp_path / "cut.pdb"
    path.write_text(text[:cut])
    with pytest.raises(InputError, match=r"line \d+: file ends in the middle of an ATOM record"):
        load_structure(path)
    path.write_text(text[:cut] + "\n")  # a short but complete last line (no element column) is accepted
    assert len(load_structure(path).chains[0].sequence) == 24
