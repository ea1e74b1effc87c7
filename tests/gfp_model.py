"""A stand-in for PDB 1EMA (GFP S65T), written by the tests: 1EMA's own numbering and residues on made-up
coordinates, because the suite has no copy of the entry (``tests/data/README.md``).

What matters for numbering is kept from 1EMA (its SEQRES, REMARK 465 and REMARK 999): chain A holds
residues 2-229 (1 and 230-238 are missing); the chromophore CRO stands for Thr65-Tyr66-Gly67 and is numbered
66, so 65 and 67 do not appear; its Met residues are selenomethionine (MSE); it carries Q80R. The backbone
is a straight line of residues 3.8 angstroms apart (peptide bonds 1.33 angstroms), the chromophore's atoms
are the Chemical Component Dictionary's ideal CRO, and the B-factors vary from atom to atom as in an X-ray
file. ``missing`` leaves residues out to make chain breaks.
"""

from __future__ import annotations

from pathlib import Path

import biotite.structure as struc
import biotite.structure.info as info
import biotite.structure.io.pdb as pdb
import numpy as np

#: GFP_AEQVI (UniProt P42212), 238 residues.
GFP = ("MSKGEELFTGVVPILVELDGDVNGHKFSVSGEGEGDATYGKLTLKFICTTGKLPVPWPTLVTTFSYGVQCFSRYPDHMKQHDFFKSAMPEGYVQE"
       "RTIFFKDDGNYKTRAEVKFEGDTLVNRIELKGIDFKEDGNILGHKLEYNYNSHNVYIMADKQKNGIKVNFKIRHNIEDGSVQLADHYQQNTPIGD"
       "GPVLLPDNHYLSTQSALSKDPNEKRDHMVLLEFVTAAGITHGMDELYK")
_THREE = {"A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU", "G": "GLY",
          "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MSE", "F": "PHE", "P": "PRO", "S": "SER",
          "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL"}


def ema_sequence() -> str:
    """The chain's sequence as the application should read it: residues 2-229 with S65T and Q80R."""
    residues = list(GFP)
    residues[64], residues[79] = "T", "R"
    return "".join(residues[1:229])


def write_gfp_model(path: str | Path, missing: tuple[int, ...] = ()) -> Path:
    """Write the 1EMA stand-in as PDB to ``path``; residue numbers in ``missing`` are left out."""
    sequence = {number: letter for number, letter in enumerate(ema_sequence(), start=2)}
    atoms = []
    for number in range(2, 230):
        if number in (65, 67) or number in missing:
            continue
        x = 3.8 * number
        if number == 66:
            cro = info.residue("CRO")
            cro = cro[cro.element != "H"]
            cro.coord = cro.coord - cro.coord.mean(axis=0) + np.array([x, 0.0, 0.0])
            cro.res_id[:] = 66
            cro.chain_id[:] = "A"
            cro.hetero[:] = True
            atoms.append(cro)
            continue
        name = _THREE[sequence[number]]
        residue = struc.array([
            struc.Atom([x, 0.0, 0.0], atom_name="N", element="N"),
            struc.Atom([x + 1.46, 0.0, 0.0], atom_name="CA", element="C"),
            struc.Atom([x + 2.47, 0.0, 0.0], atom_name="C", element="C"),
            struc.Atom([x + 2.47, 1.23, 0.0], atom_name="O", element="O"),
        ])
        residue.res_id[:] = number
        residue.res_name[:] = name
        residue.chain_id[:] = "A"
        residue.hetero[:] = name == "MSE"
        atoms.append(residue)
    model = struc.concatenate(atoms)
    model.set_annotation("b_factor", (10.0 + np.arange(model.array_length()) % 7 * 3.5).astype(float))
    out = pdb.PDBFile()
    out.set_structure(model)
    path = Path(path)
    lines = ["HEADER    FLUORESCENT PROTEIN                     01-AUG-96   1EMA",
             "EXPDTA    X-RAY DIFFRACTION"] + str(out).splitlines()
    path.write_text("\n".join(lines) + "\n")
    return path
