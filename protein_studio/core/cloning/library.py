"""A variant library from scored substitutions: every single, every combination up to k, or a chosen set.

The candidates are substitutions with their scan scores (0-based position, mutant amino acid, score). The
filters drop candidates below a score, outside a region, that introduce excluded residue types (no Cys or
Pro, say) or touch positions to keep; combinations never put two substitutions at one position. Each
variant carries its additive score (the sum of its substitutions' scores); :func:`with_joint_scores`
adds a model's joint score and the difference, flagged when it is large (likely epistasis). No Qt, no torch.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from protein_studio.core.errors import UserError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation

__all__ = ["Candidate", "LibraryFilters", "LibraryVariant", "candidates_at", "build_library", "with_joint_scores",
           "EPISTASIS_THRESHOLD", "MODES", "LIBRARY_COLUMNS", "library_rows"]

MODES = ("singles", "combinations", "chosen")
#: |joint - additive| above this (log-probability units) is flagged as likely epistasis
EPISTASIS_THRESHOLD = 1.0
LIBRARY_COLUMNS = ("variant", "mutations", "additive_score", "joint_score", "joint_minus_additive", "epistasis")


@dataclass(frozen=True)
class Candidate:
    """One substitution: 0-based ``index``, wild-type and mutant letters, its scan score."""

    index: int
    wt: str
    mt: str
    score: float

    def mutation(self) -> Mutation:
        return Mutation(self.index + 1, self.wt, self.mt)


@dataclass(frozen=True)
class LibraryFilters:
    min_score: float | None = None
    region: tuple[int, int] | None = None  # 0-based, inclusive
    exclude_introduced: str = ""  # residue letters never introduced, e.g. "CP"
    keep: frozenset[int] = frozenset()  # 0-based positions never mutated

    def accepts(self, candidate: Candidate) -> bool:
        if self.min_score is not None and not (candidate.score >= self.min_score):
            return False
        if self.region is not None and not self.region[0] <= candidate.index <= self.region[1]:
            return False
        return candidate.mt not in self.exclude_introduced and candidate.index not in self.keep


@dataclass
class LibraryVariant:
    variant: MultiMutant
    additive: float
    joint: float | None = None

    @property
    def difference(self) -> float | None:
        return None if self.joint is None else self.joint - self.additive

    @property
    def epistasis(self) -> bool:
        return self.difference is not None and abs(self.difference) > EPISTASIS_THRESHOLD


def candidates_at(scores, sequence: str, positions, amino_acids: str = "ACDEFGHIKLMNPQRSTVWY") -> list[Candidate]:
    """Every scored substitution at ``positions`` (0-based) of a scan matrix (L x 20), best first."""
    out = []
    for index in positions:
        for column, mt in enumerate(amino_acids):
            value = float(scores[index][column])
            if mt != sequence[index] and not math.isnan(value):
                out.append(Candidate(int(index), sequence[index], mt, value))
    return sorted(out, key=lambda c: (-c.score, c.index, c.mt))


def build_library(candidates, mode: str = "singles", max_order: int = 2, filters: LibraryFilters | None = None,
                  limit: int = 10000) -> list[LibraryVariant]:
    """The library: ``singles`` (each accepted candidate), ``combinations`` (every set of 1..``max_order``
    accepted candidates at distinct positions) or ``chosen`` (one variant of all the candidates given).
    More than ``limit`` variants is refused with the count."""
    if mode not in MODES:
        raise UserError(f"unknown library mode {mode!r}; choose {', '.join(MODES)}")
    accepted = [c for c in candidates if (filters or LibraryFilters()).accepts(c)]
    if mode == "chosen":
        positions = [c.index for c in accepted]
        if len(set(positions)) != len(positions):
            raise UserError("a chosen variant cannot hold two substitutions at one position")
        return [_variant(accepted)] if accepted else []
    orders = [1] if mode == "singles" else range(1, max(1, max_order) + 1)
    count = sum(math.comb(len(accepted), k) for k in orders)
    if count > 10 * limit:
        raise UserError(f"{count:,} combinations is more than the {limit:,} a library may hold; choose fewer "
                        f"substitutions or a lower order")
    library = []
    for k in orders:
        for combination in itertools.combinations(accepted, k):
            if len({c.index for c in combination}) == k:
                library.append(_variant(combination))
                if len(library) > limit:
                    raise UserError(f"more than {limit:,} variants; choose fewer substitutions or a lower order")
    return library


def _variant(combination) -> LibraryVariant:
    ordered = sorted(combination, key=lambda c: c.index)
    return LibraryVariant(MultiMutant(tuple(c.mutation() for c in ordered)), sum(c.score for c in ordered))


def with_joint_scores(library: list[LibraryVariant], joint: dict[str, float]) -> list[LibraryVariant]:
    """Put a model's joint scores (by variant text, sequence numbering) on the library's variants."""
    for entry in library:
        entry.joint = joint.get(str(entry.variant), entry.joint)
    return library


def library_rows(library: list[LibraryVariant], name=str) -> list[list[str]]:
    """Rows of :data:`LIBRARY_COLUMNS`; ``name`` writes a variant in the numbering shown."""
    rows = []
    for entry in library:
        difference = entry.difference
        rows.append([name(entry.variant), str(len(entry.variant.mutations)), f"{entry.additive:.4f}",
                     "" if entry.joint is None else f"{entry.joint:.4f}",
                     "" if difference is None else f"{difference:.4f}", "yes" if entry.epistasis else ""])
    return rows
