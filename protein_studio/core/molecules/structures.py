"""Protein structures: load PDB, mmCIF and BinaryCIF files, list their protein chains, save them again.

Reading and writing is done by :mod:`biotite.structure.io`; this module adds what the application needs
on top: one clear :class:`~protein_studio.core.errors.InputError` for every file the user can get wrong,
the protein chains of one model with their one-letter sequences (modified residues read as their parent
amino acid through the PDB Chemical Component Dictionary, unknown residues as ``X``), the residue
numbering with its gaps and insertion codes, and a per-residue B-factor or confidence value.

Examples
--------
>>> structure = load_structure("tests/data/1ubq.pdb")            # doctest: +SKIP
>>> chain = structure.chain("A")                                   # doctest: +SKIP
>>> len(chain), chain.first_residue, chain.sequence[:10]           # doctest: +SKIP
(76, 1, 'MQIFVKTLTG')
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import biotite.structure as struc
import biotite.structure.info as struc_info
import biotite.structure.io.pdb as pdb
import biotite.structure.io.pdbx as pdbx
import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.files import gunzip_limited, looks_binary, read_input_bytes
from protein_studio.core.formats import STRUCTURE_SUFFIXES as _STRUCTURE_SUFFIXES

__all__ = [
    "STRUCTURE_SUFFIXES",
    "ResidueId",
    "NonstandardResidue",
    "ResidueGroup",
    "Gap",
    "CONFIDENCE_KINDS",
    "ChainInfo",
    "Structure",
    "structure_format",
    "is_structure_path",
    "load_structure",
    "structure_from_text",
    "save_structure",
    "to_pdb_text",
    "viewer_text",
]

#: File name endings understood by :func:`load_structure` (each may also end in ``.gz``) and their format.
STRUCTURE_SUFFIXES = _STRUCTURE_SUFFIXES

_FORMAT_NAMES = {"pdb": "PDB", "cif": "mmCIF", "bcif": "BinaryCIF"}
_FORMAT_ALIASES = {"pdb": "pdb", "ent": "pdb", "cif": "cif", "mmcif": "cif", "bcif": "bcif",
                   "binarycif": "bcif"}

# The 20 amino acids whose residues are not reported as non-standard.
_CANONICAL = frozenset(
    "ALA ARG ASN ASP CYS GLN GLU GLY HIS ILE LEU LYS MET PHE PRO SER THR TRP TYR VAL".split()
)
#: one-letter codes of the 20 amino acids, as the Chemical Component Dictionary gives them
_STANDARD_LETTERS = {"ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
                     "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
                     "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V"}

# Residue names that simulation force fields (Amber, CHARMM, GROMACS) give to protonation states and
# disulfide cysteines in ATOM records; several mean something else in the Chemical Component
# Dictionary (HSE is homoserine there, GLH a modified glutamine), so they are only read this way in
# ATOM records, never in HETATM ones.
_FORCE_FIELD_NAMES = {
    "HID": "H", "HIE": "H", "HIP": "H", "HSD": "H", "HSE": "H", "HSP": "H",
    "CYX": "C", "CYM": "C", "ASH": "D", "GLH": "E", "LYN": "K", "ARN": "R", "TYM": "Y",
}


@dataclass(frozen=True, order=True)
class ResidueId:
    """One residue of a structure: chain, residue number and insertion code.

    Parameters
    ----------
    chain : str
        Chain identifier (author chain ID; may be empty in files without chain IDs).
    number : int
        Residue number as written in the file.
    insertion : str, optional
        Insertion code, ``""`` when there is none.
    """

    chain: str
    number: int
    insertion: str = ""

    @property
    def label(self) -> str:
        """Number and insertion code without the chain, e.g. ``"42"`` or ``"42A"``."""
        return f"{self.number}{self.insertion}"

    def __str__(self) -> str:
        return f"{self.chain}:{self.label}" if self.chain else self.label

    @classmethod
    def parse(cls, text: str, default_chain: str = "A") -> "ResidueId":
        """Read ``"A:42"``, ``"A:42B"``, ``"42"`` or ``"-3"`` back into a :class:`ResidueId`.

        Raises
        ------
        InputError
            If the text is not a residue identifier.
        """
        chain, _, rest = text.strip().rpartition(":")
        if not _:
            chain = default_chain
        digits = rest.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        insertion = rest[len(digits):]
        try:
            number = int(digits)
        except ValueError:
            raise InputError(f"'{text}' is not a residue like A:42 or A:42B") from None
        if len(insertion) > 1:
            raise InputError(f"'{text}' is not a residue like A:42 or A:42B")
        return cls(chain, number, insertion)


@dataclass(frozen=True)
class NonstandardResidue:
    """A residue that is not one of the 20 standard amino acids, and how the sequence reads it.

    Parameters
    ----------
    residue : ResidueId
        Where it is.
    name : str
        Its residue name in the file (e.g. ``"MSE"``).
    code : str
        The one-letter code used in the chain sequence: its parent amino acid (``"M"`` for MSE)
        or ``"X"`` when it is unknown.
    """

    residue: ResidueId
    name: str
    code: str

    def __str__(self) -> str:
        return f"{self.name} at {self.residue} read as {self.code}"


@dataclass(frozen=True)
class ResidueGroup:
    """One structure residue that stands for several amino acids of the chain: a chromophore such as
    GFP's CRO (Thr65-Tyr66-Gly67 cyclised into one residue).

    The chain's sequence holds its parent amino acids (``"TYG"``) so that the sequence is the protein's
    own and each residue can be named (``Y66W``); the positions are marked so that scans leave them out.

    Parameters
    ----------
    residue : ResidueId
        The one residue of the file.
    name : str
        Its residue name (``"CRO"``).
    letters : str
        Its parent amino acids from the Chemical Component Dictionary (``"TYG"``).
    start : int
        0-based index of its first letter in the chain's sequence.
    """

    residue: ResidueId
    name: str
    letters: str
    start: int

    @property
    def indices(self) -> range:
        """0-based sequence indices of its letters."""
        return range(self.start, self.start + len(self.letters))

    def __str__(self) -> str:
        return f"{self.name} at {self.residue} ({'-'.join(self.letters)}, {len(self.letters)} residues in one)"


#: What the B-factor column of a structure holds: predicted confidence (pLDDT, 0-100) or experimental
#: atomic displacement (B-factor, in square angstroms).
CONFIDENCE_KINDS = ("plddt", "bfactor")


@dataclass(frozen=True)
class Gap:
    """A jump in the residue numbering between two consecutive residues of a chain.

    Parameters
    ----------
    before, after : ResidueId
        The residues on either side of the gap.
    """

    before: ResidueId
    after: ResidueId

    @property
    def missing(self) -> int:
        """How many residue numbers are skipped."""
        return self.after.number - self.before.number - 1

    def __str__(self) -> str:
        return f"{self.before.label}-{self.after.label} ({self.missing} missing)"


@dataclass(frozen=True, eq=False)
class ChainInfo:
    """One protein chain of a structure.

    Parameters
    ----------
    chain_id : str
        Author chain identifier.
    sequence : str
        One-letter sequence of the residues that have coordinates, modified residues read as their
        parent amino acid, unknown ones as ``X``.
    residues : tuple of ResidueId
        ``residues[i]`` is the residue of ``sequence[i]``.
    confidence : numpy.ndarray
        Per residue B-factor of the CA atom (mean over the residue's atoms where it has no CA),
        multiplied by 100 when the file stores a 0-1 confidence; all NaN when the file has none (all 0).
    nonstandard : list of NonstandardResidue
        Residues other than the 20 standard amino acids.
    gaps : list of Gap
        Jumps in the residue numbering.
    insertion_codes : list of ResidueId
        Residues with an insertion code.
    groups : list of ResidueGroup
        Residues that stand for several amino acids (chromophores); their letters are in ``sequence``
        and ``residues`` repeats their ResidueId once per letter.
    labels : tuple of str or None
        The author number of each sequence letter (``"42"``, ``"42A"``); the letters of a group are
        numbered into the numbers the file leaves free around it (CRO 66 between 64 and 68 gives 65, 66,
        67), ``None`` where there is no room. Default: each residue's own label.
    breaks : tuple of int
        0-based indices ``i`` with a chain break between letters ``i`` and ``i + 1``: residue numbers that
        skip (missing residues) or a peptide bond longer than 2 angstroms.
    """

    chain_id: str
    sequence: str
    residues: tuple[ResidueId, ...]
    confidence: np.ndarray
    nonstandard: list[NonstandardResidue] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    insertion_codes: list[ResidueId] = field(default_factory=list)
    groups: list[ResidueGroup] = field(default_factory=list)
    labels: tuple = ()
    breaks: tuple = ()

    def __post_init__(self):
        if not self.labels:
            object.__setattr__(self, "labels", tuple(r.label for r in self.residues))

    def __len__(self) -> int:
        return len(self.sequence)

    @property
    def grouped_indices(self) -> dict[int, ResidueGroup]:
        """0-based index -> the group (chromophore) it belongs to."""
        return {i: group for group in self.groups for i in group.indices}

    @property
    def first_residue(self) -> int:
        """Residue number of the first residue."""
        return self.residues[0].number

    @property
    def last_residue(self) -> int:
        """Residue number of the last residue."""
        return self.residues[-1].number

    @property
    def problems(self) -> list[str]:
        """Human-readable notes on gaps, insertion codes and non-standard residues (empty when none)."""
        notes = [f"gap in numbering after {gap.before} ({gap.missing} missing: "
                 f"{gap.before.number + 1}-{gap.after.number - 1})" for gap in self.gaps]
        notes += [f"insertion code at {residue}" for residue in self.insertion_codes]
        notes += [f"non-standard residue {item}" for item in self.nonstandard
                  if item.residue not in {g.residue for g in self.groups}]
        notes += [f"chromophore {group}: left out of scans" for group in self.groups]
        return notes


@dataclass(eq=False)
class Structure:
    """A loaded structure: the atoms of one model and its protein chains.

    Parameters
    ----------
    name : str
        Display name (the file name without its extension).
    path : pathlib.Path or None
        The file it came from, ``None`` when built from text.
    atoms : biotite.structure.AtomArray
        All atoms of the model used (protein, ligands, water), with a ``b_factor`` annotation
        when the file has one.
    chains : list of ChainInfo
        Protein chains in file order.
    model : int
        The model used (1-based).
    n_models : int
        How many models the file holds.
    confidence_kind : {"plddt", "bfactor"} or None
        What the chains' ``confidence`` values are: a predicted model's pLDDT (0-100), an experimental
        structure's B-factors (square angstroms), or ``None`` when the file carries no such values.
    confidence_evidence : str
        Why: ``"file header (ALPHAFOLD)"``, ``"ModelCIF quality metrics"``, ``"ColabFold file name ..."``,
        ``"EXPDTA X-RAY DIFFRACTION"``, ``"chosen by the user"`` ... or, when nothing says, how it was guessed.
    confidence_guessed : bool
        Nothing in or beside the file says what its B-factor column holds: it is read as B-factors (never
        as pLDDT without evidence), and the user may say otherwise (:meth:`with_confidence`).
    looks_predicted : bool
        With ``confidence_guessed``: one value per residue on a 0-100 (or 0-1) scale, as predictors write
        pLDDT; the user is told so.
    pae : PredictedAlignedError or None
        A prediction's predicted aligned error, from the scores file opened with it or found beside it.
    """

    name: str
    path: Path | None
    atoms: struc.AtomArray
    chains: list[ChainInfo]
    model: int = 1
    n_models: int = 1
    confidence_kind: str | None = None
    confidence_evidence: str = ""
    confidence_guessed: bool = False
    looks_predicted: bool = False
    pae: Any = None

    @property
    def n_residues(self) -> int:
        """Residues of the protein chains, all chains together (the side of a PAE matrix)."""
        return sum(len(chain) for chain in self.chains)

    def with_confidence(self, kind: str) -> "Structure":
        """The same structure with its B-factor column read as ``kind`` (``"plddt"`` or ``"bfactor"``), as the
        user chose (0-1 values become 0-100 for pLDDT)."""
        if kind not in CONFIDENCE_KINDS:
            raise ValueError(f"kind must be one of {CONFIDENCE_KINDS}, not {kind!r}")
        raw = {chain.chain_id: chain.confidence for chain in _protein_chains(self.atoms)}  # as the file holds them
        chains, found = _classify_confidence([replace(c, confidence=raw[c.chain_id]) for c in self.chains],
                                             self.atoms, None, kind)
        return replace(self, chains=chains, confidence_kind=found, confidence_evidence="chosen by the user",
                       confidence_guessed=False, looks_predicted=False)

    def with_pae(self, pae) -> "Structure":
        """The same structure with a prediction's PAE (checked: one row per residue of its chains)."""
        if pae is not None and pae.matrix.shape[0] != self.n_residues:
            raise InputError(f"the PAE covers {pae.matrix.shape[0]} residues, the structure has {self.n_residues}",
                             source=pae.source)
        return replace(self, pae=pae)

    @property
    def chain_ids(self) -> list[str]:
        """Identifiers of the protein chains."""
        return [chain.chain_id for chain in self.chains]

    def chain(self, chain_id: str) -> ChainInfo:
        """The protein chain ``chain_id``.

        Raises
        ------
        InputError
            If there is no such protein chain (the message lists the ones there are).
        """
        for chain in self.chains:
            if chain.chain_id == chain_id:
                return chain
        raise InputError(f"no protein chain '{chain_id}' (protein chains: {', '.join(self.chain_ids)})",
                         source=self.name)


def structure_format(path: str | Path) -> str | None:
    """The format of a structure file judged by its name: ``"pdb"``, ``"cif"``, ``"bcif"`` or ``None``.

    A trailing ``.gz`` is looked through (``1abc.cif.gz`` is ``"cif"``).
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return STRUCTURE_SUFFIXES.get(suffixes[-1]) if suffixes else None


def is_structure_path(path: str | Path) -> bool:
    """True when :func:`structure_format` recognises the file name."""
    return structure_format(path) is not None


def load_structure(path: str | Path, model: int = 1) -> Structure:
    """Load a PDB, mmCIF or BinaryCIF file (optionally gzipped).

    Parameters
    ----------
    path : str or pathlib.Path
        The file; its extension chooses the format (see :data:`STRUCTURE_SUFFIXES`).
    model : int, optional
        Which model to use (1-based); NMR and other multi-model files use the first by default.

    Returns
    -------
    Structure
        Its ``confidence_kind`` says what the B-factor column holds: ``"plddt"`` for a predicted model
        (an AlphaFold, ColabFold or ESMFold header, ModelCIF quality metrics, values all within 0-1, or one
        value per residue shared by all its atoms), ``"bfactor"`` for an experimental structure (an
        EXPDTA record or ``_exptl.method``, or values that differ between the atoms of a residue),
        ``None`` when the column is absent or all zero.

    Raises
    ------
    InputError
        With one line naming the file and what is wrong: missing, empty, binary where text is expected,
        truncated or garbled records, unknown extension, no such model, or no protein chain.
    """
    path = Path(path)
    source = str(path)
    fmt = structure_format(path)
    if fmt is None:
        known = ", ".join(STRUCTURE_SUFFIXES)
        raise InputError(f"unknown structure file type '{''.join(path.suffixes) or path.name}' "
                         f"(expected {known}, optionally gzipped)", source=source)
    data = read_input_bytes(path, "a structure file")
    if path.suffix.lower() == ".gz":
        data = gunzip_limited(data, source)
    name = Path(path.stem).stem if path.suffix.lower() == ".gz" else path.stem
    return _parse(data, fmt, source=source, name=name or path.name, path=path, model=model)


def structure_from_text(text: str | bytes, fmt: str = "pdb", name: str = "structure",
                        model: int = 1, confidence: str | None = None) -> Structure:
    """Build a :class:`Structure` from file contents held in memory (pasted text, a prediction).

    Parameters
    ----------
    text : str or bytes
        PDB or mmCIF text, or BinaryCIF bytes.
    fmt : {"pdb", "cif", "mmcif", "bcif"}
        The format of `text`.
    name : str
        Name of the structure, also used in error messages.
    model : int, optional
        Which model to use (1-based).
    confidence : {"plddt", "bfactor"}, optional
        What the B-factor column holds when the caller knows (a prediction it made); recognised from
        the file otherwise (see :func:`load_structure`).

    Raises
    ------
    InputError
        As :func:`load_structure`.
    """
    key = _FORMAT_ALIASES.get(fmt.lower().lstrip("."))
    if key is None:
        raise InputError(f"unknown structure format '{fmt}' (expected pdb, cif or bcif)", source=name)
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return _parse(data, key, source=name, name=name, path=None, model=model, confidence=confidence)


def save_structure(structure: Union[Structure, struc.AtomArray], path: str | Path) -> Path:
    """Write a structure (or a biotite AtomArray) as PDB, mmCIF or BinaryCIF, chosen by extension.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        For an unknown extension, or when the atoms do not fit the PDB format (more than
        99,999 atoms, chain IDs longer than one character): save as mmCIF instead.
    UserError
        The file cannot be written (the message names it); an earlier file of that name stays whole.
    """
    path = Path(path)
    atoms = structure.atoms if isinstance(structure, Structure) else structure
    fmt = structure_format(path)
    if fmt is None or path.suffix.lower() == ".gz":
        raise InputError(f"cannot save as '{path.suffix or path.name}': use .pdb, .cif or .bcif",
                         source=str(path))
    from protein_studio.core.files import write_bytes_atomically

    predicted = isinstance(structure, Structure) and structure.confidence_kind == "plddt"
    if fmt == "pdb":
        text = _pdb_text(atoms, source=str(path))
        if predicted:  # read back as pLDDT: the header says what the B-factor column holds
            text = f"TITLE     {PREDICTED_TITLE}\n" + text
        data = text.encode("utf-8")
    else:
        cif = pdbx.CIFFile() if fmt == "cif" else pdbx.BinaryCIFFile()
        pdbx.set_structure(cif, atoms)
        if predicted:  # the title goes before the atoms, where readers look for a header
            block = cif.block
            categories = list(block.items())
            for key, _ in categories:
                del block[key]
            block["struct"] = (pdbx.CIFCategory if fmt == "cif" else pdbx.BinaryCIFCategory)({"title": PREDICTED_TITLE})
            for key, category in categories:
                block[key] = category
        if fmt == "bcif":
            cif = pdbx.compress(cif)
            buffer = io.BytesIO()
            cif.write(buffer)
            data = buffer.getvalue()
        else:
            text = io.StringIO()
            cif.write(text)
            data = text.getvalue().encode("utf-8")
    write_bytes_atomically(path, data)  # a failure leaves any earlier file whole and no temporary behind
    return path


def viewer_text(structure: Structure) -> tuple[str, str]:
    """What the 3D viewer reads for ``structure``: PDB text, or mmCIF text (``"cif"``) when the atoms do not
    fit the PDB format (chain IDs of two characters, more than 99,999 atoms, coordinates wider than PDB's
    columns); the window and the command line then accept the same files.

    Returns
    -------
    (str, str)
        The text and its format, ``"pdb"`` or ``"cif"``.
    """
    try:
        return to_pdb_text(structure), "pdb"
    except InputError:
        cif = pdbx.CIFFile()
        try:
            pdbx.set_structure(cif, structure.atoms)
        except Exception as exc:  # noqa: BLE001 - biotite refuses atoms it cannot write in many ways
            raise InputError(f"cannot be written for the 3D view ({type(exc).__name__}: {exc})",
                             source=structure.name) from None
        text = io.StringIO()
        cif.write(text)
        return text.getvalue(), "cif"


def to_pdb_text(structure: Union[Structure, struc.AtomArray]) -> str:
    """The atoms of a structure as PDB text (what the 3D viewer reads).

    Raises
    ------
    InputError
        When the atoms do not fit the PDB format.
    """
    atoms = structure.atoms if isinstance(structure, Structure) else structure
    name = structure.name if isinstance(structure, Structure) else "structure"
    return _pdb_text(atoms, source=name)


# --------------------------------------------------------------------------------------------------
# reading


def _pdb_text(atoms: struc.AtomArray, source: str) -> str:
    pdb_file = pdb.PDBFile()
    try:
        pdb_file.set_structure(atoms)
    except (ValueError, struc.BadStructureError) as exc:
        raise InputError(f"cannot be written as PDB ({exc}); save it as mmCIF (.cif) instead",
                         source=source) from None
    buffer = io.StringIO()
    pdb_file.write(buffer)
    return buffer.getvalue()


def _parse(data: bytes, fmt: str, *, source: str, name: str, path: Path | None, model: int,
           confidence: str | None = None) -> Structure:
    if confidence is not None and confidence not in CONFIDENCE_KINDS:
        raise ValueError(f"confidence must be one of {CONFIDENCE_KINDS}, not {confidence!r}")
    kind = _FORMAT_NAMES[fmt]
    if not data.strip():
        raise InputError("file is empty", source=source)
    if not isinstance(model, (int, np.integer)) or model < 1:
        raise InputError(f"model must be a number from 1, not {model!r}", source=source)
    if fmt == "bcif":
        atoms, n_models = _read_bcif(data, source, model)
    else:
        if looks_binary(data):
            raise InputError(f"binary data, not {_article(kind)} text file{_binary_hint(data)}", source=source)
        text = data.decode("utf-8", errors="replace")
        if fmt == "pdb":
            atoms, n_models = _read_pdb(text, source, model)
        else:
            atoms, n_models = _read_cif(text, source, model)
    if atoms.array_length() == 0:
        raise InputError(f"model {model} has no atoms", source=source)
    broken = np.flatnonzero(~np.isfinite(atoms.coord).all(axis=1))
    if broken.size:
        k = int(broken[0])
        raise InputError(f"atom {atoms.atom_name[k]} of {atoms.res_name[k]} {atoms.chain_id[k]}:{atoms.res_id[k]}"
                         f"{atoms.ins_code[k]} has coordinates that are not numbers (NaN or infinite)"
                         + (f", and {broken.size - 1} more atoms" if broken.size > 1 else ""), source=source)
    chains = _protein_chains(atoms)
    if not chains:
        found = sorted(set(atoms.res_name.tolist()))
        shown = ", ".join(found[:8]) + (", ..." if len(found) > 8 else "")
        raise InputError(f"no protein chain found (residues present: {shown})", source=source)
    declared = _declared_origin(data, fmt)
    if declared is None and path is not None:
        from protein_studio.core.molecules.predictions import evidence_from_name

        named = evidence_from_name(path)
        declared = ("plddt", named) if named else None
    looks_predicted = _looks_predicted(chains, atoms)
    chains, confidence_kind = _classify_confidence(chains, atoms, declared, confidence)
    if confidence is not None:
        evidence = "the prediction made here" if confidence == "plddt" else "given by the caller"
    elif declared is not None:
        evidence = declared[1]
    else:
        evidence = GUESSED_EVIDENCE if confidence_kind else ""
    guessed = confidence is None and declared is None and confidence_kind is not None
    return Structure(name=name, path=path, atoms=atoms, chains=chains, model=int(model), n_models=n_models,
                     confidence_kind=confidence_kind, confidence_evidence=evidence, confidence_guessed=guessed,
                     looks_predicted=guessed and looks_predicted)


_PREDICTED_MARKERS = (b"ALPHAFOLD", b"COLABFOLD", b"ESMFOLD", b"OPENFOLD", b"ROSETTAFOLD", b"PREDICTED MODEL",
                      b"_MA_QA_METRIC")
_EXPERIMENTAL_METHODS = (b"X-RAY", b"NMR", b"ELECTRON", b"NEUTRON", b"FIBER", b"SOLUTION SCATTERING",
                         b"POWDER", b"INFRARED")


def _declared_origin(data: bytes, fmt: str) -> tuple[str, str] | None:
    """``("plddt", why)`` when the file says it is a prediction, ``("bfactor", why)`` when it names an
    experimental method, ``None`` when it says neither (read from the header part of PDB/mmCIF text)."""
    if fmt == "bcif":
        head = data.upper()  # msgpack keeps category names and short strings as plain bytes
    elif fmt == "pdb":
        head = b"\n".join(line for line in data[:400_000].upper().splitlines()
                          if line[:6] in (b"HEADER", b"TITLE ", b"EXPDTA", b"REMARK", b"KEYWDS", b"COMPND"))
    else:
        head = data[:400_000].upper()
        head = head[:head.find(b"_ATOM_SITE.")] if b"_ATOM_SITE." in head else head
        if b"_MA_QA_METRIC" in data.upper():
            return "plddt", "ModelCIF quality metrics (_ma_qa_metric)"
    marker = next((m for m in _PREDICTED_MARKERS if m in head), None)
    if marker is not None:
        return "plddt", f"file header ({marker.decode()})"
    if fmt == "pdb":
        expdta = b" ".join(line for line in head.splitlines() if line.startswith(b"EXPDTA"))
    else:
        expdta = head if b"_EXPTL.METHOD" in head else b""
    method = next((m for m in _EXPERIMENTAL_METHODS if m in expdta), None)
    if method is not None:
        return "bfactor", f"experimental method in the header ({method.decode()})"
    return None


#: The header line of a predicted structure saved here (it says that its B-factor column holds pLDDT).
PREDICTED_TITLE = "PREDICTED MODEL (PLDDT IN THE B-FACTOR COLUMN), WRITTEN BY PROTEIN STUDIO"
#: What a structure's B-factor column is taken for when nothing in or beside the file says.
GUESSED_EVIDENCE = "guessed: nothing in or beside the file says what its B-factor column holds; read as B-factors"


def _classify_confidence(chains: list[ChainInfo], atoms: struc.AtomArray, declared: tuple[str, str] | None,
                         forced: str | None) -> tuple[list[ChainInfo], str | None]:
    """Decide what the chains' B-factor values are and put them on their scale (pLDDT 0-100): what the user
    forced, else what the file (or its name, or a scores file beside it) declares, else B-factors."""
    values = np.concatenate([chain.confidence for chain in chains])
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.all(finite == 0):
        kind = None
    elif forced is not None:
        kind = forced
    elif declared is not None:
        kind = declared[0]
    else:
        kind = "bfactor"  # never pLDDT without evidence: it would mask residues of a structure-aware model
    if kind is None:
        return [replace(chain, confidence=np.full(len(chain), np.nan)) for chain in chains], None
    scale = 100.0 if kind == "plddt" and np.all((finite >= 0.0) & (finite <= 1.0)) else 1.0
    return [replace(chain, confidence=chain.confidence * scale) for chain in chains], kind


def _looks_predicted(chains: list[ChainInfo], atoms: struc.AtomArray) -> bool:
    """One value per residue on a pLDDT scale (0-100, or 0-1): how predictors write pLDDT."""
    values = np.concatenate([chain.confidence for chain in chains])
    finite = values[np.isfinite(values)]
    return bool(finite.size) and bool(np.all((finite >= 0) & (finite <= 100))) and (
        bool(np.all(finite <= 1.0)) or _one_value_per_residue(atoms))


def _one_value_per_residue(atoms: struc.AtomArray) -> bool:
    """True when every residue's atoms share one B-factor (how predictors write per-residue pLDDT;
    refined experimental B-factors differ between the atoms of a residue)."""
    if "b_factor" not in atoms.get_annotation_categories():
        return False
    starts = struc.get_residue_starts(atoms, add_exclusive_stop=True)
    b = np.asarray(atoms.b_factor, dtype=float)
    for start, stop in zip(starts[:-1], starts[1:]):
        if stop - start > 1 and np.ptp(b[start:stop]) > 1e-3:
            return False
    return True


_SIGNATURES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
               (b"PK\x03\x04", "a ZIP archive"), (b"\x1f\x8b", "gzip data: name it .pdb.gz or .cif.gz"),
               (b"GIF8", "a GIF image"), (b"\x7fELF", "a program"))


def _binary_hint(data: bytes) -> str:
    """What binary data given as a text structure file looks like, as a hint: a known file type by its
    signature, or BinaryCIF (a MessagePack map that names atom_site)."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            return f" (it is {what})"
    msgpack_map = 0x80 <= data[0] <= 0x8F or data[0] in (0xDE, 0xDF)
    if msgpack_map and b"atom_site" in data[:1_000_000]:
        return " (it looks like BinaryCIF: name it .bcif)"
    return ""


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeimo" else f"a {kind}"


def _check_model(model: int, n_models: int, source: str) -> None:
    if model > n_models:
        plural = "model" if n_models == 1 else "models"
        raise InputError(f"model {model} requested, but the file has {n_models} {plural}", source=source)


# a PDB residue number: an integer, or hybrid-36 (four characters from A000, for 10000 and above)
_RESIDUE_NUMBER = re.compile(r"-?[0-9]{1,4}|[A-Za-z][0-9A-Za-z]{3}", re.ASCII)


def _check_pdb_records(lines: list[str], source: str) -> None:
    """Name the first ATOM/HETATM line whose coordinates cannot be read (a cut or garbled file)."""
    if (any(line.startswith("data_") for line in lines[:50])
            and any(line.startswith("_atom_site.") for line in lines)):
        raise InputError("this is mmCIF text, not PDB: name the file .cif", source=source)
    n_atoms = 0
    for number, line in enumerate(lines, start=1):
        if not line.startswith(("ATOM  ", "HETATM")):
            continue
        n_atoms += 1
        if len(line.rstrip()) < 54:
            raise InputError(f"{line[:6].strip()} record cut short, coordinates incomplete (truncated file?)",
                             source=source, line=number)
        try:
            float(line[30:38]), float(line[38:46]), float(line[46:54])
        except ValueError:
            raise InputError(f"{line[:6].strip()} record has unreadable coordinates "
                             f"'{line[30:54].strip()}'", source=source, line=number) from None
        residue = line[22:26].strip()
        if not _RESIDUE_NUMBER.fullmatch(residue):
            raise InputError(f"{line[:6].strip()} record has residue number '{residue}', which is not a number "
                             f"(nor a 4-character hybrid-36 number from A000)", source=source, line=number)
    if n_atoms == 0:
        raise InputError("no ATOM or HETATM records: not a PDB file, or one without coordinates",
                         source=source)
    _refuse_atoms(n_atoms, source)


def _read_pdb(text: str, source: str, model: int) -> tuple[struc.AtomArray, int]:
    lines = text.splitlines()
    _check_pdb_records(lines, source)
    last = lines[-1] if lines else ""
    if (last.startswith(("ATOM  ", "HETATM")) and not text.endswith(("\n", "\r"))
            and len(last.rstrip()) < 78):
        # complete coordinates, but the element column and the line end are missing: the copy stopped
        raise InputError(f"file ends in the middle of an {last[:6].strip()} record (truncated file?)",
                         source=source, line=len(lines))
    try:
        pdb_file = pdb.PDBFile.read(io.StringIO(text))
        n_models = pdb.get_model_count(pdb_file)
        if n_models == 0:
            raise InputError("no models with atoms (MODEL/ENDMDL records are broken)", source=source)
        _check_model(model, n_models, source)
        with warnings.catch_warnings():
            # files without the element column are common and the guess from the atom name is right
            warnings.filterwarnings("ignore", message=".*elements were guessed", category=UserWarning)
            atoms = pdb.get_structure(pdb_file, model=model, extra_fields=["b_factor"])
    except InputError:
        raise
    except (ValueError, IndexError, KeyError, struc.BadStructureError) as exc:
        raise InputError(f"cannot read PDB records ({exc})", source=source) from None
    return atoms, n_models


def _atoms_from_pdbx(pdbx_file, source: str, model: int, kind: str) -> tuple[struc.AtomArray, int]:
    """Atoms of one model of the first data block that has coordinates."""
    try:
        blocks = [name for name in pdbx_file.keys() if "atom_site" in pdbx_file[name]]
    except Exception as exc:  # noqa: BLE001 - any container that is not a CIF file
        raise InputError(f"not a valid {kind} file ({type(exc).__name__}: {exc})", source=source) from None
    if not blocks:
        raise InputError(f"no atom_site category: not {_article(kind)} file with coordinates", source=source)
    try:
        atom_site = pdbx_file[blocks[0]]["atom_site"]
    except Exception as exc:  # noqa: BLE001 - broken columns fail in many ways (DeserializationError, ...)
        raise InputError(f"cannot read the {kind} atom records, truncated or damaged file? "
                         f"({type(exc).__name__}: {exc})", source=source) from None
    _check_atom_site(atom_site, source, kind)
    try:
        n_models = pdbx.get_model_count(pdbx_file, data_block=blocks[0])
        _check_model(model, n_models, source)
        try:
            atoms = pdbx.get_structure(pdbx_file, model=model, data_block=blocks[0],
                                       extra_fields=["b_factor"])
        except (KeyError, ValueError):
            atoms = pdbx.get_structure(pdbx_file, model=model, data_block=blocks[0])  # no B_iso_or_equiv
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - broken columns fail in many ways (DeserializationError, ...)
        raise InputError(f"cannot read the {kind} atom records, truncated or damaged file? "
                         f"({type(exc).__name__}: {exc})", source=source) from None
    return atoms, n_models


def _check_atom_site(category, source: str, kind: str) -> None:
    """Refuse what biotite would read silently wrong: columns of different lengths (a damaged BinaryCIF gives
    a wrong sequence) and coordinates given as unknown (``?`` or ``.``, which would become 0)."""
    try:
        lengths = {name: len(category[name]) for name in category.keys()}
    except Exception as exc:  # noqa: BLE001 - a damaged container fails in many ways
        raise InputError(f"cannot read the {kind} atom records ({type(exc).__name__}: {exc})", source=source) from None
    if lengths:
        _refuse_atoms(max(lengths.values()), source)
    if len(set(lengths.values())) > 1:
        longest = max(lengths.values())
        short = min(lengths, key=lengths.get)
        raise InputError(f"atom_site column {short} has {lengths[short]} values where the others have {longest} "
                         f"(a damaged file)", source=source)
    for axis in ("Cartn_x", "Cartn_y", "Cartn_z"):
        if axis not in lengths:
            continue
        mask = category[axis].mask
        if mask is None:
            continue
        unknown = np.flatnonzero(np.asarray(mask.array) != pdbx.MaskValue.PRESENT)
        if unknown.size:
            row = int(unknown[0])
            atom = ""
            if "id" in lengths:
                atom = f" (atom {category['id'].as_array(str)[row]})"
            raise InputError(f"atom_site row {row + 1}{atom} has an unknown {axis} ('?' or '.'); it would be read as 0",
                             source=source)


def _read_cif(text: str, source: str, model: int) -> tuple[struc.AtomArray, int]:
    lines = text.splitlines()
    if not any(line.startswith("data_") for line in lines[:200]):
        pdb_like = any(line.startswith(("ATOM  ", "HETATM")) for line in lines)
        hint = "; it looks like PDB: name it .pdb" if pdb_like else ""
        raise InputError(f"no 'data_' block header: not an mmCIF file{hint}", source=source)
    try:
        cif_file = pdbx.CIFFile.read(io.StringIO(text))
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read mmCIF ({exc})", source=source) from None
    return _atoms_from_pdbx(cif_file, source, model, "mmCIF")


#: Most atoms read from one file; ``PROTEIN_STUDIO_MAX_ATOMS`` overrides it.
DEFAULT_MAX_ATOMS = 2_000_000


def max_atoms() -> int:
    import os

    try:
        return max(1, int(os.environ.get("PROTEIN_STUDIO_MAX_ATOMS", DEFAULT_MAX_ATOMS)))
    except ValueError:
        return DEFAULT_MAX_ATOMS


def _refuse_atoms(count: int, source: str) -> None:
    if count > max_atoms():
        raise InputError(f"holds {count:,} atoms, more than the limit of {max_atoms():,} (raise it with "
                         f"PROTEIN_STUDIO_MAX_ATOMS)", source=source)


def _check_bcif_sizes(data: bytes, source: str) -> None:
    """Refuse a BinaryCIF file whose declared sizes (row counts, and the size every encoding expands to) pass
    the atom limit, before anything is decoded: an 11 kB run-length-encoded file can declare gigabytes."""
    import msgpack

    try:
        tree = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # noqa: BLE001 - msgpack raises many unrelated types on garbage input
        raise InputError(f"not a valid BinaryCIF file ({type(exc).__name__}: {exc})", source=source) from None
    limit = max_atoms() * 16  # no column of a file within the atom limit comes near this
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("rowCount", "srcSize", "byteCount"):
                value = node.get(key)
                if isinstance(value, int) and value > limit:
                    raise InputError(f"declares {value:,} values in one column ({key}), more than a structure "
                                     f"within the atom limit can hold (PROTEIN_STUDIO_MAX_ATOMS)", source=source)
            if node.get("kind") == "RunLength" and not isinstance(node.get("srcSize"), int):
                # without its size the decoder sums the run lengths: a few bytes could ask for gigabytes
                raise InputError("has a run-length encoding without its size (srcSize); refused rather than "
                                 "expanded blindly", source=source)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def _read_bcif(data: bytes, source: str, model: int) -> tuple[struc.AtomArray, int]:
    _check_bcif_sizes(data, source)
    try:
        bcif_file = pdbx.BinaryCIFFile.read(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - msgpack raises many unrelated types on garbage input
        raise InputError(f"not a valid BinaryCIF file ({type(exc).__name__}: {exc})", source=source) from None
    return _atoms_from_pdbx(bcif_file, source, model, "BinaryCIF")


# --------------------------------------------------------------------------------------------------
# chains


@lru_cache(maxsize=None)
def _one_letter(res_name: str) -> str:
    """Parent amino acid(s) from the Chemical Component Dictionary: one letter for a modified residue
    (``"M"`` for MSE), several for a residue made of several (``"TYG"`` for GFP's chromophore CRO), ``X``
    when it has none."""
    code = struc_info.one_letter_code(res_name)
    if code is None or not code.isalpha() or not code.isascii():
        return "X"
    return code.upper()


@lru_cache(maxsize=1)
def _amino_acid_names() -> frozenset[str]:
    """Residue names the Chemical Component Dictionary lists as amino acids (read once)."""
    return frozenset(struc_info.amino_acid_names())


def _protein_chains(atoms: struc.AtomArray) -> list[ChainInfo]:
    """The protein chains of a model, in file order (see :func:`_residue_code` for what counts)."""
    chains = []
    for chain_id in dict.fromkeys(atoms.chain_id.tolist()):
        chain = _chain_info(atoms[atoms.chain_id == chain_id], str(chain_id))
        if chain is not None:
            chains.append(chain)
    return chains  # confidence values are put on their scale by _classify_confidence


def _residue_code(res_name: str, hetero: bool, atom_names: np.ndarray) -> str | None:
    """The one-letter code of a residue of a protein chain, ``None`` if it is not part of the chain.

    Amino acids of the Chemical Component Dictionary are part of the chain, except standard ones written
    as HETATM (free amino acids bound as ligands); modified ones (HETATM MSE, SEP, ...) read as their
    parent. An ATOM record with a CA atom but a name the dictionary does not know as an amino acid is a
    residue of the chain too: a simulation force field's protonation state (HIE, CYX, ...) read as its
    amino acid, anything else as ``X``. Water, ions and other ligands are not.
    """
    if not hetero and res_name in _FORCE_FIELD_NAMES:
        return _FORCE_FIELD_NAMES[res_name]
    if res_name in _STANDARD_LETTERS:  # the 20 amino acids: no need to read the dictionary (0.15 s)
        return None if hetero else _STANDARD_LETTERS[res_name]
    if res_name in _amino_acid_names():
        if hetero and res_name in _CANONICAL:
            return None
        return _one_letter(res_name)
    if not hetero and np.any(atom_names == "CA"):
        return "X"
    return None


def _chain_info(atoms: struc.AtomArray, chain_id: str) -> ChainInfo | None:
    """Sequence, numbering and confidence of the protein residues of one chain; ``None`` if it has none.

    A chain counts as protein when at least one of its residues is an ATOM record; chains of HETATM
    records only (ligands, water) are left out. A residue whose parent is several amino acids (a
    chromophore) adds each of them to the sequence (see :class:`ResidueGroup`).
    """
    starts = struc.get_residue_starts(atoms, add_exclusive_stop=True)
    has_b = "b_factor" in atoms.get_annotation_categories()
    residues: list[ResidueId] = []
    letters: list[str] = []
    values: list[float] = []
    nonstandard: list[NonstandardResidue] = []
    groups: list[ResidueGroup] = []
    spans: list[tuple[int, int]] = []  # atom range of each residue kept, for the peptide-bond check
    seen: set[tuple[int, str]] = set()
    any_atom_record = False
    for start, stop in zip(starts[:-1], starts[1:]):
        res_name = str(atoms.res_name[start])
        hetero = bool(atoms.hetero[start])
        names = atoms.atom_name[start:stop]
        code = _residue_code(res_name, hetero, names)
        if code is None:
            continue
        number = int(atoms.res_id[start])
        insertion = str(atoms.ins_code[start]).strip()
        if (number, insertion) in seen:
            continue  # a second residue under the same number (microheterogeneity): keep the first
        seen.add((number, insertion))
        any_atom_record = any_atom_record or not hetero
        residue = ResidueId(chain_id, number, insertion)
        if len(code) > 1:
            groups.append(ResidueGroup(residue, res_name, code, len(letters)))
        residues.extend([residue] * len(code))
        letters.extend(code)
        spans.extend([(start, stop)] * len(code))
        if res_name not in _CANONICAL:
            nonstandard.append(NonstandardResidue(residue, res_name, code))
        if has_b:
            b_values = atoms.b_factor[start:stop]
            ca = b_values[names == "CA"]
            values.extend([float(ca[0]) if len(ca) else float(np.mean(b_values))] * len(code))
    if not residues or not any_atom_record:
        return None
    confidence = np.array(values, float) if has_b else np.full(len(residues), np.nan)  # scaled by the caller
    labels = _group_labels(residues, groups)
    gaps, breaks = _gaps_and_breaks(atoms, residues, labels, spans)
    insertions = list(dict.fromkeys(residue for residue in residues if residue.insertion))
    return ChainInfo(chain_id=chain_id, sequence="".join(letters), residues=tuple(residues),
                     confidence=confidence, nonstandard=nonstandard, gaps=gaps, insertion_codes=insertions,
                     groups=groups, labels=tuple(labels), breaks=tuple(breaks))


def _group_labels(residues: list[ResidueId], groups: list[ResidueGroup]) -> list[str | None]:
    """Author labels per letter: a group's letters take the residue numbers the file leaves free around it
    (1EMA numbers CRO 66 between 64 and 68: its T, Y, G become 65, 66, 67); without room (or with an
    insertion code) only the letter at the group's own number is labelled."""
    labels: list[str | None] = [r.label for r in residues]
    for group in groups:
        k, n = len(group.letters), group.residue.number
        for i in group.indices:
            labels[i] = None
        before = residues[group.start - 1].number if group.start > 0 else None
        after_index = group.start + k
        after = residues[after_index].number if after_index < len(residues) else None
        low = before + 1 if before is not None else n - (k - 1)
        high = after - 1 if after is not None else n + (k - 1)
        first = min(max(n - (k - 1) // 2, low), high - (k - 1))
        if group.residue.insertion or first < low or not first <= n <= first + k - 1:
            labels[group.start + min(max(n - first, 0), k - 1)] = group.residue.label
            continue
        for offset, i in enumerate(group.indices):
            labels[i] = str(first + offset)
    return labels


def _gaps_and_breaks(atoms: struc.AtomArray, residues: list[ResidueId], labels: list[str | None],
                     spans: list[tuple[int, int]]) -> tuple[list[Gap], list[int]]:
    """Numbering jumps (missing residues) and chain breaks between consecutive letters.

    A break lies between letters ``i`` and ``i + 1`` of different residues when their numbers skip (after
    the group labels) or when residue ``i``'s C and residue ``i + 1``'s N (both present) are more than
    2 angstroms apart.
    """
    gaps: list[Gap] = []
    breaks: list[int] = []
    for i in range(len(residues) - 1):
        a, b = residues[i], residues[i + 1]
        if a == b:
            continue  # inside a chromophore
        number_a = _label_number(labels[i], a.number)
        number_b = _label_number(labels[i + 1], b.number)
        broken = False
        if number_b > number_a + 1:
            gaps.append(Gap(a, b))
            broken = True
        else:
            (sa, ea), (sb, eb) = spans[i], spans[i + 1]
            c = atoms.coord[sa:ea][atoms.atom_name[sa:ea] == "C"]
            n = atoms.coord[sb:eb][atoms.atom_name[sb:eb] == "N"]
            if len(c) and len(n):
                distance = float(np.linalg.norm(c[0] - n[0]))
                broken = not np.isfinite(distance) or distance > 2.0
        if broken:
            breaks.append(i)
    return gaps, breaks


def _label_number(label: str | None, default: int) -> int:
    if label is None:
        return default
    digits = label.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    try:
        return int(digits)
    except ValueError:
        return default
