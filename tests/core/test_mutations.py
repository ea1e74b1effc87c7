"""Mutation parsing, canonical formatting, validation against the wild type and application."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import (
    MultiMutant,
    Mutation,
    apply_mutant,
    format_mutant,
    parse_mutant,
    parse_mutation,
    validate_mutant,
)
from protein_studio.core.molecules.sequences import AMINO_ACIDS, ProteinSequence, read_fasta

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def tem1() -> ProteinSequence:
    """TEM-1 beta-lactamase precursor (P62593), 286 residues, from the ESM example data."""
    return read_fasta(DATA / "P62593_first3.fasta")[0]


@pytest.mark.parametrize("text, expected", [
    ("A42G", "A42G"),
    ("a42g", "A42G"),
    (" K45R ", "K45R"),
    ("p.Ala42Gly", "A42G"),
    ("p.(Ala42Gly)", "A42G"),
    ("p.ALA42gly", "A42G"),
    ("p.Ala42=", "A42A"),
    ("Lys45Arg", "K45R"),
])
def test_parse_single(text, expected):
    assert str(parse_mutation(text)) == expected


@pytest.mark.parametrize("text", [
    "A42G:K45R", "K45R:A42G", "K45R;A42G", "A42G K45R", "A42G\tK45R\n",
    "p.[Ala42Gly;Lys45Arg]", "p.Lys45Arg:p.(Ala42Gly)", "A42G:K45R:",
])
def test_parse_multi_canonical(text):
    mutant = parse_mutant(text)
    assert str(mutant) == "A42G:K45R"
    assert mutant.positions == (42, 45)
    assert mutant == MultiMutant((Mutation(45, "K", "R"), Mutation(42, "A", "G")))
    assert hash(mutant) == hash(parse_mutant("A42G:K45R"))


def test_formats():
    mutant = parse_mutant("K45R:A42G")
    assert format_mutant(mutant) == "A42G:K45R"
    assert format_mutant(mutant, style="hgvs") == "p.[Ala42Gly;Lys45Arg]"
    assert format_mutant(Mutation(42, "A", "A"), style="hgvs") == "p.Ala42="
    assert format_mutant(mutant, offset=-25) == "A67G:K70R"
    with pytest.raises(ValueError):
        format_mutant(mutant, style="vcf")


def test_offset():
    assert parse_mutation("A67G", offset=-25) == Mutation(42, "A", "G")
    assert parse_mutant("p.Ala67Gly:K70R", offset=-25).positions == (42, 45)


def test_synonymous_allowed():
    mutation = parse_mutation("A42A")
    assert mutation.synonymous and not parse_mutation("A42G").synonymous
    assert apply_mutant("MAK", "A2A") == "MAK"


@pytest.mark.parametrize("text, message", [
    ("A42*", "stop (nonsense) mutations cannot be scored"),
    ("p.Ala42Ter", "stop (nonsense) mutations cannot be scored"),
    ("p.Ala42*", "stop (nonsense) mutations cannot be scored"),
    ("A42X", "'X' (an unknown residue) is not one of the 20 amino acids"),
    ("U42A", "'U' (selenocysteine) is not one of the 20"),
    ("p.Sec42Ala", "Sec is selenocysteine"),
    ("p.Xyz42Ala", "unknown amino acid code 'Xyz'"),
    ("A42Gly", "expected e.g. A42G or p.Ala42Gly"),
    ("42G", "cannot read mutation '42G'"),
    ("AG", "cannot read mutation 'AG'"),
    ("", "no mutation given"),
    (" ;: ", "no mutation given"),
    ("A42G:A42G", "duplicate mutation A42G at position 42"),
    ("A42G:A42V", "conflicting mutations at position 42: A42G and A42V"),
    ("A42G:K45R:p.Ala42Val", "conflicting mutations at position 42"),
])
def test_parse_errors(text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        parse_mutant(text)


def test_validate_and_apply_on_tem1(tem1):
    # TEM-1 precursor numbering: residue 20 is P, 24 is H, 207 is D.
    mutant = validate_mutant("H24C:D207N", tem1)
    assert str(mutant) == "H24C:D207N"
    mutated = apply_mutant(tem1, mutant)
    assert len(mutated) == 286
    differences = [(i + 1, a, b) for i, (a, b) in enumerate(zip(tem1.sequence, mutated)) if a != b]
    assert differences == [(24, "H", "C"), (207, "D", "N")]


def test_validation_messages(tem1):
    with pytest.raises(InputError) as info:
        validate_mutant("A24G", tem1)
    assert "position 24 is H, not A" in str(info.value)
    assert info.value.position == 24
    with pytest.raises(InputError, match=r"position 300 is outside the sequence \(residues 1-286\)"):
        validate_mutant("A300G", tem1)
    with pytest.raises(InputError, match=r"position 24 is H, not A; position 300 is outside"):
        apply_mutant(tem1, "A300G:A24G")
    with pytest.raises(InputError, match=r"position 0 is outside the sequence \(residues 1-286\)"):
        validate_mutant("A0G", tem1)


def test_first_residue_numbering():
    fragment = ProteinSequence("PABP_YEAST/126-130", "GNIFI", first_residue=126)
    assert apply_mutant(fragment, "G126A:I130V") == "ANIFV"
    assert apply_mutant("GNIFI", "N127D", first_residue=126) == "GDIFI"
    with pytest.raises(InputError, match=r"position 1 is outside the sequence \(residues 126-130\)"):
        validate_mutant("G1A", fragment)
    # An explicit first_residue overrides the record's.
    assert apply_mutant(fragment, "G1A", first_residue=1) == "ANIFI"


def test_synonymous_variants_in_tem1_headers_match_the_wild_type():
    records = read_fasta(DATA / "P62593_first3.fasta")
    wild_type = records[0].sequence
    for record in records:
        mutation = record.name.split("|")[1].split("_")[1]  # "0|beta-lactamase_P20P|1.58" -> P20P
        mutant = parse_mutant(mutation)
        assert mutant.mutations[0].synonymous
        assert apply_mutant(wild_type, mutant) == record.sequence


def test_every_mutant_of_the_tem1_dms_table_matches_the_wild_type(tem1):
    with open(DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv", encoding="utf-8-sig", newline="") as handle:
        mutants = [row["mutant"] for row in csv.DictReader(handle)]
    assert len(mutants) == 4996
    for text in mutants:
        mutant = validate_mutant(text, tem1)
        mutated = apply_mutant(tem1, mutant)
        (mutation,) = mutant.mutations
        assert mutated[mutation.position - 1] == mutation.mt
        assert str(mutant) == text


def test_mutation_objects():
    assert sorted([Mutation(45, "K", "R"), Mutation(42, "A", "V"), Mutation(42, "A", "G")]) == [
        Mutation(42, "A", "G"), Mutation(42, "A", "V"), Mutation(45, "K", "R")]
    with pytest.raises(InputError):
        Mutation(42, "A", "*")
    with pytest.raises(InputError):
        Mutation("42", "A", "G")
    with pytest.raises(InputError, match="at least one mutation"):
        MultiMutant(())
    mutant = parse_mutant("A42G:K45R")
    assert len(mutant) == 2 and [str(m) for m in mutant] == ["A42G", "K45R"]


# --- properties -------------------------------------------------------------------------------------

residues = st.sampled_from(AMINO_ACIDS)
mutations = st.builds(Mutation, st.integers(min_value=1, max_value=40_000), residues, residues)


@st.composite
def multi_mutants(draw):
    positions = draw(st.lists(st.integers(min_value=1, max_value=5_000), min_size=1, max_size=8,
                              unique=True))
    return [Mutation(p, draw(residues), draw(residues)) for p in positions]


@given(mutations, st.integers(min_value=-500, max_value=500))
def test_single_round_trip(mutation, offset):
    assert parse_mutation(str(mutation)) == mutation
    assert parse_mutation("p." + mutation.hgvs()) == mutation
    assert parse_mutation(f"p.({mutation.hgvs()})") == mutation
    assert parse_mutation(str(mutation).lower()) == mutation
    shifted = Mutation(mutation.position - offset, mutation.wt, mutation.mt)
    if shifted.position >= 0:
        assert parse_mutation(str(shifted), offset=offset) == mutation


@given(multi_mutants(), st.data())
def test_multi_round_trip_any_order_and_separator(items, data):
    shuffled = data.draw(st.permutations(items))
    separators = [data.draw(st.sampled_from([":", ";", " ", "\t", " ; "]))
                  for _ in shuffled]
    text = "".join(str(m) + sep for m, sep in zip(shuffled, separators))
    mutant = parse_mutant(text)
    canonical = ":".join(str(m) for m in sorted(items, key=lambda m: m.position))
    assert str(mutant) == canonical
    assert parse_mutant(canonical) == mutant
    assert parse_mutant(mutant.hgvs()) == mutant
    assert parse_mutant(format_mutant(mutant, offset=-7), offset=-7) == mutant


@given(st.text(alphabet=AMINO_ACIDS, min_size=1, max_size=300), st.data())
def test_apply_changes_exactly_the_mutated_positions(sequence, data):
    first = data.draw(st.integers(min_value=-5, max_value=200))
    indices = data.draw(st.lists(st.integers(min_value=0, max_value=len(sequence) - 1), min_size=1,
                                 max_size=min(5, len(sequence)), unique=True))
    mutant = MultiMutant(tuple(Mutation(first + i, sequence[i], data.draw(residues)) for i in indices))
    mutated = apply_mutant(sequence, mutant, first_residue=first)
    assert len(mutated) == len(sequence)
    for i, (before, after) in enumerate(zip(sequence, mutated)):
        assert after == (next(m.mt for m in mutant if m.position == first + i)
                         if i in indices else before)


def test_a_comma_separates_mutants_everywhere():
    """One rule for lists: the variant box, --mutants and a mutants file all read A3G,,K5R as two mutants."""
    from protein_studio.core.molecules.mutations import split_mutants

    assert split_mutants("A3G,,K5R") == ["A3G", "K5R"]
    assert split_mutants("A42G:K45R, L46F\nM1A") == ["A42G:K45R", "L46F", "M1A"]
    with pytest.raises(InputError, match="holds 2 mutants separated by ','; join the mutations of one mutant "
                                         "with ':' \\(A42G:K45R\\)"):
        parse_mutant("A42G,K45R")
