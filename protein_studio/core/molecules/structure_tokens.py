"""Structure tokens: foldseek's 3Di alphabet for every residue of a document, as SaProt reads them.

Each residue of a chain gets one of 20 3Di letters from the geometry of its backbone and its nearest
neighbour in space (foldseek's encoder). The letters come from ``mini3di``, a NumPy port of foldseek's
encoder, installed with the optional extra ``pip install "protein-studio[structure]"``; without it,
:func:`structure_tokens` says so. SaProt writes them in lower case and uses ``#`` where the structure says
nothing: residues without coordinates (a sequence position the structure lacks, a chromophore standing for
several residues) and, in a predicted model, residues whose pLDDT is below 70 (SaProt's and ProteinGym's
rule). No torch here.
"""

from __future__ import annotations

import numpy as np

from protein_studio.core.errors import UserError

__all__ = ["MASKED", "PLDDT_THRESHOLD", "STRUCTURE_EXTRA", "StructureTokens", "three_di_of_chain",
           "structure_tokens", "structure_extra_problem"]

#: The token of a residue the structure says nothing about.
MASKED = "#"
#: Predicted residues below this pLDDT are masked.
PLDDT_THRESHOLD = 70.0
#: How to install what the structure tokens need.
STRUCTURE_EXTRA = 'pip install "protein-studio[structure]" (adds mini3di, foldseek\'s 3Di encoder in NumPy)'


def structure_extra_problem() -> str | None:
    """None when the 3Di encoder can be imported, else what is missing and how to install it."""
    try:
        import mini3di  # noqa: F401
    except ImportError:
        return f"structure-aware scoring needs the 3Di encoder, which is not installed: {STRUCTURE_EXTRA}"
    return None


class StructureTokens(str):
    """The 3Di string of a document (one lower-case letter or ``#`` per residue) with how it was made."""

    masked_low_confidence: int
    without_coordinates: int
    chain: str
    confidence: str

    def __new__(cls, letters: str, chain: str, without_coordinates: int, masked_low_confidence: int,
                confidence: str = ""):
        token = super().__new__(cls, letters)
        token.chain = chain
        token.without_coordinates = without_coordinates
        token.masked_low_confidence = masked_low_confidence
        token.confidence = confidence
        return token

    @property
    def masked(self) -> int:
        """Residues written ``#`` (the model reads their amino acid only)."""
        return self.count(MASKED)

    def masked_why(self) -> str:
        """Why residues are masked, in words, with where the pLDDT rule came from."""
        reasons = []
        if self.without_coordinates:
            reasons.append(f"{self.without_coordinates} without coordinates in the structure")
        if self.masked_low_confidence:
            reasons.append(f"{self.masked_low_confidence} with pLDDT < {PLDDT_THRESHOLD:g}")
        other = self.masked - self.without_coordinates - self.masked_low_confidence
        if other > 0:
            reasons.append(f"{other} the 3Di encoder gives no letter")
        text = "; ".join(reasons) if reasons else "none masked"
        return text + (f" (B-factor column: {self.confidence})" if self.confidence else "")

    def describe(self) -> str:
        """One line for provenance and the activity log."""
        text = f"3Di of chain {self.chain} (mini3di)"
        notes = []
        if self.without_coordinates:
            notes.append(f"{self.without_coordinates} residues without coordinates")
        if self.masked_low_confidence:
            notes.append(f"{self.masked_low_confidence} with pLDDT < {PLDDT_THRESHOLD:g}")
        return text + (f"; '#' for {', '.join(notes)}" if notes else "")


def _encoder():
    problem = structure_extra_problem()
    if problem:
        raise UserError(problem)
    from mini3di import Encoder

    return Encoder()


def three_di_of_chain(structure, chain_id: str) -> dict:
    """The 3Di letter (lower case, ``#`` where the encoder has none) of every residue of a chain that has
    a CA atom, keyed by :class:`~protein_studio.core.molecules.structures.ResidueId`, in chain order.

    Raises
    ------
    UserError
        The optional 3Di encoder is not installed.
    """
    from protein_studio.core.molecules.structures import ResidueId

    encoder = _encoder()
    order: dict = {}
    for residue in structure.chain(chain_id).residues:  # protein residues, modified ones included
        order.setdefault(residue, len(order))
    atoms = structure.atoms[structure.atoms.chain_id == chain_id]
    coords = {name: np.full((len(order), 3), np.nan, dtype=np.float32) for name in ("CA", "CB", "N", "C")}
    for number, insertion, name, xyz in zip(atoms.res_id, atoms.ins_code, atoms.atom_name, atoms.coord):
        k = order.get(ResidueId(chain_id, int(number), str(insertion).strip()))
        if k is not None and name in coords and np.isnan(coords[name][k, 0]):
            coords[name][k] = xyz
    with_ca = ~np.isnan(coords["CA"][:, 0])
    residues = [key for key, k in order.items() if with_ca[k]]
    if not residues:
        return {}
    states = encoder.encode_atoms(*(coords[name][with_ca] for name in ("CA", "CB", "N", "C")))
    letters = encoder.build_sequence(states).lower().replace("x", MASKED)
    return dict(zip(residues, letters))


def structure_tokens(document) -> StructureTokens:
    """The 3Di string SaProt reads for ``document``: one token per residue of its sequence.

    A residue mapped to the structure gets its 3Di letter; one the structure lacks, or a chromophore
    residue, gets ``#``; in a predicted structure (pLDDT), residues below :data:`PLDDT_THRESHOLD` too.

    Raises
    ------
    UserError
        The document has no structure (structure-aware models need one), or the 3Di encoder is missing.
    """
    structure = document.structure
    if structure is None or document.chain is None:
        raise UserError(f"{document.name} has no 3D structure: structure-aware models (SaProt) read the "
                        f"structure's 3Di tokens. Open a structure file with the sequence, or predict one with "
                        f"ESMFold (`protein-studio fold`, or Run \u25b8 Predict Structure in the window) and "
                        f"score that")
    letters = three_di_of_chain(structure, document.chain)
    chain = structure.chain(document.chain)
    confidence = {residue: value for residue, value in zip(chain.residues, chain.confidence)}
    grouped = {group.residue for group in chain.groups}
    plddt = structure.confidence_kind == "plddt"
    out = []
    missing = low = 0
    for residue in document.numbering.residues:
        letter = letters.get(residue) if residue is not None and residue not in grouped else None
        if letter is None:
            missing += 1
            out.append(MASKED)
            continue
        value = confidence.get(residue, np.nan)
        if plddt and np.isfinite(value) and value < PLDDT_THRESHOLD:
            low += 1
            out.append(MASKED)
            continue
        out.append(letter)
    kind = {"plddt": "pLDDT", "bfactor": "B-factors, no residue masked for it", None: "empty"}[structure.confidence_kind]
    why = f"{kind}, {structure.confidence_evidence}" if structure.confidence_evidence else kind
    return StructureTokens("".join(out), document.chain, missing, low, why)
