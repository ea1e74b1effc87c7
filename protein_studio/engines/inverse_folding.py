"""Inverse folding with ProteinMPNN: mutation scores on a fixed backbone, and sequence design.

Every function takes a :class:`~protein_studio.models.spec.LoadedModel` of the ``proteinmpnn`` family bound to
a backbone (:func:`bind_document`, or :func:`bind_structure` for design) and a
:class:`~protein_studio.core.job_context.JobContext` (progress, cancellation between batches).

Decoding orders are drawn from ``numpy.random.default_rng(seed)``: the residues of context chains (not scored
or designed) come first, then the others in a random order. The same seed gives the same orders on every
machine, so a score or a design can be made again.

* :func:`scan`: every point substitution; each position decoded last with every other residue visible
  (the others in one seeded order): ``log p(mt) - log p(wt)`` (strategy ``"decoded-last"``).
* :func:`score_variants`: the variant's log-likelihood minus the wild type's, summed over the scored chain,
  both decoded in the same seeded order(s) on the wild-type backbone, averaged over ``orders`` orders.
  (ProteinGym draws a new order for each variant; that noise alone costs half the correlation.)
* :func:`design`: sequences sampled residue by residue at a temperature, fixed positions kept, tied
  positions (homo-oligomers) given one letter, with their mean negative log-likelihood and recovery.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

import numpy as np

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["SCAN_STRATEGY", "VARIANT_METHOD", "BoundBackbone", "bind_document", "bind_structure", "scan",
           "score_variants", "Design", "design", "log_probabilities", "designable_nodes", "tied_groups",
           "decoding_orders"]

SCAN_STRATEGY = "decoded-last"
VARIANT_METHOD = "sequence-likelihood"
_X = 20  # the network's "unknown" letter
_BATCH_NODES = 4096  # residues x batch rows per decoder pass: 48 edges of 128 floats each, ~0.4 GB in all


@dataclass(frozen=True)
class BoundBackbone:
    """A backbone and which of its nodes a document's positions are.

    Attributes
    ----------
    backbone : Backbone
    letters : numpy.ndarray
        The wild-type letter index of every node (the document's letters on its chain, the structure's
        elsewhere).
    node_of : numpy.ndarray
        For each document position, its node (-1 where the structure lacks it or has no backbone there).
    scored : numpy.ndarray
        Boolean per node: the nodes of the document's chain (the rest is context).
    notes : tuple of str
        What could not be read (positions without structure or backbone atoms).
    """

    backbone: object
    letters: np.ndarray
    node_of: np.ndarray
    scored: np.ndarray
    notes: tuple = ()


def _letter_index(letter: str) -> int:
    index = AMINO_ACIDS.find(letter)
    return index if index >= 0 else _X


def _ca_only(loaded) -> bool:
    return bool(loaded.spec.architecture.get("ca_only"))


def bind_document(loaded, document):
    """``loaded`` bound to the backbone of ``document``'s structure: its chain is scored, the structure's other
    protein chains are context.

    Raises
    ------
    UserError
        The document has no structure (the message says what to open or predict).
    """
    from protein_studio.core.molecules.backbone import backbone_of

    structure = document.structure
    if structure is None or document.chain is None:
        raise UserError(f"{document.name} has no 3D structure: ProteinMPNN reads the backbone. Open a structure "
                        f"file (PDB or mmCIF), or predict one with ESMFold (`protein-studio fold`, or Run \u25b8 "
                        f"Predict Structure in the window) and score that")
    chains = [document.chain] + [c for c in structure.chain_ids if c != document.chain]
    backbone = backbone_of(structure, chains)
    mask = backbone.mask_for(_ca_only(loaded))
    node_for = {}
    for k, (residue, chain) in enumerate(zip(backbone.residues, backbone.chains)):
        if chain == document.chain:
            node_for.setdefault(residue, k)
    letters = np.array([_letter_index(a) for a in backbone.sequence], dtype=np.int64)
    node_of = np.full(len(document.sequence), -1, dtype=np.int64)
    lacking, absent = [], 0
    for position, residue in enumerate(document.numbering.residues):
        node = node_for.get(residue) if residue is not None else None
        if node is None:
            absent += 1
            continue
        if not mask[node]:
            lacking.append(str(residue))
            continue
        node_of[position] = node
        letters[node] = _letter_index(document.sequence[position])
    notes = []
    if absent:
        notes.append(f"{absent} positions of {document.name} are not in the structure")
    if lacking:
        shown = ", ".join(lacking[:8]) + (f" and {len(lacking) - 8} more" if len(lacking) > 8 else "")
        notes.append(f"{len(lacking)} residues have no complete backbone ({shown})")
    scored = np.array([c == document.chain for c in backbone.chains])
    return replace(loaded, backbone=BoundBackbone(backbone, letters, node_of, scored, tuple(notes)))


def bind_structure(loaded, structure, chains=None):
    """``loaded`` bound to ``chains`` of ``structure`` (all protein chains by default) for :func:`design`."""
    from protein_studio.core.molecules.backbone import backbone_of

    backbone = backbone_of(structure, chains)
    letters = np.array([_letter_index(a) for a in backbone.sequence], dtype=np.int64)
    return replace(loaded, backbone=BoundBackbone(backbone, letters, np.arange(len(backbone)),
                                                  np.ones(len(backbone), dtype=bool)))


def _bound(loaded) -> BoundBackbone:
    bound = getattr(loaded, "backbone", None)
    if bound is None:
        raise UserError(f"{loaded.spec.name} needs a backbone: bind the model to a structure first")
    return bound


def _tensors(loaded, bound: BoundBackbone):
    import torch

    backbone = bound.backbone
    ca_only = _ca_only(loaded)
    coordinates = np.nan_to_num(backbone.coordinates, nan=0.0)
    if ca_only:
        coordinates = coordinates[:, 1]
    mask = backbone.mask_for(ca_only)
    if ca_only:
        coordinates = coordinates * mask[:, None]
    else:
        coordinates = coordinates * mask[:, None, None]
    device = loaded.device
    return (torch.tensor(coordinates, dtype=torch.float32, device=device)[None],
            torch.tensor(mask, dtype=torch.float32, device=device)[None],
            torch.tensor(backbone.residue_index, device=device)[None],
            torch.tensor(backbone.chain_labels, device=device)[None])


def _encode(loaded, bound):
    import torch

    with torch.no_grad():
        return loaded.model.encode(*_tensors(loaded, bound))


def decoding_orders(bound: BoundBackbone, count: int, seed: int, free=None) -> np.ndarray:
    """``count`` decoding orders (node indices): context nodes first, then the ``free`` ones (default: the
    scored chain) in a seeded random order."""
    free = bound.scored if free is None else free
    rng = np.random.default_rng(seed)
    context, chosen = np.flatnonzero(~free), np.flatnonzero(free)
    return np.array([np.concatenate([rng.permutation(context), rng.permutation(chosen)]) for _ in range(count)],
                    dtype=np.int64)


def _ranks(orders: np.ndarray) -> np.ndarray:
    ranks = np.empty_like(orders)
    rows = np.arange(orders.shape[0])[:, None]
    ranks[rows, orders] = np.arange(orders.shape[1])[None, :]
    return ranks


def _batches(total: int, length: int):
    size = max(1, _BATCH_NODES // max(length, 1))
    for start in range(0, total, size):
        yield start, min(total, start + size)


def _decode(loaded, encoding, letters: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    import torch

    device = loaded.device
    with torch.no_grad():
        out = loaded.model.decode(loaded.model.expand(encoding, len(letters)),
                                  torch.tensor(letters, device=device), torch.tensor(ranks, device=device))
    return out.double().cpu().numpy()


def log_probabilities(loaded, orders: np.ndarray, letters: np.ndarray | None = None) -> np.ndarray:
    """``[len(orders), L, 21]`` log-probabilities of every node given the letters before it in each order
    (teacher forcing with ``letters``, default the wild type); the reference tests compare these."""
    bound = _bound(loaded)
    letters = bound.letters if letters is None else letters
    encoding = _encode(loaded, bound)
    return _decode(loaded, encoding, np.repeat(letters[None], len(orders), axis=0), _ranks(np.asarray(orders)))


def _provenance(loaded, **extra) -> dict:
    from protein_studio import __version__

    bound = _bound(loaded)
    out = {"model": loaded.spec.name, "weights": loaded.weights_identity, "precision": "float32",
           "device": str(loaded.device), "application": f"protein-studio {__version__}",
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "backbone": f"chains {', '.join(dict.fromkeys(bound.backbone.chains))} of the structure "
                       f"({'CA atoms' if _ca_only(loaded) else 'N, CA, C, O'})"}
    if bound.notes:
        out["not_read"] = "; ".join(bound.notes)
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


# --------------------------------------------------------------------------------------------- scores
def scan(sequence: str, loaded, ctx, positions=None, *, seed: int = 0, order=None):
    """Every point substitution at ``positions`` (0-based, default all) of the bound document.

    Each position is decoded last, all other residues visible, the others in one seeded order (or in
    ``order``, node indices, when given).

    Returns
    -------
    ScanResult
        Strategy ``"decoded-last"``; positions without backbone stay NaN (named in the provenance).
    """
    from protein_studio.engines.results import ScanChunk, ScanResult

    bound = _bound(loaded)
    length = len(sequence)
    if len(bound.node_of) != length:
        raise UserError(f"{loaded.spec.name} is bound to another sequence ({len(bound.node_of)} residues, "
                        f"not {length})")
    chosen = np.arange(length) if positions is None else np.unique(np.fromiter(positions, dtype=int))
    if chosen.size and (chosen.min() < 0 or chosen.max() >= length):
        raise InputError(f"a position to scan is outside the sequence of {length} residues")
    readable = chosen[bound.node_of[chosen] >= 0]
    if readable.size == 0:
        raise UserError(f"none of the positions to scan has a backbone in the structure: "
                        f"{'; '.join(bound.notes)}")
    for note in bound.notes:
        ctx.warn(f"{loaded.spec.name}: {note}; they are left out of the scan")
    encoding = _encode(loaded, bound)
    if order is None:
        order = decoding_orders(bound, 1, seed, free=np.ones(len(bound.letters), dtype=bool))[0]
    base = _ranks(np.asarray(order, dtype=np.int64)[None])[0]
    nodes_total = len(bound.letters)
    log_probs = np.full((length, 20), np.nan)
    wt_logp = np.full(length, np.nan)
    wt_columns = np.array([AMINO_ACIDS.find(a) for a in sequence])
    name = loaded.spec.name
    ctx.progress(0, len(readable), f"ProteinMPNN scan with {name}")
    for start, stop in _batches(len(readable), nodes_total):
        ctx.check_cancelled()
        positions_here = readable[start:stop]
        nodes = bound.node_of[positions_here]
        ranks = np.repeat(base[None], len(nodes), axis=0)
        for row, node in enumerate(nodes):  # this node last, the others keep their order
            ranks[row] -= ranks[row] > base[node]
            ranks[row, node] = nodes_total - 1
        out = _decode(loaded, encoding, np.repeat(bound.letters[None], len(nodes), axis=0), ranks)
        rows = out[np.arange(len(nodes)), nodes, :20]
        wt = np.array([rows[k, c] if c >= 0 else np.nan for k, c in enumerate(wt_columns[positions_here])])
        log_probs[positions_here] = rows
        wt_logp[positions_here] = wt
        ctx.partial(ScanChunk(SCAN_STRATEGY, positions_here, rows - wt[:, None], wt, name))
        ctx.progress(stop, len(readable), f"ProteinMPNN scan with {name}")
    scores = log_probs - wt_logp[:, None]
    return ScanResult(sequence, scores, log_probs, wt_logp, readable, name, SCAN_STRATEGY,
                      provenance=_provenance(loaded, strategy=SCAN_STRATEGY, decoding_order_seed=seed))


def score_variants(sequence: str, mutants, loaded, ctx, first_residue: int = 1, *, orders: int = 1,
                   seed: int = 0):
    """Log-likelihood of each variant minus the wild type's on the wild-type backbone (see the module notes).

    Returns
    -------
    MutantScores
        ``multi`` ``"sequence-likelihood"``; NaN for a variant with a mutation where the structure has no
        backbone (said through ``ctx.warn``).
    """
    from protein_studio.core.molecules.mutations import validate_mutant
    from protein_studio.engines.results import MutantScores

    if not 1 <= int(orders) <= 100:
        raise InputError(f"decoding orders must be from 1 to 100, not {orders}")
    bound = _bound(loaded)
    parsed = [validate_mutant(item, sequence, first_residue) for item in mutants]
    encoding = _encode(loaded, bound)
    order_list = decoding_orders(bound, int(orders), seed)
    ranks = _ranks(order_list)
    counted = bound.scored & (bound.backbone.mask_for(_ca_only(loaded)) > 0)
    rows_letters, owners, unreadable = [bound.letters], [], []
    for k, mutant in enumerate(parsed):
        letters = bound.letters.copy()
        nodes = [int(bound.node_of[m.position - first_residue]) for m in mutant.mutations]
        if min(nodes) < 0:
            unreadable.append(str(mutant))
            continue
        for node, m in zip(nodes, mutant.mutations):
            letters[node] = _letter_index(m.mt)
        rows_letters.append(letters)
        owners.append(k)
    if unreadable:
        ctx.warn(f"{len(unreadable)} variants change residues without backbone in the structure and are not "
                 f"scored (e.g. {unreadable[0]})")
    letters = np.array(rows_letters)
    likelihood = np.zeros((len(letters), len(ranks)))
    name = loaded.spec.name
    total = len(letters) * len(ranks)
    done = 0
    ctx.progress(0, total, f"scoring {len(parsed)} variants with {name}")
    for o, rank in enumerate(ranks):
        for start, stop in _batches(len(letters), len(bound.letters)):
            ctx.check_cancelled()
            chunk = letters[start:stop]
            out = _decode(loaded, encoding, chunk, np.repeat(rank[None], len(chunk), axis=0))
            picked = np.take_along_axis(out, chunk[:, :, None], axis=2)[:, :, 0]
            likelihood[start:stop, o] = (picked * counted).sum(axis=1)
            done += len(chunk)
            ctx.progress(done, total, f"scoring {len(parsed)} variants with {name}")
    scores = np.full(len(parsed), np.nan)
    if owners:
        scores[owners] = (likelihood[1:] - likelihood[0]).mean(axis=1)
    method = f"{int(orders)} decoding order{'s' if orders != 1 else ''}, seed {seed}"
    return MutantScores([str(m) for m in parsed], scores, name, VARIANT_METHOD, method,
                        provenance=_provenance(loaded, multi=VARIANT_METHOD, strategy=method,
                                               wild_type_log_likelihood=float(likelihood[0].mean())))


# --------------------------------------------------------------------------------------------- design
@dataclass(frozen=True)
class Design:
    """One designed sequence.

    Attributes
    ----------
    sequence : str
        Letters of the designed chains (all nodes of the bound backbone, chains concatenated in order).
    chains : dict of str to str
        Each chain's letters.
    nll : float
        Mean negative log-likelihood (natural log) over the designed positions, at temperature 1, in the
        order it was sampled in (ProteinMPNN's "score").
    recovery : float
        Fraction of designed positions with the native letter.
    mutations : list of tuple
        ``(node, native letter, designed letter)`` where the design differs.
    seed : int
    """

    sequence: str
    chains: dict
    nll: float
    recovery: float
    mutations: list = field(default_factory=list)
    seed: int = 0


def _bias_vector(bias: dict | None, omit: str) -> np.ndarray:
    vector = np.zeros(21)
    vector[_X] = -np.inf  # X is never designed
    for letter, value in (bias or {}).items():
        if letter not in AMINO_ACIDS:
            raise InputError(f"bias for {letter!r}: not one of the 20 amino acids")
        vector[AMINO_ACIDS.index(letter)] += float(value)
    for letter in omit:
        if letter not in AMINO_ACIDS:
            raise InputError(f"cannot omit {letter!r}: not one of the 20 amino acids")
        vector[AMINO_ACIDS.index(letter)] = -np.inf
    if np.isinf(vector[:20]).all():
        raise InputError("every amino acid is omitted: nothing is left to design with")
    return vector


def design(loaded, ctx, *, designable, n: int = 8, temperature: float = 0.1, omit: str = "",
           bias: dict | None = None, tied: list | None = None, seed: int = 0) -> list[Design]:
    """Sample ``n`` sequences for the bound backbone.

    Parameters
    ----------
    designable : array of bool
        Per node: designed (True) or kept as it is (False, also every node without backbone).
    temperature : float
        Sampling temperature (0.1 is ProteinMPNN's usual choice; lower is closer to the most likely letter).
    omit : str
        Amino acids never placed. ``bias``: added to the logits of those letters (before the temperature).
    tied : list of list of int
        Groups of nodes that get one letter together (the same position in the chains of a homo-oligomer);
        their logits are averaged.
    seed : int
        Design ``k`` uses seed ``seed + k`` for its decoding order and its draws.
    """
    import torch

    if not 1 <= n <= 10_000:
        raise InputError(f"number of designs must be from 1 to 10,000, not {n}")
    if not 0 < temperature <= 10:
        raise InputError(f"temperature must be above 0 and at most 10, not {temperature}")
    bound = _bound(loaded)
    backbone = bound.backbone
    mask = backbone.mask_for(_ca_only(loaded)) > 0
    free = np.asarray(designable, dtype=bool) & mask
    if not free.any():
        raise UserError("no position to design has a backbone in the structure")
    bias_vector = torch.tensor(_bias_vector(bias, omit), dtype=torch.float32, device=loaded.device)
    group_of = {}
    for group in tied or []:
        members = [int(g) for g in group if free[int(g)]]
        for member in members:
            group_of[member] = members
    model = loaded.model
    encoding = _encode(loaded, bound)
    device = loaded.device
    designs = []
    ctx.progress(0, n, f"designing {n} sequences with {loaded.spec.name}")
    for k in range(n):
        ctx.check_cancelled()
        order = decoding_orders(bound, 1, seed + k, free=free)[0]
        if group_of:  # a tied group is decoded together, where its first member comes
            seen, grouped = set(), []
            for node in order:
                if node in seen:
                    continue
                members = group_of.get(int(node), [int(node)])
                grouped.extend(members)
                seen.update(members)
            order = np.array(grouped)
        rank = torch.tensor(_ranks(order[None]), device=device)
        generator = torch.Generator(device="cpu").manual_seed(seed + k)
        with torch.no_grad():
            seen_mask, encoder_edges = model.decoder_inputs(encoding, rank)
            states = [encoding["h_v"]] + [torch.zeros_like(encoding["h_v"]) for _ in model.decoder_layers]
            letters = torch.tensor(bound.letters[None], device=device)
            embedded = torch.zeros_like(encoding["h_v"])
            done = set()
            for node in order:
                node = int(node)
                if node in done:
                    continue
                members = group_of.get(node, [node])
                if free[node]:
                    logits = sum(model.decode_step(encoding, seen_mask, encoder_edges, states, embedded,
                                                   torch.tensor([m], device=device))[0] for m in members) / len(members)
                    probabilities = torch.softmax((logits + bias_vector) / temperature, dim=-1)
                    choice = int(torch.multinomial(probabilities.cpu(), 1, generator=generator))
                else:
                    model.decode_step(encoding, seen_mask, encoder_edges, states, embedded,
                                      torch.tensor([node], device=device))
                    choice = int(letters[0, node])
                for m in members:
                    letters[0, m] = choice
                    embedded[0, m] = model.W_s.weight[choice]
                    done.add(m)
            full = model.decode(encoding, letters, rank)[0].double().cpu().numpy()
        chosen = letters[0].cpu().numpy()
        nll = float(-full[np.flatnonzero(free), chosen[free]].mean())
        native = bound.letters
        recovery = float((chosen[free] == native[free]).mean())
        text = "".join(AMINO_ACIDS[c] if c < 20 else "X" for c in chosen)
        chains = {}
        for node, chain in enumerate(backbone.chains):
            chains[chain] = chains.get(chain, "") + text[node]
        mutations = [(int(i), backbone.sequence[i], text[i]) for i in np.flatnonzero(free)
                     if text[i] != backbone.sequence[i]]
        designs.append(Design(text, chains, nll, recovery, mutations, seed + k))
        ctx.progress(k + 1, n, f"designing {n} sequences with {loaded.spec.name}")
    return designs


# --------------------------------------------------------------------------------------------- design plans
def designable_nodes(backbone, chains, residues=None) -> np.ndarray:
    """Per node of ``backbone``: designed or not. ``chains`` are designed (the others are context); within
    them the nodes of ``residues`` (ResidueIds, as a document's numbering names them), or all.

    Raises
    ------
    InputError
        A chain not in the backbone.
    """
    chains = list(chains)
    present = list(dict.fromkeys(backbone.chains))
    unknown = [c for c in chains if c not in present]
    if unknown:
        raise InputError(f"chain {unknown[0]!r} is not in the structure (chains: {', '.join(present)})")
    chosen = np.array([c in chains for c in backbone.chains])
    if residues is None:
        return chosen
    wanted = set(residues)
    return chosen & np.array([residue in wanted for residue in backbone.residues])


def tied_groups(backbone, chains) -> list[list[int]]:
    """The i-th residue of each of ``chains`` tied together (a homo-oligomer designed symmetrically).

    Raises
    ------
    InputError
        Fewer than two chains, or chains of different lengths or sequences.
    """
    chains = list(dict.fromkeys(chains))
    if len(chains) < 2:
        raise InputError("tie at least two chains (e.g. A,B)")
    nodes = [backbone.nodes_of(c) for c in chains]
    if any(len(n) == 0 for n in nodes):
        missing = chains[[len(n) for n in nodes].index(0)]
        raise InputError(f"chain {missing!r} is not in the structure")
    if len({len(n) for n in nodes}) != 1:
        raise InputError("tied chains must have the same number of residues: "
                         + ", ".join(f"{c} {len(n)}" for c, n in zip(chains, nodes)))
    return [list(map(int, group)) for group in zip(*nodes)]
