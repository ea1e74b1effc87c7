"""How a masked language model reads residues and where it writes their probabilities.

The scoring engine needs four things of a model's vocabulary: the input token of each residue, the token
that masks residue ``i``, the special tokens around a sequence, and the output column that holds the
log-probability of each amino acid. For sequence models (fair-esm's ESM-1b/1v/2, ESM C) the input token
of an amino acid is also its output column and every masked residue gets the same ``<mask>``.
Structure-aware models (SaProt) read one token per residue *and* its 3Di structure letter; a masked
residue keeps its structure letter (``#d``: amino acid unknown, structure ``d``), and the probability of
an amino acid is the sum over the tokens that pair it with any structure letter (SaProt's own rule).
No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS, SCORABLE_SPECIAL

__all__ = ["ResidueVocabulary", "StructureAwareVocabulary", "THREE_DI_LETTERS"]

#: foldseek's 3Di alphabet as SaProt writes it (lower case), then ``#`` for "no structure information".
THREE_DI_LETTERS = "pynwrqhgdlvtmfsaeikc#"

#: residues a sequence model may read when its vocabulary has them (X, B, Z, U, O in fair-esm's and ESM C's)
_SCORABLE = frozenset(AMINO_ACIDS) | SCORABLE_SPECIAL


class ResidueVocabulary:
    """A sequence model's vocabulary.

    Parameters
    ----------
    token_ids : mapping of str to int
        Input token of each residue letter (the 20 amino acids at least).
    mask, cls, eos : int
        The mask token; the tokens put before and after a sequence (None: none).
    """

    def __init__(self, token_ids: Mapping[str, int], mask: int, cls: int | None, eos: int | None):
        self.token_ids = dict(token_ids)
        self.mask = int(mask)
        self.cls = cls
        self.eos = eos
        missing = [a for a in AMINO_ACIDS if a not in self.token_ids]
        if missing:
            raise UserError(f"the model's vocabulary has no token for {', '.join(missing)}")
        #: output column of each amino acid, in :data:`AMINO_ACIDS` order
        self.columns = np.array([self.token_ids[a] for a in AMINO_ACIDS], dtype=np.int64)

    @classmethod
    def from_fair_esm(cls, alphabet) -> "ResidueVocabulary":
        return cls(alphabet.tok_to_idx, alphabet.mask_idx, alphabet.cls_idx if alphabet.prepend_bos else None,
                   alphabet.eos_idx if alphabet.append_eos else None)

    @property
    def prepend_bos(self) -> bool:
        return self.cls is not None

    @property
    def append_eos(self) -> bool:
        return self.eos is not None

    def column(self, amino_acid: str) -> int:
        """Output column of ``amino_acid``."""
        return int(self.columns[AMINO_ACIDS.index(amino_acid)])

    def encode(self, sequence: str, model: str, source: str = "sequence") -> np.ndarray:
        """Input tokens of ``sequence`` (no special tokens); InputError names a residue no model scores."""
        ids = np.empty(len(sequence), dtype=np.int64)
        for i, residue in enumerate(sequence):
            if residue not in _SCORABLE or residue not in self.token_ids:
                raise InputError(f"'{residue}' at position {i + 1} cannot be scored by {model}", source=source,
                                 position=i + 1)
            ids[i] = self.token_ids[residue]
        if len(ids) == 0:
            raise InputError("the sequence is empty", source=source)
        return ids

    def masked(self, encoded: np.ndarray, index: int) -> int:
        """The input token of residue ``index`` while it is masked."""
        return self.mask

    def read_columns(self, encoded: np.ndarray) -> np.ndarray:
        """The output column of each encoded residue's own amino acid."""
        return encoded


class StructureAwareVocabulary(ResidueVocabulary):
    """SaProt's vocabulary: one token per (amino acid, 3Di letter) pair.

    The model's output is reduced to one log-probability per amino acid (summed over the structure
    letters, see :func:`protein_studio.models.hf_scoring.group_tokens`), so the output columns are
    0-19 in :data:`AMINO_ACIDS` order. ``structure`` is the document's 3Di string; without one it cannot
    encode (:meth:`bind` makes the vocabulary of one document). There is no single mask token: a masked
    residue keeps its structure letter (:meth:`masked`).
    """

    def __init__(self, vocabulary: Mapping[str, int], cls: int | None, eos: int | None,
                 structure: str | None = None):
        self.vocabulary = dict(vocabulary)
        self.structure = structure
        self.cls = cls
        self.eos = eos
        missing = [a + s for a in AMINO_ACIDS + "#" for s in THREE_DI_LETTERS if a + s not in self.vocabulary]
        if missing:
            raise UserError(f"not a SaProt vocabulary: no token {missing[0]!r}")
        self.columns = np.arange(len(AMINO_ACIDS), dtype=np.int64)

    def bind(self, structure: str) -> "StructureAwareVocabulary":
        """This vocabulary for a sequence whose residues have the 3Di letters ``structure``."""
        return StructureAwareVocabulary(self.vocabulary, self.cls, self.eos, structure)

    def groups(self) -> list[list[int]]:
        """Token ids of each amino acid (with every 3Di letter), in :data:`AMINO_ACIDS` order."""
        return [[self.vocabulary[a + s] for s in THREE_DI_LETTERS] for a in AMINO_ACIDS]

    def encode(self, sequence: str, model: str, source: str = "sequence") -> np.ndarray:
        if self.structure is None:
            raise UserError(f"{model} reads the 3D structure, and none was given")
        if len(self.structure) != len(sequence):
            raise UserError(f"{model}: the structure tokens cover {len(self.structure)} residues, the sequence "
                            f"has {len(sequence)}")
        ids = np.empty(len(sequence), dtype=np.int64)
        for i, residue in enumerate(sequence):
            if residue not in AMINO_ACIDS:  # SaProt has tokens for the 20 amino acids only
                raise InputError(f"'{residue}' at position {i + 1} cannot be scored by {model}", source=source,
                                 position=i + 1)
            ids[i] = self.vocabulary[residue + self.structure[i]]
        if len(ids) == 0:
            raise InputError("the sequence is empty", source=source)
        return ids

    def masked(self, encoded: np.ndarray, index: int) -> int:
        return self.vocabulary["#" + self.structure[index]]

    def read_columns(self, encoded: np.ndarray) -> np.ndarray:
        amino_acid_of = {token: k for k, group in enumerate(self.groups()) for token in group}
        return np.array([amino_acid_of[int(t)] for t in encoded], dtype=np.int64)
