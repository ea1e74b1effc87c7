"""What the application knows about a model before loading it, and what a loaded model carries.

These two dataclasses are the contract between the registry (``models.registry``), the loaders and the
engines. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelSpec", "LoadedModel", "RANDOM_WEIGHTS_LABEL"]

RANDOM_WEIGHTS_LABEL = "RANDOM WEIGHTS - for testing only, scores are meaningless"


@dataclass(frozen=True)
class ModelSpec:
    """One model a user can pick.

    name: registry name, e.g. ``esm2_t33_650M_UR50D``, ``esm1v_t33_650M_UR90S_1``, ``esmfold_v1``,
        ``protgpt2``, ``random-esm2-8M``.
    family: ``esm2`` | ``esm1v`` | ``esm1b`` | ``esmfold`` | ``protgpt2``.
    task: ``scoring`` | ``folding`` | ``generation``.
    parameters: number of parameters.
    download_bytes: size of the weight files to download (0 for random models).
    license: licence of the weights (e.g. ``MIT``).
    architecture: constructor facts, e.g. ``{"num_layers": 33, "embed_dim": 1280, "attention_heads": 20}``.
    max_tokens: longest input in tokens the model accepts (1024 for learned positions, ESM-2 trained on
        crops of 1024 too); ``None`` when there is no hard limit.
    source: where the weights come from: ``fair-esm`` (torch hub files), ``huggingface`` (a hub repo id in
        ``hub_id``) or ``random`` (built locally).
    hub_id: Hugging Face repo id for ``huggingface`` models.
    files: weight file names expected in the weights directory (fair-esm) or the hub snapshot.
    memory_bytes: rough memory needed to run it in float32 (shown in the model picker).
    is_random: random weights, only present when ``PROTEIN_STUDIO_RANDOM_MODELS=1``.
    description: one line for the model picker.
    """

    name: str
    family: str
    task: str
    parameters: int
    download_bytes: int
    license: str
    architecture: dict = field(default_factory=dict, hash=False, compare=False)
    max_tokens: int | None = 1024
    source: str = "fair-esm"
    hub_id: str | None = None
    files: tuple[str, ...] = ()
    memory_bytes: int = 0
    is_random: bool = False
    description: str = ""

    @property
    def display_name(self) -> str:
        """Name as shown to users; random-weight models say so."""
        return f"{self.name} ({RANDOM_WEIGHTS_LABEL})" if self.is_random else self.name

    @property
    def max_residues(self) -> int | None:
        """Longest sequence one forward pass can take (two tokens go to <cls> and <eos>)."""
        return None if self.max_tokens is None else self.max_tokens - 2


@dataclass
class LoadedModel:
    """A model ready to run: the torch module in eval mode on ``device`` and what tokenizes for it.

    For ESM models ``alphabet`` is the fair-esm ``Alphabet``; for Hugging Face models ``tokenizer`` is
    the transformers tokenizer. ``dtype`` is the parameter dtype (float16 on GPU where safe).
    """

    spec: ModelSpec
    model: Any
    device: Any
    dtype: Any
    alphabet: Any = None
    tokenizer: Any = None
    #: which weights these are, for provenance: the checkpoint's SHA-256 and file name, or a random model's seed
    weights_identity: str = ""
    #: for inverse-folding models (ProteinMPNN): the backbone they are bound to
    #: (:func:`protein_studio.engines.inverse_folding.bind_document`)
    backbone: Any = None
