"""Point mutations and multi-mutants: parsing, canonical formatting, validation and application.

Accepted notations (case-insensitive letters):

- single: ``A42G``;
- multi-mutant: singles joined by ``:``, ``;`` or whitespace: ``A42G:K45R``, ``A42G K45R``;
- a list of mutants (the variant box, ``--mutants``, a line of a mutants file): mutants separated by ``,``
  or new lines, everywhere (:func:`split_mutants`): ``A3G,,K5R`` is the two mutants A3G and K5R;
- HGVS protein: ``p.Ala42Gly``, ``p.(Ala42Gly)``, ``p.Ala42=`` (synonymous), and alleles
  ``p.[Ala42Gly;Lys45Arg]``.

The canonical form is one-letter codes, mutations sorted by position, joined by ``:`` (``A42G:K45R``);
:class:`MultiMutant` always holds that order, so equal mutants compare and hash equal.

Decisions:

- Synonymous mutations (``A42A``) are allowed: deep mutational scans measure them and their score is a
  useful baseline (0 for the ESM log-ratio scores).
- Only the 20 canonical residues are accepted as wild type or mutant. A stop (``*``, ``Ter``) as mutant
  is rejected with a message saying nonsense mutations cannot be scored.
- A position may appear once in a multi-mutant; a repeat (``A42G:A42G``) or a conflict
  (``A42G:A42V``) is rejected, naming the position.
- ``offset`` is added to the number written: with ``offset=-25``, ``A50G`` means position 25 of the
  numbering used by the sequence. Formatting with the same offset writes the original number back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from biotite.sequence import ProteinSequence as _BiotiteProtein

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.sequences import AMINO_ACIDS, ProteinSequence

__all__ = [
    "MAX_MUTANT_TEXT",
    "Mutation",
    "MultiMutant",
    "MutationText",
    "split_mutant_text",
    "split_mutants",
    "parse_mutation",
    "parse_mutant",
    "format_mutant",
    "validate_mutant",
    "apply_mutant",
]

#: Longest text read as one variant (about 2,000 mutations): longer text is refused before it is split, so a
#: huge cell in a table costs nothing.
MAX_MUTANT_TEXT = 20_000


def _check_length(text: str) -> None:
    if len(text) > MAX_MUTANT_TEXT:
        raise InputError(f"a variant of {len(text):,} characters ({text[:24]!r}...): at most {MAX_MUTANT_TEXT:,} "
                         f"are read")

_ONE_TO_THREE = {aa: _BiotiteProtein.convert_letter_1to3(aa).capitalize() for aa in AMINO_ACIDS}
_THREE_TO_ONE = {three.upper(): one for one, three in _ONE_TO_THREE.items()}
_STOP = {"*", "TER"}
_NOT_SUPPORTED = {"X": "an unknown residue", "SEC": "selenocysteine", "PYL": "pyrrolysine", "XAA": "an unknown residue",
                  "U": "selenocysteine", "O": "pyrrolysine", "B": "an ambiguous residue",
                  "Z": "an ambiguous residue", "J": "an ambiguous residue"}
# A position is a label of the numbering in use: digits (ASCII only: a '٣' or '３' is not read as 3), an
# optional minus sign and an optional insertion code (52A), or a 1-based sequence index in parentheses,
# "(12)", which every numbering accepts. The mutant residue is always the last letter, so E52AA is E at
# 52A to A.
_LABEL = r"\(-?[0-9]+\)|-?[0-9]+[A-Za-z]?"
_ONE_LETTER = re.compile(rf"([A-Za-z])({_LABEL})([A-Za-z*])", re.ASCII)
_THREE_LETTER = re.compile(rf"([A-Za-z]{{3}})({_LABEL})([A-Za-z]{{3}}|\*|=)", re.ASCII)
_SEPARATORS = re.compile(r"[:;\s]+")
_LIST_SEPARATORS = re.compile(r"[,\n\r]+")
_HGVS_PREFIX = re.compile(r"^p\.", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Mutation:
    """One substitution, ``wt`` at ``position`` to ``mt``.

    Parameters
    ----------
    position : int
        Residue number in the numbering of the sequence it applies to.
    wt, mt : str
        One-letter codes of the wild-type and mutant residue (canonical 20; ``wt == mt`` is a
        synonymous mutation).
    """

    position: int
    wt: str
    mt: str

    def __post_init__(self):
        for role, letter in (("wild-type", self.wt), ("mutant", self.mt)):
            if letter == "*" and role == "mutant":
                raise InputError(f"{self.wt}{self.position}*: stop (nonsense) mutations cannot be scored")
            if not isinstance(letter, str) or len(letter) != 1 or letter not in AMINO_ACIDS:
                what = _NOT_SUPPORTED.get(str(letter).upper())
                detail = f" ({what})" if what else ""
                raise InputError(f"{role} residue {letter!r}{detail} is not one of the 20 amino acids "
                                 f"{AMINO_ACIDS}")
        if isinstance(self.position, bool) or not isinstance(self.position, int):
            raise InputError(f"mutation position must be an integer, not {self.position!r}")

    def __str__(self) -> str:
        return f"{self.wt}{self.position}{self.mt}"

    @property
    def synonymous(self) -> bool:
        """True when the mutant residue is the wild type."""
        return self.wt == self.mt

    def hgvs(self) -> str:
        """HGVS protein notation without the ``p.`` prefix, e.g. ``Ala42Gly`` or ``Ala42=``."""
        mt = "=" if self.synonymous else _ONE_TO_THREE[self.mt]
        return f"{_ONE_TO_THREE[self.wt]}{self.position}{mt}"


@dataclass(frozen=True)
class MultiMutant:
    """A set of mutations at distinct positions, kept sorted by position (the canonical order).

    Parameters
    ----------
    mutations : tuple of Mutation
        At least one; any order (they are sorted); each position at most once.

    Raises
    ------
    InputError
        If empty, or if a position appears twice (duplicate or conflicting mutations).
    """

    mutations: tuple[Mutation, ...]

    def __post_init__(self):
        mutations = tuple(sorted(self.mutations))
        if not mutations:
            raise InputError("a mutant needs at least one mutation")
        for previous, current in zip(mutations, mutations[1:]):
            if previous.position == current.position:
                if previous == current:
                    raise InputError(f"duplicate mutation {current} at position {current.position}")
                raise InputError(f"conflicting mutations at position {current.position}: "
                                 f"{previous} and {current}")
        object.__setattr__(self, "mutations", mutations)

    def __str__(self) -> str:
        return ":".join(str(m) for m in self.mutations)

    def __len__(self) -> int:
        return len(self.mutations)

    def __iter__(self):
        return iter(self.mutations)

    @property
    def positions(self) -> tuple[int, ...]:
        """Mutated positions, ascending."""
        return tuple(m.position for m in self.mutations)

    def hgvs(self) -> str:
        """HGVS protein notation: ``p.Ala42Gly`` for one mutation, ``p.[Ala42Gly;Lys45Arg]`` for more."""
        if len(self.mutations) == 1:
            return f"p.{self.mutations[0].hgvs()}"
        return "p.[" + ";".join(m.hgvs() for m in self.mutations) + "]"


def _three_to_one(code: str, text: str) -> str:
    upper = code.upper()
    if upper in _THREE_TO_ONE:
        return _THREE_TO_ONE[upper]
    if upper in _STOP:
        return "*"
    what = _NOT_SUPPORTED.get(upper)
    if what:
        raise InputError(f"cannot use mutation {text!r}: {code} is {what}, not one of the 20 amino acids")
    raise InputError(f"cannot read mutation {text!r}: unknown amino acid code {code!r}")


@dataclass(frozen=True)
class MutationText:
    """One mutation as written, before its position is looked up in a numbering.

    Parameters
    ----------
    text : str
        The token as written (``"E104K"``, ``"p.Glu104Lys"``, ``"E52AA"``).
    wt, mt : str
        One-letter wild-type and mutant residues (checked to be among the 20; no stop).
    label : str
        The position as written: ``"104"``, ``"52A"``, ``"-3"``, or ``"(12)"`` for a sequence index.
    """

    text: str
    wt: str
    label: str
    mt: str


def _read_token(token: str) -> MutationText:
    body = _HGVS_PREFIX.sub("", token)
    if body.startswith(("(", "[")) and body.endswith((")", "]")):
        body = body[1:-1]
    body = body.lstrip("[").rstrip("]")
    match = _ONE_LETTER.fullmatch(body)
    if match:
        wt, label, mt = match.group(1).upper(), match.group(2), match.group(3).upper()
    else:
        match = _THREE_LETTER.fullmatch(body)
        if not match:
            raise InputError(f"cannot read mutation {token!r}: expected e.g. A42G or p.Ala42Gly")
        wt = _three_to_one(match.group(1), token)
        label = match.group(2)
        mt = wt if match.group(3) == "=" else _three_to_one(match.group(3), token)
        if wt == "*":
            raise InputError(f"cannot read mutation {token!r}: the wild type cannot be a stop")
    if mt == "*":
        raise InputError(f"cannot use mutation {token!r}: stop (nonsense) mutations cannot be scored")
    for role, letter in (("wild-type", wt), ("mutant", mt)):
        if letter not in AMINO_ACIDS:
            what = _NOT_SUPPORTED.get(letter)
            detail = f" ({what})" if what else ""
            raise InputError(f"cannot use mutation {token!r}: {role} residue {letter!r}{detail} is not one of "
                             f"the 20 amino acids {AMINO_ACIDS}")
    return MutationText(token, wt, label.upper(), mt)


def split_mutant_text(text: str) -> list[MutationText]:
    """Read a single or multiple mutant into its mutations, positions left as written (labels).

    The numbering object (:class:`protein_studio.core.molecules.numbering.NumberingScheme`) turns the labels into
    sequence positions; :func:`parse_mutant` does so for plain numbers.

    Parameters
    ----------
    text : str
        Mutations separated by ``:``, ``,``, ``;`` or whitespace, one-letter or HGVS.

    Raises
    ------
    InputError
        For an empty text or an unreadable mutation.
    """
    _check_length(text)
    if "," in text:
        mutants = split_mutants(text)
        raise InputError(f"{text.strip()!r} holds {len(mutants)} mutants separated by ','; join the mutations of "
                         f"one mutant with ':' ({':'.join(mutants) or 'A42G:K45R'})")
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    if not tokens:
        raise InputError("no mutation given")
    try:
        return [_read_token(token) for token in tokens]
    except InputError as error:
        if len(tokens) == 1:
            raise
        raise InputError(f"in {text.strip()!r}: {error}") from None


def split_mutants(text: str) -> list[str]:
    """The mutants of a list: separated by ``,`` or new lines (empty ones skipped), the same rule in the
    variant box, ``--mutants`` and a mutants file. ``"A3G,,K5R"`` -> ``["A3G", "K5R"]``;
    ``"A42G:K45R, L46F"`` -> ``["A42G:K45R", "L46F"]``."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()]


def parse_mutation(text: str, offset: int = 0) -> Mutation:
    """Parse one mutation, ``A42G``, ``p.Ala42Gly`` or ``p.(Ala42Gly)``.

    Parameters
    ----------
    text : str
        The mutation.
    offset : int
        Added to the number written to give the position.

    Returns
    -------
    Mutation

    Raises
    ------
    InputError
        If the text is not a mutation in these notations, names a residue outside the 20 amino acids,
        or makes a stop.
    """
    token = text.strip()
    item = _read_token(token)
    try:
        number = int(item.label)
    except ValueError:
        raise InputError(f"cannot read mutation {token!r}: position {item.label} is not a plain number "
                         f"(use a numbering that has it)") from None
    try:
        return Mutation(number + offset, item.wt, item.mt)
    except InputError as error:
        raise InputError(f"cannot use mutation {token!r}: {error}") from None


def parse_mutant(text: str, offset: int = 0) -> MultiMutant:
    """Parse a single or multiple mutant into its canonical form.

    Parameters
    ----------
    text : str
        Mutations separated by ``:``, ``;`` or whitespace, in one-letter or HGVS notation
        (``A42G:K45R``, ``p.[Ala42Gly;Lys45Arg]``); a comma separates mutants and is refused here.
    offset : int
        Added to every number written.

    Returns
    -------
    MultiMutant
        Sorted by position.

    Raises
    ------
    InputError
        For an empty text, an unreadable mutation, or a position given twice.
    """
    _check_length(text)
    if "," in text:
        split_mutant_text(text)  # raises: a comma separates mutants
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    # 'p.[Ala42Gly;Lys45Arg]' splits into 'p.[Ala42Gly' and 'Lys45Arg]'; parse_mutation strips both.
    if not tokens:
        raise InputError("no mutation given")
    try:
        return MultiMutant(tuple(parse_mutation(token, offset) for token in tokens))
    except InputError as error:
        if len(tokens) == 1:
            raise
        raise InputError(f"in {text.strip()!r}: {error}") from None


def format_mutant(mutant: Mutation | MultiMutant, *, offset: int = 0, style: str = "plain") -> str:
    """Write a mutant in the canonical one-letter form or in HGVS.

    Parameters
    ----------
    mutant : Mutation or MultiMutant
    offset : int
        The offset used when parsing; it is subtracted so the original numbers are written.
    style : {"plain", "hgvs"}

    Returns
    -------
    str
        ``A42G:K45R`` or ``p.[Ala42Gly;Lys45Arg]``.
    """
    if isinstance(mutant, Mutation):
        mutant = MultiMutant((mutant,))
    if offset:
        mutant = MultiMutant(tuple(Mutation(m.position - offset, m.wt, m.mt) for m in mutant))
    if style == "plain":
        return str(mutant)
    if style == "hgvs":
        return mutant.hgvs()
    raise ValueError(f"unknown style {style!r}; use 'plain' or 'hgvs'")


def _as_multi(mutant) -> MultiMutant:
    if isinstance(mutant, MultiMutant):
        return mutant
    if isinstance(mutant, Mutation):
        return MultiMutant((mutant,))
    if isinstance(mutant, str):
        return parse_mutant(mutant)
    raise TypeError(f"expected a Mutation, MultiMutant or str, not {type(mutant).__name__}")


def _residues(sequence, first_residue: int | None) -> tuple[str, int]:
    if isinstance(sequence, ProteinSequence):
        start = sequence.first_residue if first_residue is None else first_residue
        return sequence.sequence, start
    return str(sequence), 1 if first_residue is None else first_residue


def validate_mutant(mutant, sequence, first_residue: int | None = None) -> MultiMutant:
    """Check a mutant against the wild-type sequence.

    Parameters
    ----------
    mutant : MultiMutant, Mutation or str
    sequence : str or ProteinSequence
        The wild type.
    first_residue : int, optional
        Number of the first residue; default the ``ProteinSequence``'s, or 1 for a plain string.

    Returns
    -------
    MultiMutant
        The mutant, canonical.

    Raises
    ------
    InputError
        Naming every mismatch: "position 42 is L, not A", or
        "position 300 is outside the sequence (residues 1-263)".
    """
    multi = _as_multi(mutant)
    residues, start = _residues(sequence, first_residue)
    last = start + len(residues) - 1
    errors = []
    for m in multi:
        if not start <= m.position <= last:
            errors.append((m.position, f"position {m.position} is outside the sequence "
                                       f"(residues {start}-{last})"))
        elif residues[m.position - start] != m.wt:
            errors.append((m.position, f"position {m.position} is {residues[m.position - start]}, "
                                       f"not {m.wt}"))
    if errors:
        raise InputError(f"mutant {multi} does not match the wild type: "
                         + "; ".join(text for _, text in errors), position=errors[0][0])
    return multi


def apply_mutant(sequence, mutant, first_residue: int | None = None) -> str:
    """Return the mutated sequence after checking the mutant against it.

    Parameters
    ----------
    sequence : str or ProteinSequence
        The wild type.
    mutant : MultiMutant, Mutation or str
    first_residue : int, optional
        As in :func:`validate_mutant`.

    Returns
    -------
    str
        The mutant sequence.

    Raises
    ------
    InputError
        As :func:`validate_mutant`.
    """
    multi = validate_mutant(mutant, sequence, first_residue)
    residues, start = _residues(sequence, first_residue)
    chars = list(residues)
    for m in multi:
        chars[m.position - start] = m.mt
    return "".join(chars)
