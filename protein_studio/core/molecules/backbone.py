"""The backbone of a structure as inverse-folding models read it: N, CA, C and O of every residue, in chains.

One node per sequence letter of each protein chain (:attr:`ChainInfo.sequence`), in the file's chain order.
A residue that lacks one of the four atoms, and the letters of a chromophore, keep their node without
coordinates (``mask`` 0): the models neither read their geometry nor design them, and the caller reports
them. Positions along a chain count the residues the numbering skips (a gap of 5 missing residues puts 6
between its neighbours), an insertion code counts one, and each chain starts 100 past the last index of the
one before, as ProteinMPNN's own reader numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protein_studio.core.errors import UserError

__all__ = ["Backbone", "backbone_of", "BACKBONE_ATOMS"]

BACKBONE_ATOMS = ("N", "CA", "C", "O")


@dataclass(frozen=True)
class Backbone:
    """Backbone coordinates of some chains of a structure.

    Parameters
    ----------
    coordinates : ndarray (L, 4, 3)
        N, CA, C, O; NaN where an atom is missing.
    residues : tuple of ResidueId
        The residue of each node (a chromophore's letters share one).
    sequence : str
        The structure's letter of each node.
    chains : tuple of str
        The chain of each node.
    residue_index : ndarray (L,)
        Position along the chain as the model reads it (see the module notes).
    """

    coordinates: np.ndarray
    residues: tuple
    sequence: str
    chains: tuple
    residue_index: np.ndarray

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def mask(self) -> np.ndarray:
        """1.0 where all four backbone atoms are present, else 0.0."""
        return self.mask_for(ca_only=False)

    def mask_for(self, ca_only: bool) -> np.ndarray:
        """1.0 where the atoms a model reads are present (all four, or the CA alone), else 0.0."""
        atoms = self.coordinates[:, 1:2] if ca_only else self.coordinates
        return np.isfinite(atoms).all(axis=(1, 2)).astype(np.float32)

    @property
    def chain_labels(self) -> np.ndarray:
        """1, 2, ... for the chains in order."""
        order = {chain: k + 1 for k, chain in enumerate(dict.fromkeys(self.chains))}
        return np.array([order[c] for c in self.chains], dtype=np.int64)

    def nodes_of(self, chain: str) -> np.ndarray:
        """Indices of the nodes of ``chain``."""
        return np.array([k for k, c in enumerate(self.chains) if c == chain], dtype=int)

    def incomplete(self, ca_only: bool = False) -> list:
        """Residues kept without coordinates (an atom missing, or a chromophore), in order."""
        mask = self.mask_for(ca_only)
        return list(dict.fromkeys(r for r, m in zip(self.residues, mask) if not m))


def backbone_of(structure, chains=None) -> Backbone:
    """The backbone of ``chains`` (all protein chains by default) of a loaded structure.

    Raises
    ------
    UserError
        A chain the structure does not have, or no residue with a complete backbone.
    """
    known = structure.chain_ids
    chosen = list(known) if chains is None else list(dict.fromkeys(chains))
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise UserError(f"{structure.name} has no protein chain {unknown[0]!r}; its chains: {', '.join(known)}")
    atoms = structure.atoms
    coordinates, residues, letters, chain_of, index = [], [], [], [], []
    start = 0
    for number, chain_id in enumerate(chosen):
        chain = structure.chain(chain_id)
        grouped = chain.grouped_indices
        selected = atoms[atoms.chain_id == chain_id]
        found: dict = {}
        for res_id, insertion, name, xyz in zip(selected.res_id, selected.ins_code, selected.atom_name,
                                                 selected.coord):
            key = (int(res_id), str(insertion).strip(), str(name))
            if name in BACKBONE_ATOMS and key not in found:
                found[key] = xyz
        position = start + 100 * number - 1
        previous = None
        for k, (residue, letter) in enumerate(zip(chain.residues, chain.sequence)):
            step = 1 if previous is None else max(1, residue.number - previous.number)
            if previous is not None and residue == previous:
                step = 1  # a chromophore's next letter
            position += step
            previous = residue
            xyz = np.full((4, 3), np.nan)
            if k not in grouped:
                for a, name in enumerate(BACKBONE_ATOMS):
                    value = found.get((residue.number, residue.insertion, name))
                    if value is not None:
                        xyz[a] = value
            coordinates.append(xyz)
            residues.append(residue)
            letters.append(letter)
            chain_of.append(chain_id)
            index.append(position)
        start = position + 1 - 100 * number
    backbone = Backbone(np.array(coordinates, dtype=np.float64).reshape(-1, 4, 3), tuple(residues),
                        "".join(letters), tuple(chain_of), np.array(index, dtype=np.int64))
    if not backbone.mask_for(ca_only=True).any():
        raise UserError(f"{structure.name}: no residue of chain(s) {', '.join(chosen)} has a CA atom")
    return backbone
