"""Every reader given random bytes or randomly damaged copies of the real fixtures returns a result or raises
a clear InputError (a UserError), never an exception of another kind; and the silently-wrong cases found by
hand are refused, naming the record."""

from __future__ import annotations

import io
from pathlib import Path

import biotite.structure.io.pdb as pdb
import biotite.structure.io.pdbx as pdbx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protein_studio.core.assays.dms import read_dms
from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.mutations import parse_mutant, split_mutants
from protein_studio.core.molecules.numbering import read_numbering_table
from protein_studio.core.storage.project import load_project
from protein_studio.core.molecules.sequences import read_fasta
from protein_studio.core.molecules.structures import load_structure, save_structure

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = {
    ".pdb": (DATA / "1ubq.pdb").read_bytes(),
    ".fasta": (DATA / "few_proteins.fasta").read_bytes(),
    ".csv": (DATA / "DLG4_RAT_Ranganathan2012.csv").read_bytes()[:6000],
}


def _cif_bytes(suffix: str) -> bytes:
    atoms = pdb.PDBFile.read(str(DATA / "1ubq.pdb")).get_structure(model=1)
    if suffix == ".cif":
        cif = pdbx.CIFFile()
        pdbx.set_structure(cif, atoms)
        text = io.StringIO()
        cif.write(text)
        return text.getvalue().encode()
    cif = pdbx.BinaryCIFFile()
    pdbx.set_structure(cif, atoms)
    buffer = io.BytesIO()
    pdbx.compress(cif).write(buffer)
    return buffer.getvalue()


FIXTURES[".cif"] = _cif_bytes(".cif")
FIXTURES[".bcif"] = _cif_bytes(".bcif")


def _read(suffix: str, path: Path):
    if suffix in (".pdb", ".cif", ".bcif"):
        return load_structure(path)
    if suffix == ".fasta":
        return read_fasta(path)
    return read_dms(path)


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """A copy of ``data`` cut, with bytes flipped, inserted or removed."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        where = draw(st.integers(0, max(len(out) - 1, 0)))
        if action == "flip" and out:
            out[where] = draw(st.integers(0, 255))
        elif action == "insert":
            out[where:where] = draw(st.binary(min_size=1, max_size=20))
        elif action == "delete" and out:
            del out[where:where + draw(st.integers(1, 200))]
        elif action == "cut":
            del out[where:]
    return bytes(out)


@pytest.mark.parametrize("suffix", sorted(FIXTURES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_fixtures_give_a_result_or_an_input_error(tmp_path, suffix, data):
    payload = data.draw(st.one_of(damaged(FIXTURES[suffix]), st.binary(max_size=400)))
    path = tmp_path / f"input{suffix}"
    path.write_bytes(payload)
    try:
        _read(suffix, path)
    except UserError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_mutant_text_gives_a_mutant_or_an_input_error(text):
    try:
        for item in split_mutants(text):
            parse_mutant(item)
    except InputError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_numbering_tables_give_labels_or_an_input_error(text):
    try:
        read_numbering_table(text, 20, "table.csv")
    except InputError:
        pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=3000))
def test_project_files_of_random_bytes_are_refused(tmp_path, payload):
    path = tmp_path / "random.psproj"
    path.write_bytes(payload)
    with pytest.raises(InputError):
        load_project(path)


def test_unknown_mmcif_coordinates_and_odd_pdb_residue_numbers_are_refused(tmp_path):
    text = FIXTURES[".cif"].decode().splitlines()
    header = [line.strip() for line in text if line.strip().startswith("_atom_site.")]
    column = header.index("_atom_site.Cartn_y")
    first = next(i for i, line in enumerate(text) if line.startswith("ATOM"))
    parts = text[first].split()
    parts[column] = "?"
    text[first] = " ".join(parts)
    unknown = tmp_path / "unknown.cif"
    unknown.write_text("\n".join(text) + "\n")
    with pytest.raises(InputError, match=r"unknown.cif: atom_site row 1 \(atom 1\) has an unknown Cartn_y"):
        load_structure(unknown)
    lines = FIXTURES[".pdb"].decode().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("ATOM"))
    lines[k + 5] = lines[k + 5][:22] + "  x1" + lines[k + 5][26:]
    odd = tmp_path / "odd.pdb"
    odd.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=f"odd.pdb, line {k + 6}: ATOM record has residue number 'x1'"):
        load_structure(odd)
    big = tmp_path / "big.cif"  # real hybrid-36 numbers still read (A000 = 10000)
    save_structure(load_structure(DATA / "1ubq.pdb"), big)
    assert load_structure(big).chains[0].sequence.startswith("MQIFV")


def _rle_bomb(tmp_path, size: int | None) -> Path:
    """1UBQ as BinaryCIF with one run-length column rewritten to expand to ``size`` values."""
    import msgpack

    tree = msgpack.unpackb(FIXTURES[".bcif"], raw=False)

    def first_run_length(node):
        if isinstance(node, dict):
            if node.get("kind") == "RunLength":
                return node
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            return None
        for child in children:
            found = first_run_length(child)
            if found is not None:
                return found
        return None

    encoding = first_run_length(tree)
    if size is None:
        del encoding["srcSize"]
    else:
        encoding["srcSize"] = size
    path = tmp_path / "bomb.bcif"
    path.write_bytes(msgpack.packb(tree, use_bin_type=True))
    return path


def test_binarycif_and_atom_count_bombs_are_refused_before_they_expand(tmp_path, monkeypatch):
    bomb = _rle_bomb(tmp_path, 2_000_000_000)
    assert bomb.stat().st_size < 100_000
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(InputError, match="declares 2,000,000,000 values in one column"):
        load_structure(bomb)
    assert tracemalloc.get_traced_memory()[1] < 50 * 1024 * 1024
    tracemalloc.stop()
    with pytest.raises(InputError, match="run-length encoding without its size"):
        load_structure(_rle_bomb(tmp_path, None))
    monkeypatch.setenv("PROTEIN_STUDIO_MAX_ATOMS", "500")
    for suffix in (".pdb", ".cif", ".bcif"):
        path = tmp_path / f"many{suffix}"
        path.write_bytes(FIXTURES[suffix])
        with pytest.raises(InputError, match="more than the limit of 500"):
            load_structure(path)
