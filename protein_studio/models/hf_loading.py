"""Loading Hugging Face models: ESMFold (``EsmForProteinFolding``) and ProtGPT2-style causal protein LMs.

Where the weights of a Hugging Face model are looked for, in this order:

1. an imported snapshot folder ``<weights dir>/huggingface/<name>/`` (``protein-studio models import FOLDER``
   copies a downloaded snapshot there, see :func:`import_hf_snapshot`);
2. the Hugging Face hub cache (``$HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``), where
   :func:`download_hf_model` or ``huggingface-cli download`` put it.

Nothing is downloaded while loading: a missing model raises :class:`ModelUnavailableError` that names the
model, the folders searched and how to get the weights. ``HF_HUB_OFFLINE=1`` is respected by
:func:`download_hf_model`.

Random-weight models of the real architectures (``random-esmfold-tiny``, ``random-protgpt2-tiny``) are built
locally, seeded by their name so they are identical on every run, and only when
``PROTEIN_STUDIO_RANDOM_MODELS=1``. The tiny ProtGPT2's byte-level BPE tokenizer is trained on the spot with
the ``tokenizers`` library on a few real protein sequences (:data:`TOKENIZER_TRAINING_SEQUENCES`).

torch and transformers are imported inside functions only.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from protein_studio.core.errors import JobCancelled, ModelUnavailableError, UserError
from protein_studio.models.devices import select_device
from protein_studio.models.locations import (has_weights, hf_cache_dir, hub_offline, imported_dir,
                                             not_on_disk_message, snapshot_folder)
from protein_studio.models.registry import (TINY_ESMFOLD_ARCHITECTURE, TINY_PROTGPT2_ARCHITECTURE, random_seed,
                                            require_random_enabled)
from protein_studio.models.snapshots import spec_for_folder
from protein_studio.models.spec import LoadedModel, ModelSpec

__all__ = [
    "EOS_TOKEN",
    "TOKENIZER_TRAINING_SEQUENCES",
    "download_hf_model",
    "resolve_hf_spec",
    "load_hf_model",
    "load_esmfold",
    "load_protgpt2",
    "build_random_esmfold",
    "build_random_protgpt2",
    "build_protein_bpe_tokenizer",
    "wrap_residues",
]

#: ProtGPT2's separator and end-of-sequence token (id 0 in its vocabulary).
EOS_TOKEN = "<|endoftext|>"

#: Real sequences the tiny tokenizer is trained on: ubiquitin (PDB 1UBQ), protein G B1 (PDB 2QMT), TEM-1
#: beta-lactamase (UniProt P62593, resources/demo) and three UniRef50 sequences from fair-esm's
#: examples/data/few_proteins.fasta (MIT), as in tests/data.
TOKENIZER_TRAINING_SEQUENCES: tuple[str, ...] = (
    "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
    "MQYKLILNGKTLKGETTTEAVDAATAEKVFKQYANDNGVDGEWTYDDATKTFTVTE",
    "MSIQHFRVALIPFFAAFCLPVFAHPETLVKVKDAEDQLGARVGYIELDLNSGKILESFRPEERFPMMSTFKVLLCGAVLSRVDAGQEQLGRRIHYSQND"
    "LVEYSPVTEKHLTDGMTVRELCSAAITMSDNTAANLLLTTIGGPKELTAFLHNMGDHVTRLDRWEPELNEAIPNDERDTTMPAAMATTLRKLLTGELLT"
    "LASRQQLIDWMEADKVAGPLLRSALPAGWFIADKSGAGERGSRGIIAALGPDGKPSRIVVIYTTGSQATMDERNRQIAEIGASLIKHW",
    "MPADAREYLESKHATRRFDRPAEVAGVVAFLLSDDTSFVIGAGYLVDGGYTALRAARGRLGPRRQAAPAVKLLPNTDSPR",
    "MGPPRWWKGITGLAAVVHRADPEDKADLYAKMGLYLEYHPETRIVEARIKPRLHDVCESKVSEGGLEPPCP",
    "MKTPEDRVFRATDEYSDFVMACRYKGNEREFVIASHDKLNEAQVETLTSYLSGEWFKKTYITGIMNDSDGVLSQHEEYGDEVFCQPLDELRVDRYIMMV",
)

def download_hf_model(spec: ModelSpec, ctx=None) -> Path:
    """Download ``spec.hub_id`` into the hub cache with progress and cancel through ``ctx``.

    Only the PyTorch weights are fetched (safetensors when the repository has them). Progress is reported
    in bytes of the total size of those files (listed before the transfer starts) as huggingface_hub's
    progress bars advance, under one text; the bars themselves print nothing. A cancel takes effect at the
    next progress update of any file (every ``huggingface_hub.constants.DOWNLOAD_CHUNK_SIZE`` bytes).

    Raises
    ------
    ModelUnavailableError
        When ``HF_HUB_OFFLINE`` is set or the hub cannot be reached.
    JobCancelled
        When ``ctx`` was cancelled (files already complete stay in the cache; unfinished ones are kept as
        ``.incomplete`` blobs that a later download resumes, and never count as on disk).
    """
    if not spec.hub_id:
        raise UserError(f"{spec.name} has no Hugging Face repository to download from")
    if hub_offline():
        raise ModelUnavailableError(
            f"{spec.name}: cannot download {spec.hub_id} because HF_HUB_OFFLINE is set; unset it, or copy a "
            f"snapshot folder here and run `protein-studio models import FOLDER`")
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.utils import filter_repo_objects
    from tqdm.auto import tqdm

    text = f"Downloading {spec.name} ({spec.hub_id})"
    total = 0  # bytes of the files to fetch, set once the repository is listed
    done = [0]  # most bytes any bar has reported (the transfer and write bars advance together)

    class _Silent(io.TextIOBase):
        def write(self, text):
            return len(text)

    class _Progress(tqdm):  # reports to ctx and stops the transfer when cancelled
        def __init__(self, *args, **kwargs):
            kwargs["file"] = _Silent()
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if ctx is not None:
                ctx.check_cancelled()
            out = super().update(n)
            if ctx is not None and total and self.unit == "B":  # bytes, not the count of files
                done[0] = min(max(done[0], int(self.n)), total)
                ctx.progress(done[0], total, text)
            return out

    try:
        if ctx is not None:
            ctx.check_cancelled()
        # one request without retries: an offline machine fails at once instead of after a minute of backoff
        files = HfApi().model_info(spec.hub_id, files_metadata=True).siblings or []
        # one copy of the PyTorch weights (safetensors when the repo has them), no TF/Flax/ONNX exports
        skip = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.ckpt", "*.tflite"]
        if any(f.rfilename.endswith(".safetensors") for f in files):
            skip.append("*.bin")
        fetched = filter_repo_objects(files, ignore_patterns=skip, key=lambda f: f.rfilename)
        total = sum(f.size or 0 for f in fetched)
        if ctx is not None:
            ctx.progress(0, total, text)
        path = snapshot_download(spec.hub_id, cache_dir=hf_cache_dir(), tqdm_class=_Progress,
                                 ignore_patterns=skip)
    except JobCancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - network and hub errors all mean "could not download"
        reason = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ModelUnavailableError(not_on_disk_message(spec, reason)) from exc
    if ctx is not None:  # files already in the cache are not counted by the bars
        ctx.progress(total, total, text)
    return Path(path)


# ------------------------------------------------------------------------------------------------
# specs and loading
# ------------------------------------------------------------------------------------------------
def resolve_hf_spec(name_or_path: str) -> ModelSpec:
    """The spec for a registry name, an imported snapshot name, or a snapshot folder path.

    A folder is taken when ``name_or_path`` holds a path separator or names a folder with a
    ``config.json``; otherwise registry names come first, then imported snapshots.
    """
    path = Path(name_or_path).expanduser()
    if (path / "config.json").is_file() or (os.sep in name_or_path or "/" in name_or_path):
        if not path.is_dir():
            raise UserError(f"{name_or_path}: no such model folder")
        return spec_for_folder(path, str(path))
    from protein_studio.models.catalog import get_spec

    try:
        return get_spec(name_or_path)
    except UserError:
        folder = imported_dir(name_or_path)
        if has_weights(folder):
            return spec_for_folder(folder, name_or_path)
        raise


def load_hf_model(spec_or_name: ModelSpec | str, device: str | Any = "auto") -> LoadedModel:
    """Load a folding or generation model by spec, name or folder (dispatches on ``spec.family``)."""
    spec = resolve_hf_spec(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    if spec.family == "esmfold":
        return load_esmfold(spec, device)
    if spec.family == "protgpt2":
        return load_protgpt2(spec, device)
    raise UserError(f"{spec.name} is a {spec.family} model, neither a folding nor a generation model")


def load_esmfold(spec: ModelSpec, device: str | Any = "auto") -> LoadedModel:
    """ESMFold on ``device``: the ESM-2 stem in float16 on a GPU and float32 on CPU, the trunk in float32.

    ``LoadedModel.tokenizer`` is None: the folding engine encodes residues with the AlphaFold residue
    order the model's own ``infer`` uses (no special tokens).
    """
    dev = select_device(device)
    if spec.is_random:
        require_random_enabled(spec)
        model = build_random_esmfold(spec.name, {**TINY_ESMFOLD_ARCHITECTURE, **(spec.architecture or {})})
    else:
        folder = snapshot_folder(spec)
        from transformers import EsmForProteinFolding

        try:
            model = EsmForProteinFolding.from_pretrained(str(folder), low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001 - a broken folder is the user's to fix
            raise ModelUnavailableError(f"{spec.name}: cannot load ESMFold from {folder}: {exc}") from exc
    model = model.eval().to(dev)
    # The trunk and structure module need float32; the 3B-parameter ESM-2 stem is fine in float16 on a GPU.
    model.float()
    if dev.type == "cuda":
        model.esm.half()
    return LoadedModel(spec=spec, model=model, device=dev, dtype=model.esm.dtype)


def load_protgpt2(spec: ModelSpec, device: str | Any = "auto") -> LoadedModel:
    """A GPT-2 causal protein language model and its tokenizer, in float32 (float16 on a GPU)."""
    dev = select_device(device)
    if spec.is_random:
        require_random_enabled(spec)
        model, tokenizer = build_random_protgpt2(spec.name, {**TINY_PROTGPT2_ARCHITECTURE,
                                                             **(spec.architecture or {})})
    else:
        folder = snapshot_folder(spec)
        from transformers import AutoTokenizer, GPT2LMHeadModel

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            model = GPT2LMHeadModel.from_pretrained(str(folder), low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelUnavailableError(f"{spec.name}: cannot load a GPT-2 model from {folder}: {exc}") from exc
    if tokenizer.convert_tokens_to_ids(EOS_TOKEN) in (None, tokenizer.unk_token_id) and EOS_TOKEN not in \
            tokenizer.get_vocab():
        raise ModelUnavailableError(f"{spec.name}: the tokenizer has no {EOS_TOKEN} token, so it is not a "
                                    f"ProtGPT2-style model")
    model = model.eval().to(dev)
    if dev.type == "cuda":
        model.half()
    return LoadedModel(spec=spec, model=model, device=dev, dtype=next(model.parameters()).dtype,
                       tokenizer=tokenizer)


# ------------------------------------------------------------------------------------------------
# random-weight models of the real architectures
# ------------------------------------------------------------------------------------------------
def build_random_esmfold(name: str = "random-esmfold-tiny", architecture: dict | None = None):
    """An ``EsmForProteinFolding`` with random weights, identical for the same ``name`` and architecture.

    The ESM stem uses the ESM-2 vocabulary and rotary positions. The folding trunk's weights are redrawn
    with unit-variance fan-in scaling (transformers initialises many of them near zero, which would make
    every output constant), so chunking, pLDDT and PAE are exercised with non-trivial values.
    """
    import torch
    from transformers import EsmConfig, EsmForProteinFolding
    from transformers.models.esm.configuration_esm import get_default_vocab_list

    a = {**TINY_ESMFOLD_ARCHITECTURE, **(architecture or {})}
    vocab = list(get_default_vocab_list())
    config = EsmConfig(
        vocab_size=len(vocab), pad_token_id=vocab.index("<pad>"), mask_token_id=vocab.index("<mask>"),
        hidden_size=a["esm_embed_dim"], num_hidden_layers=a["esm_layers"], num_attention_heads=a["esm_heads"],
        intermediate_size=4 * a["esm_embed_dim"], position_embedding_type="rotary",
        emb_layer_norm_before=False, token_dropout=True, max_position_embeddings=1026,
        is_folding_model=True, vocab_list=vocab,
        esmfold_config={
            "fp16_esm": False, "lddt_head_hid_dim": a["lddt_hidden"],
            "trunk": {
                "num_blocks": a["trunk_blocks"], "sequence_state_dim": a["sequence_state_dim"],
                "pairwise_state_dim": a["pairwise_state_dim"], "sequence_head_width": a["head_width"],
                "pairwise_head_width": a["head_width"], "max_recycles": a["max_recycles"], "chunk_size": None,
                "structure_module": {
                    "sequence_dim": a["sequence_state_dim"], "pairwise_dim": a["pairwise_state_dim"],
                    "ipa_dim": a["ipa_dim"], "num_heads_ipa": a["ipa_heads"], "resnet_dim": a["resnet_dim"],
                    "num_blocks": a["structure_blocks"], "num_qk_points": 4, "num_v_points": 8,
                },
            },
        },
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(name))
        model = EsmForProteinFolding(config)
        with torch.no_grad():
            for pname, param in model.named_parameters():
                if param.dim() >= 2 and not pname.startswith("esm."):
                    param.copy_(torch.randn(param.shape) / param.shape[-1] ** 0.5)
    return model.eval()


def wrap_residues(sequence: str, width: int = 60) -> str:
    """Residues with a newline every ``width``, the layout ProtGPT2 was trained on."""
    return "\n".join(sequence[i:i + width] for i in range(0, len(sequence), width))


def build_protein_bpe_tokenizer(sequences=TOKENIZER_TRAINING_SEQUENCES, vocab_size: int = 120):
    """A GPT-2 style byte-level BPE tokenizer trained locally on ``sequences`` (ProtGPT2 layout).

    Its alphabet is the 20 amino acids and the newline only, and ``<|endoftext|>`` is token 0 as in
    ProtGPT2. Training is deterministic, so the same inputs give the same tokenizer.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    newline = "\u010a"  # the byte-level form of "\n"
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS_TOKEN], show_progress=False,
                                  initial_alphabet=list("ACDEFGHIKLMNPQRSTVWY") + [newline])
    # the training text must not contain EOS_TOKEN itself, or its characters would become residue tokens
    bpe.train_from_iterator([wrap_residues(s) for s in sequences], trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN,
                                   unk_token=EOS_TOKEN, pad_token=EOS_TOKEN)


def build_random_protgpt2(name: str = "random-protgpt2-tiny", architecture: dict | None = None):
    """A random-weight ``GPT2LMHeadModel`` and its locally trained tokenizer, identical for the same name."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    a = {**TINY_PROTGPT2_ARCHITECTURE, **(architecture or {})}
    tokenizer = build_protein_bpe_tokenizer(vocab_size=a["tokenizer_vocab"])
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=a["n_positions"], n_embd=a["n_embd"],
                        n_layer=a["n_layer"], n_head=a["n_head"], bos_token_id=eos, eos_token_id=eos,
                        pad_token_id=eos)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_seed(name))
        model = GPT2LMHeadModel(config)
    return model.eval(), tokenizer
