"""Sequence generation with causal protein language models in the ProtGPT2 format.

ProtGPT2 was trained on sequences written as FASTA bodies (a newline every 60 residues) between
``<|endoftext|>`` tokens, with BPE tokens of about four residues. Sampling starts from ``<|endoftext|>``
(followed by the prompt, if any); a sequence ends when the model writes ``<|endoftext|>`` again.

Quality gates (a candidate is kept only if it passes all of them, in this order):

``truncated``
    No ``<|endoftext|>`` within ``max_length`` residues (the model was cut off, it did not finish).
``too short``
    Fewer than ``min_length`` residues (default 10).
``invalid residues``
    Anything other than the 20 standard amino acids (a model may write X, B, U, digits ...).
``low complexity``
    Shannon entropy of the residue composition below :data:`MIN_ENTROPY_BITS` (2.5 bits; the maximum is
    log2(20) = 4.32, natural proteins are mostly 3.9-4.2; a sequence of only a few residue kinds is well
    below 2.5).
``repeat-dominated``
    More than :data:`MAX_REPEAT_FRACTION` (25 %) of its 4-residue words occur earlier in the sequence
    (natural proteins of a few hundred residues: a few percent), or a single-residue run longer than
    :data:`MAX_HOMOPOLYMER` (10).

Kept sequences are ranked by perplexity as the ProtGPT2 model card defines it: ``exp`` of the mean token
negative log-likelihood of ``<|endoftext|>`` + the sequence with a newline every 60 residues +
``<|endoftext|>`` (lower is better). Optionally each kept sequence is folded (mean pLDDT) and compared with
a reference sequence (identity over a global alignment).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS, clean_sequence

__all__ = [
    "MIN_ENTROPY_BITS",
    "MAX_REPEAT_FRACTION",
    "MAX_HOMOPOLYMER",
    "REPEAT_WORD",
    "GenerationSettings",
    "GeneratedSequence",
    "GenerationResult",
    "shannon_entropy",
    "repeat_fraction",
    "longest_homopolymer",
    "quality_problem",
    "perplexity",
    "sequence_identity",
    "generate_sequences",
]

MIN_ENTROPY_BITS = 2.5
MAX_REPEAT_FRACTION = 0.25
MAX_HOMOPOLYMER = 10
REPEAT_WORD = 4


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling settings (defaults: the ProtGPT2 model card's top-k 950 and repetition penalty 1.2).

    ``max_length`` and ``min_length`` count residues, prompt included. ``top_k=0`` and ``top_p=1.0`` switch
    those filters off. ``batch_size`` sequences are sampled per model call.
    """

    n: int = 20
    prompt: str = ""
    max_length: int = 400
    min_length: int = 10
    temperature: float = 1.0
    top_k: int = 950
    top_p: float = 1.0
    repetition_penalty: float = 1.2
    seed: int = 0
    batch_size: int = 8

    def validated(self) -> "GenerationSettings":
        """A copy with the prompt cleaned; UserError naming the first bad setting."""
        if self.n < 1:
            raise UserError(f"number of sequences must be at least 1, not {self.n}")
        if self.max_length < 1:
            raise UserError(f"maximum length must be at least 1 residue, not {self.max_length}")
        if self.min_length > self.max_length:
            raise UserError(f"minimum length {self.min_length} is above the maximum length {self.max_length}")
        if not self.temperature > 0:
            raise UserError(f"temperature must be above 0, not {self.temperature}")
        if self.top_k < 0:
            raise UserError(f"top-k must be 0 (off) or more, not {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"top-p must be in (0, 1], not {self.top_p}")
        if not self.repetition_penalty > 0:
            raise UserError(f"repetition penalty must be above 0, not {self.repetition_penalty}")
        if self.batch_size < 1:
            raise UserError(f"batch size must be at least 1, not {self.batch_size}")
        prompt = ""
        if self.prompt.strip():
            prompt, problems = clean_sequence(self.prompt, source="prompt")
            if problems:
                raise InputError(f"{problems[0].message}: the prompt must be standard amino acids",
                                 source="prompt", position=problems[0].position)
            if len(prompt) >= self.max_length:
                raise UserError(f"the prompt has {len(prompt)} residues, not fewer than the maximum length "
                                f"{self.max_length}")
        return replace(self, prompt=prompt)


@dataclass
class GeneratedSequence:
    """One sampled candidate and its scores; ``reason`` says why it was dropped (None when kept)."""

    index: int
    sequence: str
    natural_end: bool
    entropy: float
    repeat_fraction: float
    longest_run: int
    reason: str | None = None
    perplexity: float | None = None
    mean_plddt: float | None = None
    identity: float | None = None

    @property
    def kept(self) -> bool:
        return self.reason is None

    @property
    def name(self) -> str:
        return f"gen{self.index + 1:03d}"

    def header(self) -> str:
        """FASTA header with the scores, e.g. ``gen004 ppl=512.3 len=120 entropy=4.05 plddt=71.2``."""
        parts = [self.name]
        if self.perplexity is not None:
            parts.append(f"ppl={self.perplexity:.2f}")
        parts.append(f"len={len(self.sequence)}")
        parts.append(f"entropy={self.entropy:.2f}")
        parts.append(f"repeats={self.repeat_fraction:.2f}")
        if self.mean_plddt is not None:
            parts.append(f"plddt={self.mean_plddt:.1f}")
        if self.identity is not None:
            parts.append(f"identity={100 * self.identity:.1f}%")
        if self.reason is not None:
            parts.append(f"dropped={self.reason.replace(' ', '_')}")
        return " ".join(parts)


@dataclass
class GenerationResult:
    """All candidates in sampling order; :attr:`kept` ranked by perplexity (lowest first)."""

    candidates: list[GeneratedSequence]
    settings: GenerationSettings
    model: str
    reference: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[GeneratedSequence]:
        return sorted((c for c in self.candidates if c.kept), key=lambda c: (c.perplexity, c.index))

    @property
    def dropped(self) -> list[GeneratedSequence]:
        return [c for c in self.candidates if not c.kept]

    def drop_counts(self) -> dict[str, int]:
        """How many candidates each gate dropped."""
        return dict(Counter(c.reason for c in self.dropped))

    def to_fasta(self, include_dropped: bool = False, line_width: int = 60) -> str:
        """Kept sequences (ranked) as FASTA with the scores in the headers; dropped ones appended if asked."""
        rows = self.kept + (self.dropped if include_dropped else [])
        lines = []
        for row in rows:
            lines.append(">" + row.header())
            lines.extend(row.sequence[i:i + line_width] for i in range(0, len(row.sequence), line_width))
        return "\n".join(lines) + ("\n" if lines else "")


# ------------------------------------------------------------------------------------------------
# quality measures
# ------------------------------------------------------------------------------------------------
def shannon_entropy(sequence: str) -> float:
    """Shannon entropy (bits) of the residue composition; 0 for an empty sequence."""
    if not sequence:
        return 0.0
    n = len(sequence)
    return float(sum(c / n * math.log2(n / c) for c in Counter(sequence).values()))


def repeat_fraction(sequence: str, word: int = REPEAT_WORD) -> float:
    """Share of the ``word``-residue words that already occurred earlier in the sequence."""
    total = len(sequence) - word + 1
    if total <= 0:
        return 0.0
    seen, repeats = set(), 0
    for i in range(total):
        kmer = sequence[i:i + word]
        repeats += kmer in seen
        seen.add(kmer)
    return repeats / total


def longest_homopolymer(sequence: str) -> int:
    """Length of the longest run of one residue."""
    best = run = 0
    previous = None
    for char in sequence:
        run = run + 1 if char == previous else 1
        previous = char
        best = max(best, run)
    return best


def quality_problem(sequence: str, natural_end: bool, min_length: int = 10) -> str | None:
    """The first quality gate ``sequence`` fails (see the module notes), or None."""
    if not natural_end:
        return "truncated"
    if len(sequence) < min_length:
        return "too short"
    if any(c not in AMINO_ACIDS for c in sequence):
        return "invalid residues"
    if shannon_entropy(sequence) < MIN_ENTROPY_BITS:
        return "low complexity"
    if repeat_fraction(sequence) > MAX_REPEAT_FRACTION or longest_homopolymer(sequence) > MAX_HOMOPOLYMER:
        return "repeat-dominated"
    return None


# ------------------------------------------------------------------------------------------------
# model-dependent pieces
# ------------------------------------------------------------------------------------------------
def _eos(loaded) -> int:
    from protein_studio.models.hf_loading import EOS_TOKEN

    return int(loaded.tokenizer.convert_tokens_to_ids(EOS_TOKEN))


def perplexity(sequence: str, loaded) -> float:
    """ProtGPT2 perplexity of ``sequence``: exp(mean token NLL) of ``<|endoftext|>`` + the residues with a
    newline every 60 + ``<|endoftext|>`` (every token after the first is predicted)."""
    import torch

    from protein_studio.models.hf_loading import EOS_TOKEN, wrap_residues

    text = EOS_TOKEN + wrap_residues(sequence) + EOS_TOKEN
    ids = torch.tensor([loaded.tokenizer.encode(text)], device=loaded.device)
    with torch.no_grad():
        logits = loaded.model(ids, attention_mask=torch.ones_like(ids)).logits[0, :-1].float()
    nll = -torch.log_softmax(logits, dim=-1).gather(1, ids[0, 1:, None]).mean()
    return float(math.exp(float(nll)))


def sequence_identity(sequence: str, reference: str) -> float:
    """Identity of a global alignment (BLOSUM62; identical positions / aligned columns without terminal
    gaps, biotite's ``not_terminal`` mode)."""
    import biotite.sequence as bseq
    import biotite.sequence.align as align

    matrix = align.SubstitutionMatrix.std_protein_matrix()
    alignment = align.align_optimal(bseq.ProteinSequence(sequence), bseq.ProteinSequence(reference), matrix,
                                    gap_penalty=(-10, -1), terminal_penalty=False, max_number=1)[0]
    return float(align.get_sequence_identity(alignment, mode="not_terminal"))


def _residue_counts(tokenizer):
    """Residues (upper-case ASCII letters) each token id writes; special tokens write none.

    Byte-level BPE keeps printable ASCII as itself, so the token strings can be counted directly.
    """
    import torch

    special = set(tokenizer.all_special_ids)
    tokens = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return torch.tensor([0 if i in special or tok is None else sum("A" <= c <= "Z" for c in tok)
                         for i, tok in enumerate(tokens)], dtype=torch.long)


def _stopping(counts, start_residues: int, prompt_tokens: int, max_length: int, eos: int):
    """A transformers stopping criterion: a row is done after EOS or once it has more than max_length
    residues (it can then no longer end naturally)."""
    from transformers import StoppingCriteria

    class _ResidueBudget(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            new = input_ids[:, prompt_tokens:]
            residues = start_residues + counts.to(new.device)[new].sum(dim=1)
            ended = (new == eos).any(dim=1)
            return (residues > max_length) | ended

    return _ResidueBudget()


def _decode_rows(rows, tokenizer, eos: int, prompt: str):
    out = []
    for row in rows:
        ids = row.tolist()
        natural = eos in ids
        if natural:
            ids = ids[:ids.index(eos)]
        text = tokenizer.decode(ids, skip_special_tokens=True)
        out.append((prompt + "".join(text.split()), natural))
    return out


def generate_sequences(loaded, settings: GenerationSettings, ctx, *, reference: str | None = None,
                       fold_model=None) -> GenerationResult:
    """Sample ``settings.n`` sequences, apply the quality gates, score and rank the kept ones.

    Parameters
    ----------
    loaded : LoadedModel
        A GPT-2 causal protein LM with its tokenizer (:func:`~protein_studio.models.hf_loading.load_protgpt2`).
    settings : GenerationSettings
    ctx : JobContext
        Progress per batch and per scored sequence; cancel between them. Each batch's candidates go to
        ``ctx.partial`` as a list of :class:`GeneratedSequence` (not yet scored).
    reference : str, optional
        Report each kept sequence's identity to this sequence.
    fold_model : LoadedModel, optional
        An ESMFold model: fold each kept sequence and report its mean pLDDT.

    Returns
    -------
    GenerationResult
        The same seed and settings give the same result on the same device.
    """
    import torch

    settings = settings.validated()
    if reference is not None:
        reference, _ = clean_sequence(reference, source="reference")
    tokenizer, model, device = loaded.tokenizer, loaded.model, torch.device(loaded.device)
    eos = _eos(loaded)
    from protein_studio.models.hf_loading import EOS_TOKEN, wrap_residues

    prompt_ids = tokenizer.encode(EOS_TOKEN + wrap_residues(settings.prompt))
    # every token but newlines and EOS writes at least one residue, so this many always suffice
    budget = settings.max_length - len(settings.prompt) + settings.max_length // 60 + 2
    room = getattr(model.config, "n_positions", None)
    if room is not None and len(prompt_ids) + budget > room:
        budget = room - len(prompt_ids)
        ctx.warn(f"the model reads at most {room} tokens: sequences longer than about {budget} tokens are cut "
                 f"off and dropped as truncated")
        if budget < 1:
            raise UserError(f"the prompt fills the model's {room}-token window")
    counts = _residue_counts(tokenizer)
    stop = _stopping(counts, len(settings.prompt), len(prompt_ids), settings.max_length, eos)
    candidates: list[GeneratedSequence] = []
    n_batches = math.ceil(settings.n / settings.batch_size)
    steps = n_batches + settings.n
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(settings.seed)
        for batch in range(n_batches):
            ctx.check_cancelled()
            size = min(settings.batch_size, settings.n - len(candidates))
            inputs = torch.tensor([prompt_ids] * size, device=device)
            with torch.no_grad():
                output = model.generate(
                    inputs, attention_mask=torch.ones_like(inputs), do_sample=True, max_new_tokens=budget,
                    temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p,
                    repetition_penalty=settings.repetition_penalty, eos_token_id=eos, pad_token_id=eos,
                    stopping_criteria=[stop])
            rows = _decode_rows(output[:, len(prompt_ids):].cpu(), tokenizer, eos, settings.prompt)
            new = []
            for text, natural in rows:
                natural = natural and len(text) <= settings.max_length
                new.append(GeneratedSequence(
                    index=len(candidates) + len(new), sequence=text, natural_end=natural,
                    entropy=shannon_entropy(text), repeat_fraction=repeat_fraction(text),
                    longest_run=longest_homopolymer(text),
                    reason=quality_problem(text, natural, settings.min_length)))
            candidates.extend(new)
            ctx.partial(new)
            ctx.progress(batch + 1, steps, f"sampled {len(candidates)} of {settings.n} sequences")
    kept = [c for c in candidates if c.kept]
    steps = n_batches + len(kept)
    for done, candidate in enumerate(kept, start=1):
        ctx.check_cancelled()
        candidate.perplexity = perplexity(candidate.sequence, loaded)
        if reference:
            candidate.identity = sequence_identity(candidate.sequence, reference)
        if fold_model is not None:
            from protein_studio.engines.folding import fold_sequence
            from protein_studio.core.job_context import JobContext

            # its own progress would jump around in ours; cancel and warnings pass through
            quiet = JobContext(on_warning=ctx.warn, cancel_event=ctx.cancel_event)
            folded = fold_sequence(candidate.sequence, fold_model, quiet, name=candidate.name)
            candidate.mean_plddt = folded.mean_plddt
        ctx.progress(n_batches + done - 1, steps, f"scored {done} of {len(kept)} kept sequences")
    ctx.progress(steps, steps, f"kept {len(kept)} of {len(candidates)} sequences")
    return GenerationResult(candidates=candidates, settings=settings, model=loaded.spec.name,
                            reference=reference, warnings=list(ctx.warnings))

