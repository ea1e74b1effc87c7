"""Sequence cleaning/validation and FASTA reading/writing, on the real FASTA fixtures."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from biotite.sequence.io.fasta import FastaFile
from hypothesis import given
from hypothesis import strategies as st

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.sequences import (
    AMINO_ACIDS,
    ProteinSequence,
    clean_sequence,
    format_fasta,
    parse_fasta_text,
    parse_sequence,
    read_fasta,
    write_fasta,
)

DATA = Path(__file__).resolve().parent.parent / "data"
FASTA_FILES = sorted(DATA.glob("*.fasta"))
EXPECTED_COUNTS = {"few_proteins.fasta": 3, "some_proteins.fasta": 15, "P62593_first3.fasta": 3}


def test_fixture_list_is_complete():
    assert {p.name for p in FASTA_FILES} == set(EXPECTED_COUNTS)


@pytest.mark.parametrize("path", FASTA_FILES, ids=lambda p: p.name)
def test_read_real_fasta_matches_biotite(path):
    records = read_fasta(path)
    reference = FastaFile.read(str(path))
    assert len(records) == EXPECTED_COUNTS[path.name] == len(reference)
    for record, (header, residues) in zip(records, reference.items()):
        assert record.name == header.split()[0]
        assert record.sequence == residues.upper()
        assert set(record.sequence) <= set(AMINO_ACIDS)
        assert record.problems == ()
        assert record.first_residue == 1
        assert len(record) == len(residues)


@pytest.mark.parametrize("path", FASTA_FILES, ids=lambda p: p.name)
def test_fasta_round_trip(path, tmp_path):
    records = read_fasta(path)
    out = tmp_path / "copy.fasta"
    write_fasta(out, records, line_width=50)
    lines = out.read_text().splitlines()
    assert max(len(line) for line in lines if not line.startswith(">")) == 50
    assert read_fasta(out) == records


def test_tem1_length_and_start():
    tem1 = read_fasta(DATA / "P62593_first3.fasta")[0]
    assert len(tem1) == 286
    assert tem1.sequence.startswith("MSIQHFRVALIPFFAAFCLPV")
    assert tem1.last_residue == 286


def test_header_name_and_description_round_trip():
    text = ">sp|P62593|BLAT_ECOLX Beta-lactamase TEM OS=Escherichia coli\nMSIQHF\nRVALIP\n"
    (record,) = parse_fasta_text(text)
    assert record.name == "sp|P62593|BLAT_ECOLX"
    assert record.description == "Beta-lactamase TEM OS=Escherichia coli"
    assert record.sequence == "MSIQHFRVALIP"
    assert format_fasta([record], line_width=60) == (
        ">sp|P62593|BLAT_ECOLX Beta-lactamase TEM OS=Escherichia coli\nMSIQHFRVALIP\n")


def test_residue_range_in_name_sets_first_residue():
    (record,) = parse_fasta_text(">PABP_YEAST/126-130\nGNIFI\n")
    assert record.first_residue == 126 and record.last_residue == 130
    # A range that does not match the length is ignored.
    (record,) = parse_fasta_text(">PABP_YEAST/126-200\nGNIFI\n")
    assert record.first_residue == 1


def test_numbered_genbank_block_is_cleaned():
    pasted = """
            1 mktayiakqr qisfvkshfs rqleerlglg
           31 gpl*
    """
    sequence, problems = clean_sequence(pasted)
    assert sequence == "MKTAYIAKQRQISFVKSHFSRQLEERLGLGGPL"
    assert problems == []


def test_special_characters_are_reported_with_scorability():
    sequence, problems = clean_sequence("MKxbZJuo-.A")
    assert sequence == "MKXBZJUO-.A"
    found = [(p.position, p.character, p.kind, p.scorable) for p in problems]
    assert found == [
        (3, "X", "ambiguous", True),
        (4, "B", "ambiguous", True),
        (5, "Z", "ambiguous", True),
        (6, "J", "ambiguous", False),
        (7, "U", "nonstandard", True),
        (8, "O", "nonstandard", True),
        (9, "-", "gap", False),
        (10, ".", "gap", False),
    ]
    assert "position 6" in problems[3].message and "cannot be scored" in problems[3].message
    record = ProteinSequence("s", "MKXA")
    assert record.scorable and [p.position for p in record.problems] == [3]
    assert not ProteinSequence("s", "MK-A").scorable


@pytest.mark.parametrize("text, char, position", [
    ("MKT@AY", "`@`", 4),
    ("1 mkt@ay", "`@`", 4),
    ("MK*TA", "`*`", 3),
    ("MKTA**", "`*`", 5),
    ("MKTÄ", "`Ä`", 4),
    ("MK\x01T", "U+0001", 3),
])
def test_invalid_character_is_named_with_position(text, char, position):
    with pytest.raises(InputError) as info:
        clean_sequence(text)
    assert f"{char} at position {position}" in str(info.value)
    assert info.value.position == position


@pytest.mark.parametrize("text", ["", "   \n", "12 34", "*", " 1 * "])
def test_empty_sequence_rejected(text):
    with pytest.raises(InputError, match="empty sequence"):
        clean_sequence(text)


def test_fasta_with_at_sign_names_file_and_line(tmp_path):
    tem1 = read_fasta(DATA / "P62593_first3.fasta")[0].sequence
    path = tmp_path / "garbled.fasta"
    # Record two, its second sequence line (file line 6), residue 63 of the record.
    path.write_text(f">one\n{tem1[:60]}\n\n>two second record\n{tem1[:60]}\n{tem1[60:62]}@{tem1[63:120]}\n")
    with pytest.raises(InputError) as info:
        read_fasta(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 6: ")
    assert "`@` at position 63" in message and "'two'" in message
    assert info.value.line == 6 and info.value.position == 63


@pytest.mark.parametrize("content, expected", [
    (b"", "no FASTA record"),
    (b"\n; only a comment\n", "no FASTA record"),
    (b"MKTAYIAK\n>x\nMKT\n", "line 1: expected a FASTA header"),
    (b">a\nMKT\n>b\n>c\nMKT\n", "line 3: record 'b' has no residues"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data"),
    (b">a\nMKT\xff\xfe\n", "line 2: not UTF-8"),
])
def test_bad_fasta_files(tmp_path, content, expected):
    path = tmp_path / "bad.fasta"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected) as info:
        read_fasta(path)
    assert str(info.value).startswith(str(path))


def test_missing_file():
    with pytest.raises(InputError, match="no_such_file.fasta: file not found"):
        read_fasta(DATA / "no_such_file.fasta")


def test_byte_order_mark_and_windows_line_ends(tmp_path):
    path = tmp_path / "bom.fasta"
    path.write_bytes(b"\xef\xbb\xbf>a desc\r\nMKTA\r\nYIAK\r\n")
    (record,) = read_fasta(path)
    assert (record.name, record.description, record.sequence) == ("a", "desc", "MKTAYIAK")
    old_mac = parse_fasta_text(">a\rMKTA\r>b x\rYIAK\r")
    assert [(r.name, r.description, r.sequence) for r in old_mac] == [("a", "", "MKTA"), ("b", "x", "YIAK")]


def test_parse_sequence_raw_and_fasta():
    raw = parse_sequence("mkta yiak", name="pasted", first_residue=26)
    assert (raw.name, raw.sequence, raw.first_residue, raw.last_residue) == ("pasted", "MKTAYIAK", 26, 33)
    fasta = parse_sequence(">tem1 TEM-1\nMSIQ\nHFRV\n")
    assert (fasta.name, fasta.description, fasta.sequence) == ("tem1", "TEM-1", "MSIQHFRV")
    with pytest.raises(InputError, match="found 2 FASTA records"):
        parse_sequence(">a\nMK\n>b\nMK\n")


def test_protein_sequence_cleans_on_construction():
    record = ProteinSequence("x", "mk ta*")
    assert record.sequence == "MKTA" and len(record) == 4 and str(record) == "MKTA"
    with pytest.raises(InputError, match="`#` at position 2"):
        ProteinSequence("x", "M#")


# --- properties -------------------------------------------------------------------------------------

canonical = st.text(alphabet=AMINO_ACIDS, min_size=1, max_size=200)
noise = st.text(alphabet=" \t\n\r0123456789", max_size=4)
invalid_chars = st.characters(codec="utf-8").filter(
    lambda c: not c.isspace() and c not in string.digits and c.upper() not in AMINO_ACIDS + "XBZJUO-.*"
    and c not in string.ascii_letters)


@given(canonical, st.data())
def test_noise_and_case_clean_back_to_sequence(sequence, data):
    pieces = []
    for char in sequence:
        pieces.append(data.draw(noise))
        pieces.append(char.lower() if data.draw(st.booleans()) else char)
    text = "".join(pieces) + data.draw(noise) + data.draw(st.sampled_from(["", "*", "*\n"]))
    cleaned, problems = clean_sequence(text)
    assert cleaned == sequence
    assert problems == []


@given(canonical, st.data(), invalid_chars)
def test_invalid_character_reported_at_its_position(sequence, data, bad):
    index = data.draw(st.integers(min_value=0, max_value=len(sequence)))
    # Numbered-block noise before the bad character must not shift the reported position.
    text = sequence[:index] + data.draw(noise) + bad + sequence[index:]
    with pytest.raises(InputError) as info:
        clean_sequence(text)
    assert info.value.position == index + 1
    assert f"at position {index + 1}" in str(info.value)


@given(st.lists(st.tuples(st.text(alphabet=string.ascii_letters + "_|", min_size=1, max_size=12),
                          canonical), min_size=1, max_size=5),
       st.integers(min_value=1, max_value=80))
def test_format_parse_fasta_round_trip(items, width):
    records = [ProteinSequence(name, seq) for name, seq in items]
    assert parse_fasta_text(format_fasta(records, line_width=width)) == records


def test_chain_breaks_only_when_asked(tmp_path):
    path = tmp_path / "complexes.fasta"
    path.write_text(">dimer heterodimer\nMKTAYIAK:\nQRQISFV\n>mono\nMKTAY\n")
    with pytest.raises(InputError, match=r"line 2: record 'dimer': invalid character `:` at position 9"):
        read_fasta(path)  # strict by default
    dimer, mono = read_fasta(path, allow_chain_breaks=True)
    assert (dimer.name, dimer.description, dimer.sequence) == ("dimer", "heterodimer", "MKTAYIAKQRQISFV")
    assert dimer.chains == ("MKTAYIAK", "QRQISFV") and dimer.chain_breaks == (8,)
    assert mono.chains == ("MKTAY",) and mono.chain_breaks == ()
    assert dimer != ProteinSequence("dimer", "MKTAYIAKQRQISFV", "heterodimer")
    text = format_fasta([dimer, mono])
    assert text.splitlines()[1] == "MKTAYIAK:QRQISFV"
    assert parse_fasta_text(text, allow_chain_breaks=True) == [dimer, mono]


@pytest.mark.parametrize("body, line, message, position", [
    ("MKT::AA", 2, "chain 2 of 3 is empty", None),
    (":MKT", 2, "chain 1 of 2 is empty", None),
    ("MKT:\nA@A", 3, "invalid character `@` at position 2 (chain 2)", 6),
])
def test_chain_break_errors_name_the_chain_and_line(body, line, message, position):
    with pytest.raises(InputError) as info:
        parse_fasta_text(f">x\n{body}\n", source="in.fasta", allow_chain_breaks=True)
    assert str(info.value).startswith(f"in.fasta, line {line}: record 'x': ") and message in str(info.value)
    assert info.value.position == position


def test_chain_breaks_must_lie_inside_the_sequence():
    with pytest.raises(ValueError, match="chain breaks"):
        ProteinSequence("x", "MKT", chain_breaks=(3,))
    with pytest.raises(ValueError, match="chain breaks"):
        ProteinSequence("x", "MKTAA", chain_breaks=(2, 2))
