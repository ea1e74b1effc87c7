"""Variant effects from ESM protein language models: marginals, saturation scans, mutant lists, ensembles.

Every public function is a plain function of ``(inputs, loaded, ctx)``: ``loaded`` is a
:class:`~protein_studio.models.spec.LoadedModel` holding a fair-esm ESM-1b / ESM-1v / ESM-2 model in eval
mode, and ``ctx`` a :class:`~protein_studio.core.job_context.JobContext` that receives progress, partial results
and warnings, and is checked for cancellation between forward passes.

Scores are log-probability differences, ``score(X_i -> Y) = log p(Y at i) - log p(X at i)``, where the
probabilities come from

* ``"wt-marginals"``: one pass on the wild type (every position read from that pass), or
* ``"masked-marginals"``: one pass per position with that position replaced by ``<mask>``.

Tokens are ``<cls> residues <eos>``: residue ``i`` (0-based) is token ``i + 1``. Proteins longer than the
model's window (1022 residues for 1024 tokens) are scored in windows (:mod:`protein_studio.engines.windows`),
so no forward pass is ever longer than ``loaded.spec.max_tokens``. Masked copies of one window are batched
on GPUs with an automatic batch size (batch 1 on the CPU, where batching does not help); when the GPU runs
out of memory the batch is halved, and at batch 1 the model moves to the CPU with a warning.

Positions given to and returned by these functions are 0-based indices into the sequence, except mutants,
which carry residue numbers (``first_residue`` is the number of the first residue).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.fast_paths import is_fair_esm, logits_at_rows, sdpa_attention
from protein_studio.engines.methods import MULTI_METHODS, STRATEGIES
from protein_studio.engines.results import MutantScores, PseudoLikelihood, ScanChunk, ScanResult
from protein_studio.engines.windows import assign_tiles, centred_window, span_window, tiles
from protein_studio.models.vocabulary import ResidueVocabulary

__all__ = [
    "STRATEGIES", "MULTI_METHODS", "ScanChunk", "ScanResult", "MutantScores", "PseudoLikelihood",
    "saturation_scan", "score_mutants", "pseudo_log_likelihood", "ensemble_scans", "ensemble_mutant_scores",
    "model_for_document", "check_model_for_document", "embed_sequence", "result_provenance",
]



# --------------------------------------------------------------------------------------------- machinery
@dataclass(frozen=True)
class _Pass:
    """One forward pass: residues ``start:end`` of sequence ``seq`` with ``masked`` masked; ``read`` are
    the positions whose log-probabilities are wanted (0-based indices in the whole sequence)."""

    seq: int
    start: int
    end: int
    masked: tuple[int, ...]
    read: tuple[int, ...]


class _Runner:
    """Runs passes through a loaded model in batches of equal width; owns batch size and OOM fall-back."""

    def __init__(self, loaded, ctx, batch_size: int | None = None, max_residues: int | None = None,
                 fast: bool = True):
        if loaded.alphabet is None:
            raise UserError(f"{loaded.spec.name} is not an ESM model and cannot score mutations")
        self.loaded = loaded
        self.ctx = ctx
        self.vocab = vocabulary_of(loaded)
        self.bos = 1 if self.vocab.prepend_bos else 0
        self.eos = 1 if self.vocab.append_eos else 0
        limit = loaded.spec.max_tokens
        model_width = None if limit is None else limit - self.bos - self.eos
        if max_residues is not None and model_width is not None and max_residues > model_width:
            raise ValueError(f"max_residues={max_residues} is wider than {loaded.spec.name} accepts "
                             f"({model_width} residues)")
        self.max_residues = max_residues if max_residues is not None else model_width
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.fixed_batch = batch_size
        self.batch_cap: int | None = None  # lowered after running out of memory
        self._auto: dict[int, int] = {}
        self._probes: dict[int, _BatchProbe] = {}
        # exact shortcuts for fair-esm models (SDPA attention, the last layer at the rows read only)
        self.fast = fast and is_fair_esm(loaded.model)
        self.aa_tokens = self.vocab.columns

    # tokens -----------------------------------------------------------------------------------
    def encode(self, sequence: str, source: str = "sequence") -> np.ndarray:
        """Token ids of the residues (no special tokens); InputError names an unknown character."""
        return self.vocab.encode(sequence, self.loaded.spec.name, source)

    def tokens(self, encoded: np.ndarray, p: _Pass) -> np.ndarray:
        body = encoded[p.start:p.end].copy()
        for m in p.masked:
            body[m - p.start] = self.vocab.masked(encoded, m)
        head = [self.vocab.cls] * self.bos
        tail = [self.vocab.eos] * self.eos
        return np.concatenate([np.array(head, dtype=np.int64), body, np.array(tail, dtype=np.int64)])

    # batch size -------------------------------------------------------------------------------
    def batch_size(self, width: int) -> int:
        if self.fixed_batch is not None:
            size = self.fixed_batch
        elif width in self._auto:
            size = self._auto[width]
        else:  # a short probe on real batches of this width picks the fastest size (results are kept)
            probe = self._probes.setdefault(width, _BatchProbe(self._estimate(width)))
            size = probe.next_size()
            if probe.chosen is not None:
                size = self._auto[width] = probe.chosen
        return max(1, min(size, self.batch_cap)) if self.batch_cap is not None else size

    def measured(self, width: int, size: int, seconds: float) -> None:
        """Time of a batch of ``size`` passes of ``width`` residues (for the batch-size probe)."""
        probe = self._probes.get(width)
        if probe is not None and width not in self._auto:
            probe.record(size, seconds)
            if probe.chosen is not None:
                self._auto[width] = probe.chosen

    def chosen_batch(self) -> str:
        """The batch size(s) used, for provenance."""
        if self.fixed_batch is not None:
            return str(self.fixed_batch)
        sizes = sorted(set(self._auto.values()) | {p.best() for p in self._probes.values() if p.chosen is None})
        return ", ".join(str(v) for v in sizes) or "1"

    def _estimate(self, width: int) -> int:
        import torch

        device = torch.device(self.loaded.device)
        model = self.loaded.model
        if device.type == "cpu":
            return 32  # the probe's ceiling: on a CPU larger batches only cost memory (measured)
        args = getattr(model, "args", None)
        embed = getattr(model, "embed_dim", None) or getattr(args, "embed_dim", 1280)
        heads = getattr(model, "attention_heads", None) or getattr(args, "attention_heads", 20)
        tokens = width + self.bos + self.eos
        itemsize = torch.empty((), dtype=self.loaded.dtype or torch.float32).element_size()
        # live activations of one layer: hidden states, 4x FFN, q/k/v, and heads x T x T attention maps
        # (fair-esm takes their softmax in float32)
        per_sequence = itemsize * (tokens * embed * 16 + heads * tokens * tokens * 6) + tokens * 64 * 8
        if device.type == "cuda":
            # from the card's size, not its momentary free memory, so that the same card and model always
            # batch alike (results do not depend on what else was allocated); out of memory halves it
            total = torch.cuda.get_device_properties(device).total_memory
            weights = sum(p.numel() * p.element_size() for p in model.parameters())
            budget = max(total - weights, 0) * 0.4
        else:
            budget = 2 * 1024**3  # Apple MPS shares system memory: stay modest
        return int(min(256, max(1, budget // per_sequence)))

    # running ----------------------------------------------------------------------------------
    def _forward(self, tokens: np.ndarray, rows: list[np.ndarray]) -> list[np.ndarray]:
        import torch

        loaded = self.loaded
        with torch.inference_mode(), cancellable_layers(loaded.model, self.ctx):
            batch = torch.from_numpy(tokens).to(loaded.device)
            if self.fast:
                with sdpa_attention(loaded.model):
                    picked_rows = logits_at_rows(loaded.model, batch, [torch.from_numpy(i).to(batch.device)
                                                                       for i in rows])
            else:  # the reference: fair-esm's own forward pass over every row
                logits = loaded.model(batch)["logits"]
                picked_rows = [logits[b, torch.from_numpy(index).to(logits.device)] for b, index in enumerate(rows)]
            return [torch.log_softmax(picked.float(), dim=-1).cpu().numpy() for picked in picked_rows]

    def _out_of_memory(self, size: int, exc: BaseException) -> None:
        import torch

        from protein_studio.models.devices import free_device_memory, move_loaded_model

        device = torch.device(self.loaded.device)
        free_device_memory(device)
        if size > 1:
            self.batch_cap = size // 2
            return
        if device.type == "cpu":
            raise UserError(f"{self.loaded.spec.name} ran out of memory on the CPU: {exc}") from exc
        self.ctx.warn(f"{self.loaded.spec.name} ran out of memory on {device} even one sequence at a "
                      "time; continuing on the CPU (much slower)")
        move_loaded_model(self.loaded, "cpu")
        self.batch_cap = None
        self._auto.clear()

    def run(self, encoded: Sequence[np.ndarray], passes: Sequence[_Pass],
            on_batch: Callable[[list[_Pass], list[np.ndarray]], None],
            progress: Callable[[int], None]) -> None:
        """Run ``passes`` in order, batching neighbours of equal width; ``on_batch(passes, logps)`` gets
        for each pass a ``(len(read), vocabulary)`` array of log-probabilities."""
        from protein_studio.models.devices import is_out_of_memory

        done = 0
        while done < len(passes):
            self.ctx.check_cancelled()
            width = passes[done].end - passes[done].start
            size = self.batch_size(width)
            stop = done
            while stop < len(passes) and stop - done < size and passes[stop].end - passes[stop].start == width:
                stop += 1
            batch = list(passes[done:stop])
            tokens = np.stack([self.tokens(encoded[p.seq], p) for p in batch])
            rows = [np.asarray(p.read, dtype=np.int64) - p.start + self.bos for p in batch]
            started = time.perf_counter()
            try:
                logps = self._forward(tokens, rows)
            except Exception as exc:  # noqa: BLE001 - only out-of-memory is handled, others re-raised
                if not is_out_of_memory(exc):
                    raise
                self._out_of_memory(len(batch), exc)
                continue
            self.measured(width, len(batch), time.perf_counter() - started)
            on_batch(batch, logps)
            done = stop
            progress(done)


def check_model_for_document(spec, document) -> None:
    """Raise before anything is loaded when ``spec`` cannot score ``document`` (a structure-aware model
    and a document without a structure, or without the structure extra installed)."""
    from protein_studio.models.registry import INVERSE_FOLDING_FAMILIES, STRUCTURE_AWARE_FAMILIES

    if spec.family in INVERSE_FOLDING_FAMILIES and (document.structure is None or document.chain is None):
        raise UserError(f"{spec.name} reads the backbone of a structure, and {document.name} has none: open a "
                        f"structure file (PDB or mmCIF), or predict one with ESMFold and score that")
    if spec.family in STRUCTURE_AWARE_FAMILIES:
        from protein_studio.core.molecules.structure_tokens import structure_extra_problem

        problem = structure_extra_problem()
        if problem:
            raise UserError(f"{spec.name}: {problem}")
        if document.structure is None:
            from protein_studio.core.molecules.structure_tokens import structure_tokens

            structure_tokens(document)  # raises with what to open


def model_for_document(loaded, document):
    """``loaded`` ready to score ``document``: a structure-aware model (SaProt) gets the document's 3Di
    tokens (:func:`protein_studio.core.molecules.structure_tokens.structure_tokens`); other models are returned as
    they are. The model itself is shared, not copied."""
    from dataclasses import replace

    from protein_studio.models.registry import INVERSE_FOLDING_FAMILIES, STRUCTURE_AWARE_FAMILIES

    if loaded.spec.family in INVERSE_FOLDING_FAMILIES:
        from protein_studio.engines.inverse_folding import bind_document

        return bind_document(loaded, document)  # ProteinMPNN reads the document's backbone
    if loaded.spec.family not in STRUCTURE_AWARE_FAMILIES:
        return loaded
    from protein_studio.core.molecules.structure_tokens import structure_tokens

    return replace(loaded, alphabet=loaded.alphabet.bind(structure_tokens(document)))


class _BatchProbe:
    """Finds the fastest batch size for passes of one width on the device at hand, on the scan's own batches.

    The first batch (size 1) warms up and is not timed; then sizes 1, 4, 16, ... up to ``ceiling`` are timed
    on two batches each (the faster counts: a busy machine slows one, rarely both) while the time per pass
    falls by at least 5 %; the fastest is kept for the rest of the run. Steps of four keep the probe short
    and its differences larger than the noise of a shared machine.
    """

    STEP = 4

    TIMINGS = 2

    def __init__(self, ceiling: int):
        self.ceiling = max(1, int(ceiling))
        self.samples: dict[int, list[float]] = {}
        self.warm = False
        self.chosen: int | None = None if self.ceiling > 1 else 1

    @property
    def times(self) -> dict[int, float]:
        """Best seconds per pass of each size timed."""
        return {size: min(values) for size, values in self.samples.items()}

    def next_size(self) -> int:
        if not self.warm or not self.samples:
            return 1
        largest = max(self.samples)
        if len(self.samples[largest]) < self.TIMINGS:
            return largest
        return min(largest * self.STEP, self.ceiling)

    def record(self, size: int, seconds: float) -> None:
        if not self.warm:
            self.warm = True
            return
        self.samples.setdefault(size, []).append(seconds / size)
        if len(self.samples[size]) < self.TIMINGS:
            return
        times = self.times
        if size >= self.ceiling or (size > 1 and times[size] > 0.95 * min(t for s, t in times.items() if s < size)):
            self.chosen = self.best()

    def best(self) -> int:
        return min(self.times, key=self.times.get) if self.times else 1


def vocabulary_of(loaded) -> ResidueVocabulary:
    """The vocabulary the engine reads ``loaded`` with (fair-esm alphabets are wrapped)."""
    alphabet = loaded.alphabet
    return alphabet if isinstance(alphabet, ResidueVocabulary) else ResidueVocabulary.from_fair_esm(alphabet)


def _masked_passes(length: int, positions: Iterable[int], width: int | None, seq: int = 0) -> list[_Pass]:
    passes = []
    for p in positions:
        start, end = centred_window(length, p, width)
        passes.append(_Pass(seq, start, end, (p,), (p,)))
    return passes


def _wt_passes(length: int, positions: np.ndarray, width: int | None, seq: int = 0) -> list[_Pass]:
    windows = tiles(length, width)
    owner = assign_tiles(length, windows)[positions]
    passes = []
    for k, (start, end) in enumerate(windows):
        read = tuple(int(p) for p in positions[owner == k])
        if read:
            passes.append(_Pass(seq, start, end, (), read))
    return passes


def _check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise UserError(f"unknown strategy '{strategy}': choose one of {', '.join(STRATEGIES)}")


def _model_name(loaded) -> str:
    return loaded.spec.name


def _inverse_folding(loaded) -> bool:
    """ProteinMPNN and its kind score with :mod:`protein_studio.engines.inverse_folding` (no tokens, no masks)."""
    from protein_studio.models.registry import INVERSE_FOLDING_FAMILIES

    return getattr(getattr(loaded, "spec", None), "family", None) in INVERSE_FOLDING_FAMILIES


def refuse_inverse_folding(loaded, what: str) -> None:
    """Raise for an inverse-folding model asked for something only language models give."""
    if _inverse_folding(loaded):
        raise UserError(f"{loaded.spec.name} is an inverse-folding model: it gives no {what}; choose an ESM "
                        f"model for that")


# --------------------------------------------------------------------------------------------- scans
def saturation_scan(sequence: str, loaded, ctx, strategy: str = "masked-marginals",
                    positions: Iterable[int] | None = None, *, wt_first: bool = False,
                    batch_size: int | None = None, max_residues: int | None = None,
                    fast: bool = True) -> ScanResult:
    """Score all 19 substitutions at every position (or at ``positions``) of ``sequence``.

    Parameters
    ----------
    sequence : str
        Wild-type sequence in one-letter code.
    loaded : LoadedModel
        A fair-esm model with its alphabet.
    ctx : JobContext
        Receives progress (passes done of total), one :class:`ScanChunk` per finished batch through
        ``ctx.partial``, warnings, and is checked for cancellation between batches.
    strategy : {"masked-marginals", "wt-marginals"}
    positions : iterable of int, optional
        0-based indices to scan; all positions by default.
    wt_first : bool
        With masked marginals, first send a complete wild-type-marginal matrix (one pass per window) as
        ``"wt-marginals"`` chunks, then refine it position by position.
    batch_size : int, optional
        Masked copies per forward pass; automatic by default (1 on the CPU).
    max_residues : int, optional
        Narrower windows than the model allows (at most ``max_tokens - 2``).
    fast : bool
        Use the exact shortcuts of :mod:`protein_studio.engines.fast_paths` for fair-esm models (default);
        False runs fair-esm's own forward pass over every row (the reference the shortcuts are tested on).

    Returns
    -------
    ScanResult

    Raises
    ------
    JobCancelled
        When ``ctx`` is cancelled; the chunks already sent stay valid.
    """
    if _inverse_folding(loaded):
        from protein_studio.engines.inverse_folding import scan

        return scan(sequence, loaded, ctx, positions)
    _check_strategy(strategy)
    runner = _Runner(loaded, ctx, batch_size, max_residues, fast)
    encoded = runner.encode(sequence)
    length = len(sequence)
    if positions is None:
        chosen = np.arange(length)
    else:
        chosen = np.unique(np.fromiter((int(p) for p in positions), dtype=int))
        if chosen.size == 0:
            raise InputError("no positions to scan")
        bad = chosen[(chosen < 0) | (chosen >= length)]
        if bad.size:
            raise InputError(f"position index {int(bad[0])} is outside the sequence of {length} residues")
    width = runner.max_residues
    name = _model_name(loaded)

    plans: list[tuple[str, list[_Pass]]] = []
    if strategy == "wt-marginals" or wt_first:
        plans.append(("wt-marginals", _wt_passes(length, chosen, width)))
    if strategy == "masked-marginals":
        plans.append(("masked-marginals", _masked_passes(length, chosen, width)))
    total = sum(len(passes) for _, passes in plans)

    own = runner.vocab.read_columns(encoded)  # the output column of each residue's own amino acid
    log_probs = np.full((length, len(AMINO_ACIDS)), np.nan)
    wt_logp = np.full(length, np.nan)
    finished = 0
    ctx.progress(0, total, f"{strategy} scan with {name}")
    for plan_strategy, passes in plans:
        def on_batch(batch, logps, plan_strategy=plan_strategy):
            index = np.array([r for p in batch for r in p.read], dtype=int)
            rows = np.concatenate(logps, axis=0).astype(np.float64)
            aa = rows[:, runner.aa_tokens]
            wt = rows[np.arange(len(index)), own[index]]
            if plan_strategy == strategy:
                log_probs[index] = aa
                wt_logp[index] = wt
            ctx.partial(ScanChunk(plan_strategy, index, aa - wt[:, None], wt, name))

        runner.run([encoded], passes, on_batch,
                   lambda done, base=finished: ctx.progress(base + done, total, f"{strategy} scan with {name}"))
        finished += len(passes)

    scores = log_probs - wt_logp[:, None]
    return ScanResult(sequence, scores, log_probs, wt_logp, chosen, name, strategy,
                      provenance=result_provenance(loaded, runner, strategy=strategy))


@contextmanager
def cancellable_layers(model, ctx):
    """While a forward pass runs, check ``ctx`` for cancellation before each transformer layer: a cancelled
    job stops within one layer (a 650M model's pass over 300 residues takes seconds on a CPU), not at the end
    of the pass. The hooks are removed afterwards (the worker keeps the model for the next job)."""
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(ctx, "check_cancelled"):
        yield
        return
    handles = [layer.register_forward_pre_hook(lambda _module, _args: ctx.check_cancelled()) for layer in layers]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def embed_sequence(sequence: str, loaded) -> np.ndarray:
    """Per-residue embeddings of ``sequence`` from a fair-esm model's last layer, ``(L, D)`` float64 (the
    special tokens left out). Used as features of supervised models.

    Raises
    ------
    InputError
        A residue the model cannot take, or a sequence longer than one pass of the model.
    """
    import torch

    from protein_studio.core.job_context import JobContext

    refuse_inverse_folding(loaded, "sequence embeddings")
    runner = _Runner(loaded, JobContext())
    encoded = runner.encode(sequence)
    if runner.max_residues is not None and len(encoded) > runner.max_residues:
        raise InputError(f"embeddings take at most {runner.max_residues} residues with {loaded.spec.name}; "
                         f"this sequence has {len(encoded)}")
    tokens = runner.tokens(encoded, _Pass(0, 0, len(encoded), (), ()))[None, :]
    layer = loaded.model.num_layers
    with torch.inference_mode():
        out = loaded.model(torch.from_numpy(tokens).to(loaded.device), repr_layers=[layer])
    start = runner.bos
    return out["representations"][layer][0, start:start + len(encoded)].float().cpu().numpy().astype(np.float64)


def result_provenance(loaded, runner=None, **extra) -> dict:
    """Where a result's numbers came from: model, weights (file hash or random seed), precision, device,
    window width, application version and date, plus ``extra`` (strategy, multi-mutant method...)."""
    import datetime

    from protein_studio import __version__

    out = {"model": _model_name(loaded), "weights": getattr(loaded, "weights_identity", ""),
           "precision": str(getattr(loaded, "dtype", "")).replace("torch.", ""),
           "device": str(getattr(loaded, "device", "")), "application": f"protein-studio {__version__}",
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if runner is not None and runner.max_residues is not None:
        out["window"] = f"at most {runner.max_residues} residues per pass (centred windows beyond)"
    if runner is not None:
        out["engine"] = ("SDPA attention, last layer at the rows read" if runner.fast else "plain forward pass")
        out["batch"] = runner.chosen_batch()
    structure = getattr(runner.vocab if runner is not None else None, "structure", None)
    if structure is not None:
        describe = getattr(structure, "describe", None)
        out["structure_tokens"] = (describe() + ": " if describe else "") + str(structure)
        if hasattr(structure, "masked_why"):
            out["masked_residues"] = structure.masked
            out["masked_why"] = structure.masked_why()
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


# --------------------------------------------------------------------------------------------- mutants
def _as_mutants(mutants, sequence: str, first_residue: int) -> list:
    from protein_studio.core.molecules.mutations import validate_mutant

    return [validate_mutant(item, sequence, first_residue) for item in mutants]


def score_mutants(sequence: str, mutants: Sequence, loaded, ctx, multi: str = "additive",
                  first_residue: int = 1, *, strategy: str = "masked-marginals",
                  batch_size: int | None = None, max_residues: int | None = None,
                  fast: bool = True, orders: int = 1, order_seed: int = 0) -> MutantScores:
    """Score single and multiple mutants of ``sequence``.

    Parameters
    ----------
    sequence : str
        Wild-type sequence.
    mutants : sequence of MultiMutant or str
        Mutants numbered from ``first_residue`` (strings are parsed with
        :func:`protein_studio.core.molecules.mutations.parse_mutant`); each is checked against the sequence.
    loaded : LoadedModel
    ctx : JobContext
    multi : {"additive", "joint"}
        ``"additive"`` sums single-site scores of ``strategy``; ``"joint"`` masks all mutated positions of a
        mutant in one pass and sums ``log p(mt) - log p(wt)`` over them (for a single mutant both equal the
        masked marginal).
    first_residue : int
        Number of the first residue of ``sequence``.
    strategy : {"masked-marginals", "wt-marginals"}
        Single-site strategy for additive scores.
    orders, order_seed : int
        ProteinMPNN (which ignores ``multi`` and ``strategy``): decoding orders averaged, and their seed (see
        :func:`protein_studio.engines.inverse_folding.score_variants`).

    Returns
    -------
    MutantScores
    """
    if _inverse_folding(loaded):
        from protein_studio.engines.inverse_folding import score_variants

        return score_variants(sequence, mutants, loaded, ctx, first_residue, orders=orders, seed=order_seed)
    _check_strategy(strategy)
    if multi not in MULTI_METHODS:
        raise UserError(f"unknown multi-mutant method '{multi}': choose additive or joint")
    if multi == "joint" and strategy != "masked-marginals":
        raise UserError("joint scoring masks the mutated positions together; it cannot use wt-marginals")
    parsed = _as_mutants(mutants, sequence, first_residue)
    runner = _Runner(loaded, ctx, batch_size, max_residues, fast)
    encoded = runner.encode(sequence)
    length = len(sequence)
    width = runner.max_residues
    name = _model_name(loaded)
    index_lists = [[m.position - first_residue for m in mutant.mutations] for mutant in parsed]
    own = runner.vocab.read_columns(encoded)
    mt_lists = [[runner.vocab.column(m.mt) for m in mutant.mutations] for mutant in parsed]
    scores = np.zeros(len(parsed))

    if multi == "additive":
        needed = np.unique(np.array([i for idx in index_lists for i in idx], dtype=int))
        passes = (_masked_passes(length, needed, width) if strategy == "masked-marginals"
                  else _wt_passes(length, needed, width))
        table: dict[int, np.ndarray] = {}

        def on_batch(batch, logps):
            for p, rows in zip(batch, logps):
                for position, row in zip(p.read, rows):
                    table[position] = row

        ctx.progress(0, len(passes), f"scoring {len(parsed)} mutants with {name}")
        runner.run([encoded], passes, on_batch,
                   lambda done: ctx.progress(done, len(passes), f"scoring {len(parsed)} mutants with {name}"))
        for k, (idx, mts) in enumerate(zip(index_lists, mt_lists)):
            scores[k] = sum(float(table[i][mt]) - float(table[i][own[i]]) for i, mt in zip(idx, mts))
    else:
        passes, owners = [], []
        for k, idx in enumerate(index_lists):
            if not idx:
                continue  # the wild type itself scores 0
            start, end = span_window(length, min(idx), max(idx), width)
            passes.append(_Pass(0, start, end, tuple(idx), tuple(idx)))
            owners.append(k)
        results: list[np.ndarray] = []
        ctx.progress(0, len(passes), f"scoring {len(parsed)} mutants jointly with {name}")
        runner.run([encoded], passes, lambda batch, logps: results.extend(logps),
                   lambda done: ctx.progress(done, len(passes), f"scoring {len(parsed)} mutants jointly with {name}"))
        for k, rows in zip(owners, results):
            idx, mts = index_lists[k], mt_lists[k]
            scores[k] = sum(float(row[mt]) - float(row[own[i]]) for row, i, mt in zip(rows, idx, mts))

    used = strategy if multi == "additive" else "masked-marginals"
    return MutantScores([str(m) for m in parsed], scores, name, multi, used,
                        provenance=result_provenance(loaded, runner, strategy=used, multi=multi))


def pseudo_log_likelihood(sequences: str | Sequence[str], loaded, ctx, *, batch_size: int | None = None,
                          max_residues: int | None = None, fast: bool = True) -> PseudoLikelihood:
    """Pseudo-log-likelihood of whole sequences: every residue masked in turn (in its centred window),
    ``sum_i log p(x_i | x without i)``.

    Parameters
    ----------
    sequences : str or sequence of str
    loaded : LoadedModel
    ctx : JobContext

    Returns
    -------
    PseudoLikelihood
    """
    if isinstance(sequences, str):
        sequences = [sequences]
    refuse_inverse_folding(loaded, "pseudo-log-likelihoods (its variant scores are sequence likelihoods)")
    runner = _Runner(loaded, ctx, batch_size, max_residues, fast)
    encoded = [runner.encode(seq, source=f"sequence {k + 1}") for k, seq in enumerate(sequences)]
    own = [runner.vocab.read_columns(e) for e in encoded]
    passes = [p for k, seq in enumerate(sequences)
              for p in _masked_passes(len(seq), range(len(seq)), runner.max_residues, seq=k)]
    terms = [np.full(len(seq), np.nan) for seq in sequences]

    def on_batch(batch, logps):
        for p, rows in zip(batch, logps):
            (position,) = p.read
            terms[p.seq][position] = rows[0][own[p.seq][position]]

    name = _model_name(loaded)
    ctx.progress(0, len(passes), f"pseudo-likelihood with {name}")
    runner.run(encoded, passes, on_batch,
               lambda done: ctx.progress(done, len(passes), f"pseudo-likelihood with {name}"))
    return PseudoLikelihood(np.array([t.sum() for t in terms]), terms, name)


# --------------------------------------------------------------------------------------------- ensembles
def _unique_names(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _standardise(values: np.ndarray, include: np.ndarray) -> np.ndarray:
    chosen = values[include & np.isfinite(values)]
    if chosen.size < 2:
        return values - (chosen.mean() if chosen.size else 0.0)
    std = chosen.std()
    return (values - chosen.mean()) / (std if std > 0 else 1.0)


def ensemble_scans(results: Sequence[ScanResult], standardise: bool = False) -> ScanResult:
    """Average the scans of several models of the same sequence.

    Parameters
    ----------
    results : sequence of ScanResult
        Scans of one sequence, same strategy and positions.
    standardise : bool
        Standardise each model's substitution scores (mean 0, standard deviation 1 over the scanned
        substitutions; wild-type cells stay 0) before averaging.

    Returns
    -------
    ScanResult
        ``model`` is ``"ensemble(a+b+...)"``; ``per_model`` holds each model's raw scores.
    """
    if not results:
        raise ValueError("an ensemble needs at least one scan")
    first = results[0]
    for other in results[1:]:
        if (other.sequence != first.sequence or other.strategy != first.strategy
                or not np.array_equal(other.positions_done, first.positions_done)):
            raise ValueError("ensemble scans must share sequence, strategy and positions")
    names = _unique_names([r.model for r in results])
    substitution = np.ones(first.scores.shape, dtype=bool)
    for i, residue in enumerate(first.sequence):
        if residue in AMINO_ACIDS:
            substitution[i, AMINO_ACIDS.index(residue)] = False
    stack = []
    for r in results:
        values = _standardise(r.scores, substitution) if standardise else r.scores
        stack.append(np.where(substitution, values, np.where(np.isnan(r.scores), np.nan, 0.0)))
    return ScanResult(first.sequence, np.mean(stack, axis=0),
                      np.mean([r.log_probs for r in results], axis=0),
                      np.mean([r.wt_logp for r in results], axis=0), first.positions_done.copy(),
                      f"ensemble({'+'.join(names)})", first.strategy,
                      {n: r.scores for n, r in zip(names, results)}, standardise,
                      provenance=_ensemble_provenance(names, results, standardise))


def _ensemble_provenance(names, results, standardise: bool) -> dict:
    first = dict(results[0].provenance)
    first.update({"model": f"ensemble({'+'.join(names)})", "ensemble": "mean of per-model "
                  + ("standardised " if standardise else "") + "scores",
                  "weights": "; ".join(f"{n}: {r.provenance.get('weights', '')}" for n, r in zip(names, results))})
    return first


def ensemble_mutant_scores(results: Sequence[MutantScores], standardise: bool = False) -> MutantScores:
    """Average several models' scores of the same mutant list (optionally standardised per model over
    the list); ``per_model`` keeps each model's raw column."""
    if not results:
        raise ValueError("an ensemble needs at least one set of scores")
    first = results[0]
    for other in results[1:]:
        if other.mutants != first.mutants or other.multi != first.multi or other.strategy != first.strategy:
            raise ValueError("ensemble scores must share mutants and method")
    names = _unique_names([r.model for r in results])
    every = np.ones(len(first.mutants), dtype=bool)
    stack = [_standardise(r.scores, every) if standardise else r.scores for r in results]
    return MutantScores(list(first.mutants), np.mean(stack, axis=0), f"ensemble({'+'.join(names)})",
                        first.multi, first.strategy, {n: r.scores for n, r in zip(names, results)},
                        standardise, provenance=_ensemble_provenance(names, results, standardise))
