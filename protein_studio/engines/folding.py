"""Structure prediction with ESMFold (transformers' ``EsmForProteinFolding``, no openfold build).

- Residues are encoded in the AlphaFold residue order the model expects (``restype_order_with_x``, unknown
  residues as ``X``), without special tokens; the model adds ``<cls>``/``<eos>`` for its ESM-2 stem itself.
- Multimers are written ``SEQ1:SEQ2``. As ESMFold does, the chains are joined by a 25-glycine linker and
  the residue index jumps by 512 at each chain start, so the trunk's relative positions see separate
  chains; the linker is removed from every output and the chains come back as A, B, ...
- The trunk's axial attention is chunked (``model.trunk.set_chunk_size``) with a chunk size chosen from
  the length and the free memory (:func:`choose_chunk_size`); :func:`estimate_fold_resources` gives the
  memory and time estimate shown before a run, and a run that cannot fit is refused with a
  :class:`UserError` instead of crashing.
- pLDDT comes out of transformers on a 0-1 scale (fair-esm's is 0-100): it is multiplied by 100. The
  per-residue value is the CA atom's pLDDT and is written to the B-factor column of every atom of that
  residue. The PDB text is written by transformers' own openfold ``to_pdb``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS, clean_sequence

__all__ = [
    "CHAIN_LINKER",
    "RESIDUE_INDEX_OFFSET",
    "CHUNK_SIZES",
    "MAX_UNCHUNKED_LENGTH",
    "FoldArchitecture",
    "FoldEstimate",
    "FoldResult",
    "split_chains",
    "fold_architecture",
    "available_memory",
    "estimate_fold_resources",
    "choose_chunk_size",
    "fold_sequence",
    "fold_many",
]

#: Glycine linker ESMFold puts between chains of a multimer.
CHAIN_LINKER = "G" * 25
#: Jump of the residue index at every chain start (ESMFold's default).
RESIDUE_INDEX_OFFSET = 512
#: Chunk sizes tried, largest first (None = no chunking).
CHUNK_SIZES: tuple[int | None, ...] = (None, 128, 64, 32, 16, 8, 4, 2, 1)
#: Longer inputs are always chunked: unchunked long inputs have produced garbage structures (pTM 0.999).
MAX_UNCHUNKED_LENGTH = 512
#: Fraction of the free memory a run may plan to use.
MEMORY_HEADROOM = 0.8
_CA = 1  # index of CA among the 37 atom types


@dataclass(frozen=True)
class FoldArchitecture:
    """The sizes that drive ESMFold's cost (defaults: the real ``esmfold_v1``)."""

    stem_parameters: int = 2_838_000_000
    stem_layers: int = 36
    stem_width: int = 2560
    trunk_parameters: int = 690_000_000
    trunk_blocks: int = 48
    pair_dim: int = 128
    pair_heads: int = 4
    seq_dim: int = 1024
    recycles: int = 4


@dataclass(frozen=True)
class FoldEstimate:
    """What one prediction is expected to need, computed before it runs.

    ``memory_bytes`` is the peak activation memory (plus the weights when the model is not loaded yet),
    ``available_bytes`` the free memory on the device, ``seconds`` a rough time from the operation count
    and a nominal device speed. ``fits`` says whether ``memory_bytes`` is within the usable share of
    ``available_bytes``.
    """

    length: int
    device: str
    chunk_size: int | None
    memory_bytes: int
    available_bytes: int
    seconds: float
    fits: bool

    def describe(self) -> str:
        """One line for the user, e.g. "300 residues on cpu, chunk 64: ~1.2 GB of 30 GB free, ~40 s"."""
        chunk = "no chunking" if self.chunk_size is None else f"chunk size {self.chunk_size}"
        return (f"{self.length} residues on {self.device}, {chunk}: about {_gb(self.memory_bytes)} of "
                f"{_gb(self.available_bytes)} free, {_duration(self.seconds)}")


@dataclass
class FoldResult:
    """One predicted structure.

    Attributes
    ----------
    name : str
    sequence : str
        The input, chains separated by ``:``.
    chain_ids : tuple of str
        ``("A",)`` for a monomer, ``("A", "B", ...)`` for a multimer.
    chain_sequences : tuple of str
    pdb_text : str
        Atoms of all chains (no linker), per-residue pLDDT 0-100 in the B-factor column.
    plddt : numpy.ndarray
        Per-residue pLDDT (0-100), chains concatenated in order.
    mean_plddt : float
    ptm : float
        Predicted TM-score (0-1), over the chains without the linker.
    pae : numpy.ndarray
        Predicted aligned error in angstroms, (N x N) over all residues without the linker.
    chunk_size : int or None
        Chunk size the trunk ran with.
    seconds : float
    model : str
    estimate : FoldEstimate
    """

    name: str
    sequence: str
    chain_ids: tuple[str, ...]
    chain_sequences: tuple[str, ...]
    pdb_text: str
    plddt: np.ndarray
    mean_plddt: float
    ptm: float
    pae: np.ndarray
    chunk_size: int | None
    seconds: float
    model: str
    estimate: FoldEstimate
    warnings: list[str] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Number of residues (all chains, no linker)."""
        return int(self.plddt.shape[0])

    def plddt_by_chain(self) -> dict[str, np.ndarray]:
        """Per-residue pLDDT of each chain."""
        out, start = {}, 0
        for chain_id, seq in zip(self.chain_ids, self.chain_sequences):
            out[chain_id] = self.plddt[start:start + len(seq)]
            start += len(seq)
        return out


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 120:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min"


# ------------------------------------------------------------------------------------------------
# input
# ------------------------------------------------------------------------------------------------
def split_chains(sequence: str, *, source: str = "sequence") -> list[str]:
    """Clean a monomer ``SEQ`` or multimer ``SEQ1:SEQ2:...`` into its chains (InputError on bad input).

    Positions in error messages count residues across the whole input, as typed.
    """
    text = "".join(str(sequence).split())
    if not text:
        raise InputError("empty sequence", source=source)
    parts = text.split(":")
    chains, offset = [], 0
    for number, part in enumerate(parts, start=1):
        if not part:
            raise InputError(f"chain {number} of {len(parts)} is empty (check the ':' separators)",
                             source=source)
        try:
            cleaned, _problems = clean_sequence(part, source=source)
        except InputError as exc:
            where = f" (chain {number})" if len(parts) > 1 else ""
            raise InputError(f"{exc.reason}{where}", source=source,
                             position=None if exc.position is None else exc.position + offset) from exc
        gaps = [p for p in _problems if p.kind == "gap"]
        if gaps:
            where = f" of chain {number}" if len(parts) > 1 else ""
            raise InputError(f"gap `{gaps[0].character}` at position {gaps[0].position}{where}: remove "
                             f"alignment gaps before folding", source=source,
                             position=gaps[0].position + offset)
        unknown = next((i for i, residue in enumerate(cleaned) if residue not in AMINO_ACIDS), None)
        if unknown is not None:  # ESMFold's PDB writer has no residue name for them
            where = f" of chain {number}" if len(parts) > 1 else ""
            raise InputError(f"'{cleaned[unknown]}' at position {unknown + 1}{where} is not one of the 20 amino "
                             f"acids, which a predicted structure needs: replace it", source=source,
                             position=unknown + 1 + offset)
        chains.append(cleaned)
        offset += len(part) + 1
    if len(chains) > 26:
        raise InputError(f"{len(chains)} chains: at most 26 (A-Z) can be written to a PDB file", source=source)
    return chains


def _encode(chains: Sequence[str]):
    """AlphaFold residue indices, residue index with chain offsets, and a mask that is 0 on the linker."""
    import torch
    from transformers.models.esm.openfold_utils import residue_constants as rc

    joined = CHAIN_LINKER.join(chains)
    unknown = rc.restype_order_with_x["X"]
    aatype = torch.tensor([rc.restype_order_with_x.get(c, unknown) for c in joined], dtype=torch.long)
    residx = torch.arange(len(joined), dtype=torch.long)
    keep = torch.zeros(len(joined), dtype=torch.bool)
    chain_index = torch.zeros(len(joined), dtype=torch.long)
    start = 0
    for i, chain in enumerate(chains):
        end = start + len(chain)
        keep[start:end] = True
        chain_index[start:end] = i
        residx[start:] += RESIDUE_INDEX_OFFSET if i > 0 else 0
        start = end + len(CHAIN_LINKER)
    return aatype, residx, keep, chain_index


# ------------------------------------------------------------------------------------------------
# resources
# ------------------------------------------------------------------------------------------------
def fold_architecture(model: Any = None) -> FoldArchitecture:
    """Cost-relevant sizes of a loaded ``EsmForProteinFolding`` (the real ESMFold's when ``model`` is None)."""
    if model is None:
        return FoldArchitecture()
    cfg = model.config
    trunk = cfg.esmfold_config.trunk
    stem = sum(p.numel() for p in model.esm.parameters())
    total = sum(p.numel() for p in model.parameters())
    return FoldArchitecture(
        stem_parameters=stem, stem_layers=cfg.num_hidden_layers, stem_width=cfg.hidden_size,
        trunk_parameters=total - stem, trunk_blocks=trunk.num_blocks, pair_dim=trunk.pairwise_state_dim,
        pair_heads=max(1, trunk.pairwise_state_dim // trunk.pairwise_head_width),
        seq_dim=trunk.sequence_state_dim, recycles=trunk.max_recycles)


def available_memory(device: Any = "cpu") -> int:
    """Free bytes on ``device``: free GPU memory for CUDA, available RAM otherwise."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _activation_bytes(length: int, chunk_size: int | None, arch: FoldArchitecture, stem_bytes: int) -> int:
    n = length
    rows = n if chunk_size is None else min(chunk_size, n)
    pair = n * n * arch.pair_dim * 4  # one float32 pair representation
    pair_total = 12 * pair  # pair state, recycled copy, triangle-update projections and gates
    attention = 3 * rows * arch.pair_heads * n * n * 4  # triangle-attention logits, softmax, bias
    stem = n * (arch.stem_layers + 1) * arch.stem_width * (stem_bytes + 4) * 2  # hidden states, stacked
    return int(pair_total + attention + stem + 64 * 2**20)


def _flops(length: int, arch: FoldArchitecture) -> float:
    n = float(length)
    per_block = 24.0 * n ** 3 * arch.pair_dim + 40.0 * n * n * arch.pair_dim ** 2 + 24.0 * n * arch.seq_dim ** 2
    trunk = per_block * arch.trunk_blocks * (arch.recycles + 1)
    return trunk + 2.0 * arch.stem_parameters * n


# Nominal sustained speeds (FLOP/s) for the time estimate; deliberately conservative.
_SPEED = {"cuda": 2.0e13, "mps": 2.0e12, "cpu": 5.0e10}


def estimate_fold_resources(length: int, device: Any = "cpu", *, chunk_size: int | None = None,
                            model: Any = None, available_bytes: int | None = None) -> FoldEstimate:
    """Memory and time one prediction of ``length`` residues (linker included) needs.

    Parameters
    ----------
    length : int
        Residues the trunk sees (for a multimer: all chains plus 25 per linker).
    device : str or torch.device
    chunk_size : int, optional
        Trunk chunk size (None: unchunked).
    model : EsmForProteinFolding, optional
        The loaded model; its weights are then already in memory and not counted again. Without it the
        real ESMFold's sizes and weights (float16 stem on a GPU, float32 otherwise) are assumed.
    available_bytes : int, optional
        Free memory to plan against (default: :func:`available_memory` of ``device``).
    """
    import torch

    device = torch.device(device)
    arch = fold_architecture(model)
    stem_bytes = 2 if device.type == "cuda" else 4
    need = _activation_bytes(length, chunk_size, arch, stem_bytes)
    if model is None:
        need += arch.stem_parameters * stem_bytes + arch.trunk_parameters * 4
    free = available_memory(device) if available_bytes is None else int(available_bytes)
    seconds = _flops(length, arch) / _SPEED.get(device.type, _SPEED["cpu"])
    return FoldEstimate(length=int(length), device=str(device), chunk_size=chunk_size, memory_bytes=int(need),
                        available_bytes=free, seconds=seconds, fits=need <= MEMORY_HEADROOM * free)


def choose_chunk_size(length: int, device: Any = "cpu", *, model: Any = None,
                      available_bytes: int | None = None) -> FoldEstimate:
    """The largest chunk size that fits (unchunked only up to :data:`MAX_UNCHUNKED_LENGTH` residues).

    Raises
    ------
    UserError
        When even the smallest chunk does not fit in the free memory.
    """
    candidates = [c for c in CHUNK_SIZES if not (c is None and length > MAX_UNCHUNKED_LENGTH)]
    estimate = None
    for chunk in candidates:
        estimate = estimate_fold_resources(length, device, chunk_size=chunk, model=model,
                                           available_bytes=available_bytes)
        if estimate.fits:
            return estimate
    raise UserError(f"cannot fold {length} residues on {estimate.device}: it needs about "
                    f"{_gb(estimate.memory_bytes)} even with chunk size 1 and only "
                    f"{_gb(estimate.available_bytes)} is free; fold a shorter sequence (or domain), or use "
                    f"a device with more memory")


# ------------------------------------------------------------------------------------------------
# prediction
# ------------------------------------------------------------------------------------------------
def _to_pdb(out, keep, chain_index, chains: Sequence[str], plddt_res: np.ndarray) -> str:
    from transformers.models.esm.openfold_utils.feats import atom14_to_atom37
    from transformers.models.esm.openfold_utils.protein import Protein, to_pdb

    atoms37 = atom14_to_atom37(out["positions"][-1], out)[0]  # L x 37 x 3
    keep_np = keep.numpy()
    positions = atoms37.detach().float().cpu().numpy()[keep_np]
    atom_mask = out["atom37_atom_exists"][0].detach().float().cpu().numpy()[keep_np]
    aatype = out["aatype"][0].cpu().numpy()[keep_np]
    residue_number = np.concatenate([np.arange(1, len(c) + 1) for c in chains])
    protein = Protein(atom_positions=positions, aatype=aatype, atom_mask=atom_mask,
                      residue_index=residue_number,
                      b_factors=np.repeat(plddt_res[:, None], atom_mask.shape[1], axis=1),
                      chain_index=chain_index.numpy()[keep_np])
    # openfold writes a "PARENT N/A" line (template parents) before each chain: not a PDB record, dropped
    return "\n".join(line for line in to_pdb(protein).split("\n") if not line.startswith("PARENT"))


def _progress_hooks(model, ctx, name: str, num_recycles: int | None):
    """Forward hooks on the trunk blocks: progress per block and cancellation between blocks."""
    blocks = list(model.trunk.blocks)
    # transformers runs max_recycles passes by default, and num_recycles + 1 when it is given
    passes = model.config.esmfold_config.trunk.max_recycles if num_recycles is None else num_recycles + 1
    total = len(blocks) * passes
    done = [0]

    def before(_module, _inputs):
        ctx.check_cancelled()

    def after(_module, _inputs, _output):
        done[0] += 1
        # the structure module and heads still follow the last block: never report it as finished
        ctx.progress(min(done[0], total), total + 1, f"folding {name}: trunk block {done[0]} of {total}")

    handles = [b.register_forward_pre_hook(before) for b in blocks]
    handles += [b.register_forward_hook(after) for b in blocks]
    return handles


def fold_sequence(sequence: str, loaded, ctx, *, chunk_size: int | None | str = "auto",
                  num_recycles: int | None = None, name: str = "prediction") -> FoldResult:
    """Predict the structure of a monomer ``SEQ`` or multimer ``SEQ1:SEQ2``.

    Parameters
    ----------
    sequence : str
    loaded : LoadedModel
        From :func:`protein_studio.models.hf_loading.load_esmfold`.
    ctx : JobContext
        Progress per trunk block; cancel is honoured between blocks.
    chunk_size : int, None or "auto"
        ``"auto"`` picks it from the length and free memory; an explicit value is checked against the
        free memory too.
    num_recycles : int, optional
        Recycling passes after the first (default: the model's ``max_recycles``).
    name : str

    Raises
    ------
    InputError
        Bad residues or empty chains.
    UserError
        When the prediction cannot fit in memory.
    """
    import torch

    from protein_studio.models.devices import free_device_memory, is_out_of_memory

    chains = split_chains(sequence, source=name)
    model, device = loaded.model, torch.device(loaded.device)
    aatype, residx, keep, chain_index = _encode(chains)
    length = int(aatype.shape[0])
    if chunk_size == "auto":
        estimate = choose_chunk_size(length, device, model=model)
    else:
        if chunk_size is not None and int(chunk_size) < 1:
            raise UserError(f"chunk size must be a positive number, not {chunk_size}")
        estimate = estimate_fold_resources(length, device, chunk_size=chunk_size, model=model)
        if not estimate.fits:
            smaller = "a smaller --chunk-size, or " if chunk_size is None or chunk_size > 1 else ""
            raise UserError(f"cannot fold {name}: {estimate.describe()}; that does not fit, use "
                            f"{smaller}a shorter sequence")
    first_warning = len(ctx.warnings)
    ctx.progress(0, 1, f"folding {name}: {estimate.describe()}")
    ctx.check_cancelled()
    started = time.perf_counter()
    chunk = estimate.chunk_size
    while True:
        model.trunk.set_chunk_size(chunk)
        handles = _progress_hooks(model, ctx, name, num_recycles)
        try:
            with torch.no_grad():
                out = model(aatype[None].to(device), attention_mask=torch.ones_like(aatype)[None].to(device),
                            position_ids=residx[None].to(device), num_recycles=num_recycles)
            break
        except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled
            if not is_out_of_memory(exc):
                raise
            free_device_memory(device)
            smaller = [c for c in CHUNK_SIZES if c is not None and (chunk is None or c < chunk)]
            if not smaller:
                raise UserError(f"out of memory folding {name} ({length} residues) on {device} even with "
                                f"chunk size 1; fold a shorter sequence") from exc
            ctx.warn(f"out of memory folding {name} with chunk size {chunk}; retrying with {smaller[0]}")
            chunk = smaller[0]
        finally:
            for handle in handles:
                handle.remove()
    seconds = time.perf_counter() - started

    keep_np = keep.numpy()
    plddt = 100.0 * out["plddt"][0, :, _CA].detach().float().cpu().numpy()[keep_np]
    pae = out["predicted_aligned_error"][0].detach().float().cpu().numpy()[np.ix_(keep_np, keep_np)]
    if len(chains) == 1:
        ptm = float(out["ptm"])
    else:
        from transformers.models.esm.openfold_utils.loss import compute_tm

        kept = keep.to(out["ptm_logits"].device)
        logits = out["ptm_logits"][0][kept][:, kept].float()
        ptm = float(compute_tm(logits, max_bin=31, no_bins=logits.shape[-1]))
    pdb_text = _to_pdb(out, keep, chain_index, chains, plddt)
    ids = tuple(chr(ord("A") + i) for i in range(len(chains)))
    ctx.progress(1, 1, f"folded {name}: mean pLDDT {plddt.mean():.1f}, pTM {ptm:.2f}")
    return FoldResult(name=name, sequence=":".join(chains), chain_ids=ids, chain_sequences=tuple(chains),
                      pdb_text=pdb_text, plddt=plddt, mean_plddt=float(plddt.mean()), ptm=ptm, pae=pae,
                      chunk_size=chunk, seconds=seconds, model=loaded.spec.name,
                      estimate=estimate, warnings=list(ctx.warnings[first_warning:]))


def fold_many(records: Sequence[tuple[str, str]], loaded, ctx, *, chunk_size: int | None | str = "auto",
              num_recycles: int | None = None) -> list[FoldResult]:
    """Fold ``(name, sequence)`` records shortest first; each result also goes to ``ctx.partial``.

    Returns the results in the order they were folded (shortest first).
    """
    order = sorted(range(len(records)), key=lambda i: (len(records[i][1].replace(":", "")), i))
    results = []
    for i in order:
        ctx.check_cancelled()
        name, seq = records[i]
        result = fold_sequence(seq, loaded, ctx, chunk_size=chunk_size, num_recycles=num_recycles, name=name)
        results.append(result)
        ctx.partial(result)
    return results
