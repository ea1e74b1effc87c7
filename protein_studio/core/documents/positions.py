"""Positions that come in from a file are checked against the wild type before they are used: which of the
document's numberings the mutants of a table are written in.

A DMS table in UniProt numbering read under a document's Ambler numbering would land most rows two
positions off and keep the few whose wild-type letters happen to match. :func:`numbering_fits` counts, for
every numbering the document has (and the best whole-number offset), how many of the table's mutants name the
document's own residues; :func:`check_numbering` refuses a numbering that fits fewer than 90 % of them when
another fits 95 % or more, naming that one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import split_mutant_text
from protein_studio.core.molecules.numbering import NumberingScheme

__all__ = ["SchemeFit", "NumberingMismatch", "numbering_fits", "check_numbering", "LOW_FIT", "GOOD_FIT"]

#: The numbering in use is questioned below this share of matching mutants ...
LOW_FIT = 0.90
#: ... when another numbering reaches this share.
GOOD_FIT = 0.95
_BEST_OFFSET_RANGE = 2000


@dataclass(frozen=True)
class SchemeFit:
    """How the mutants of a table fit one numbering of the document.

    Attributes
    ----------
    name : str
        ``"sequence"``, ``"structure"``, ``"table"``, ``"offset +23"`` ...
    option : str
        How to ask for it on the command line: ``"--numbering sequence"``, ``"--numbering offset 23"``.
    scheme : NumberingScheme
    matched : int
        Mutants whose every position exists in the numbering and holds the wild-type letter written.
    mismatched : int
        Mutants naming a position whose residue is another letter.
    outside : int
        Mutants naming a position the numbering does not have.
    """

    name: str
    option: str
    scheme: NumberingScheme
    matched: int
    mismatched: int
    outside: int

    @property
    def total(self) -> int:
        return self.matched + self.mismatched + self.outside

    @property
    def rate(self) -> float:
        return self.matched / self.total if self.total else 0.0

    def describe(self) -> str:
        """``"sequence: 4,996 of 4,996 (100 %)"``."""
        return f"{self.name}: {self.matched:,} of {self.total:,} ({100 * self.rate:.0f} %)"


class NumberingMismatch(InputError):
    """The chosen numbering fits few of a table's mutants and another fits nearly all; ``fits`` has them all,
    the chosen one first, ``better`` the best other."""

    def __init__(self, message: str, *, source: str | None, chosen: SchemeFit, better: SchemeFit,
                 fits: Sequence[SchemeFit]):
        super().__init__(message, source=source)
        self.chosen = chosen
        self.better = better
        self.fits = list(fits)


def _option(scheme: NumberingScheme) -> str:
    if scheme.kind == "offset":
        return f"--numbering offset {scheme.offset}"
    if scheme.kind in ("table", "reference"):
        return f"--numbering {scheme.kind} {scheme.source or 'FILE'}"
    return f"--numbering {scheme.kind}"


def _fit(name: str, scheme: NumberingScheme, items: Sequence, wild_type: str) -> SchemeFit:
    matched = mismatched = outside = 0
    for mutations in items:
        state = "matched"
        for m in mutations:
            index = scheme.index(m.label)
            if index is None:
                state = "outside"
                break
            if wild_type[index] != m.wt:
                state = "mismatched"
        if state == "matched":
            matched += 1
        elif state == "mismatched":
            mismatched += 1
        else:
            outside += 1
    return SchemeFit(name, _option(scheme), scheme, matched, mismatched, outside)


def _best_offset(items: Sequence, wild_type: str) -> int | None:
    """The whole-number offset under which most single mutations with plain numbers name their wild-type
    letter (None when there are none)."""
    numbers, letters = [], []
    for mutations in items:
        for m in mutations:
            label = m.label.lstrip("-")
            if label.isascii() and label.isdigit():
                numbers.append(int(m.label))
                letters.append(m.wt)
    if not numbers:
        return None
    numbers = np.asarray(numbers)
    letters = np.frombuffer("".join(letters).encode("ascii", "replace"), dtype="S1")
    sequence = np.frombuffer(wild_type.encode("ascii", "replace"), dtype="S1")
    low = max(int(numbers.min()) - len(wild_type), -_BEST_OFFSET_RANGE)
    high = min(int(numbers.max()) - 1, _BEST_OFFSET_RANGE)
    best, best_count = None, 0
    for offset in range(low, high + 1):  # label = index + 1 + offset
        index = numbers - 1 - offset
        inside = (index >= 0) & (index < len(sequence))
        count = int(np.count_nonzero(sequence[index[inside]] == letters[inside]))
        if count > best_count:
            best, best_count = offset, count
    return best


def numbering_fits(mutants: Iterable[str], wild_type: str, schemes: dict[str, NumberingScheme],
                   offset: bool = True) -> list[SchemeFit]:
    """How ``mutants`` (as written in a file) fit each of ``schemes`` (a document's :meth:`schemes`) and,
    with ``offset``, the best whole-number offset of the sequence index; unreadable mutants count nowhere.

    Returns
    -------
    list of SchemeFit
        One per scheme in the order given, then the offset (when it is not one of them already).
    """
    items = []
    for text in mutants:
        try:
            items.append(split_mutant_text(str(text)))
        except InputError:
            continue
    fits = [_fit(name, scheme, items, wild_type) for name, scheme in schemes.items()]
    if offset and items:
        best = _best_offset(items, wild_type)
        known = {(s.kind, s.labels) for s in schemes.values()}
        if best is not None:
            scheme = NumberingScheme.sequence(len(wild_type)) if best == 0 else \
                NumberingScheme.with_offset(len(wild_type), best)
            if (scheme.kind, scheme.labels) not in known and not any(s.labels == scheme.labels for s in schemes.values()):
                fits.append(_fit(scheme.description, scheme, items, wild_type))
    return fits


def check_numbering(mutants: Sequence[str], wild_type: str, scheme: NumberingScheme,
                    schemes: dict[str, NumberingScheme], source: str | None = None) -> list[SchemeFit]:
    """Check that ``mutants`` are written in ``scheme``: raise when it fits fewer than :data:`LOW_FIT` of them
    and another numbering fits :data:`GOOD_FIT` or more.

    Returns
    -------
    list of SchemeFit
        Every numbering's fit, ``scheme``'s first (what an import summary shows).

    Raises
    ------
    NumberingMismatch
        Naming both numberings, their match rates and how to choose the better one.
    """
    others = {name: s for name, s in schemes.items() if s.labels != scheme.labels}
    fits = numbering_fits(mutants, wild_type, {scheme.kind if scheme.kind not in others else "chosen": scheme,
                                               **others})
    chosen, rest = fits[0], fits[1:]
    better = max(rest, key=lambda f: f.rate, default=None)
    if chosen.total and chosen.rate < LOW_FIT and better is not None and better.rate >= GOOD_FIT:
        raise NumberingMismatch(
            f"the mutants are not in the {scheme.description} numbering: only {chosen.matched:,} of "
            f"{chosen.total:,} ({100 * chosen.rate:.0f} %) name the wild-type residue there, while "
            f"{better.matched:,} ({100 * better.rate:.0f} %) do in {better.name} numbering; use {better.option}",
            source=source, chosen=chosen, better=better, fits=fits)
    return fits
