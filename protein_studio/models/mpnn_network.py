"""The ProteinMPNN network (Dauparas et al., Science 2022), written for this application.

A message-passing network over the backbone's k nearest residues: an encoder reads the backbone geometry
(full backbone: radial-basis distances between the N, CA, C, O and virtual CB atoms of each residue pair;
CA-only: distances between the CA atoms of neighbouring residues and their relative orientations), a decoder
reads the residues already decoded in a given order and predicts the next one (21 letters: the 20 amino acids
in :data:`~protein_studio.core.molecules.sequences.AMINO_ACIDS` order, then ``X``).

The parameter names are those of the published weight files (``v_48_0NN.pt``), so a state dict loads as it is.
Everything numeric follows the published model: 16 Gaussians from 2 to 22 Å, relative positions clipped at
±32 with a separate class for residues of another chain, messages summed and divided by 30, GELU, layer
norms after each residual. Only the arrangement is this application's: neighbour values are gathered instead of
full L x L tables, and a decoding order enters as the rank of each residue, so any number of orders (one per
batch row) run in one pass.

Shapes: ``B`` batch rows, ``L`` residues, ``K`` neighbours, ``H`` width (128).
Coordinates: ``[B, L, 4, 3]`` (N, CA, C, O) or ``[B, L, 3]`` (CA only), zero where ``mask`` is 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ProteinMPNN", "LETTERS", "gather_neighbours"]

#: The network's output letters (its 21st class, ``X``, is never designed).
LETTERS = "ACDEFGHIKLMNPQRSTVWYX"

_RBF_COUNT, _RBF_LOW, _RBF_HIGH = 16, 2.0, 22.0
_MAX_OFFSET = 32
_MESSAGE_SCALE = 30.0

# Atom pairs whose distances describe an edge of the full-backbone graph, in the order the weights expect
# (the first, CA-CA, comes from the neighbour search itself).
_BACKBONE_PAIRS = (("N", "N"), ("C", "C"), ("O", "O"), ("CB", "CB"), ("CA", "N"), ("CA", "C"), ("CA", "O"),
                   ("CA", "CB"), ("N", "C"), ("N", "O"), ("N", "CB"), ("CB", "C"), ("CB", "O"), ("O", "C"),
                   ("N", "CA"), ("C", "CA"), ("O", "CA"), ("CB", "CA"), ("C", "N"), ("O", "N"), ("CB", "N"),
                   ("C", "CB"), ("O", "CB"), ("C", "O"))
# The same for the CA-only graph: previous (0), own (1) and next (2) CA atoms.
_CA_PAIRS = ((0, 0), (2, 2), (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))


def gather_neighbours(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, i, k]]``: per-residue values ``[B, L, C]`` at the neighbours ``[B, L, K]``."""
    batch, length, k = index.shape
    flat = index.reshape(batch, length * k, 1).expand(-1, -1, values.shape[-1])
    return values.gather(1, flat).reshape(batch, length, k, values.shape[-1])


def _gather_pairs(pairwise: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``pairwise[b, i, index[b, i, k]]`` for a ``[B, L, L]`` table."""
    return pairwise.gather(2, index)


def _rbf(distances: torch.Tensor) -> torch.Tensor:
    centres = torch.linspace(_RBF_LOW, _RBF_HIGH, _RBF_COUNT, device=distances.device)
    width = (_RBF_HIGH - _RBF_LOW) / _RBF_COUNT
    return torch.exp(-((distances.unsqueeze(-1) - centres) / width) ** 2)


def _pair_distances(a: torch.Tensor, b: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Distance from atom ``a`` of each residue to atom ``b`` of each of its neighbours, ``[B, L, K]``."""
    b_neighbours = gather_neighbours(b, index)
    return torch.sqrt(torch.sum((a.unsqueeze(2) - b_neighbours) ** 2, -1) + 1e-6)


def _nearest(ca: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest residues by CA distance (a residue is its own nearest); residues without coordinates
    are pushed to the end. Returns distances and indices, ``[B, L, K]``."""
    pair_mask = mask.unsqueeze(1) * mask.unsqueeze(2)
    delta = ca.unsqueeze(1) - ca.unsqueeze(2)
    distance = pair_mask * torch.sqrt(torch.sum(delta ** 2, 3) + 1e-6)
    farthest, _ = torch.max(distance, -1, keepdim=True)
    adjusted = distance + (1.0 - pair_mask) * farthest
    return torch.topk(adjusted, min(k, ca.shape[1]), dim=-1, largest=False)


class _RelativePosition(nn.Module):
    """Embeds the sequence offset between two residues of one chain; other chains get a class of their own."""

    def __init__(self, width: int):
        super().__init__()
        self.linear = nn.Linear(2 * _MAX_OFFSET + 2, width)

    def forward(self, offset: torch.Tensor, same_chain: torch.Tensor) -> torch.Tensor:
        classes = (torch.clip(offset + _MAX_OFFSET, 0, 2 * _MAX_OFFSET) * same_chain
                   + (1 - same_chain) * (2 * _MAX_OFFSET + 1))
        return self.linear(F.one_hot(classes, 2 * _MAX_OFFSET + 2).float())


def _positional(module: _RelativePosition, residue_index, chain_labels, index) -> torch.Tensor:
    offset = _gather_pairs(residue_index[:, :, None] - residue_index[:, None, :], index)
    same = _gather_pairs((chain_labels[:, :, None] == chain_labels[:, None, :]).long(), index)
    return module(offset.long(), same)


class _BackboneFeatures(nn.Module):
    """Edge features of the full-backbone model: 25 atom-pair distance profiles and the relative position."""

    def __init__(self, width: int, neighbours: int, positional: int = 16):
        super().__init__()
        self.top_k = neighbours
        self.embeddings = _RelativePosition(positional)
        self.edge_embedding = nn.Linear(positional + _RBF_COUNT * 25, width, bias=False)
        self.norm_edges = nn.LayerNorm(width)

    def forward(self, coordinates, mask, residue_index, chain_labels):
        n, ca, c, o = coordinates.unbind(2)
        b = ca - n
        a = torch.cross(b, c - ca, dim=-1)
        atoms = {"N": n, "CA": ca, "C": c, "O": o,
                 "CB": -0.58273431 * a + 0.56802827 * b - 0.54067466 * (c - ca) + ca}  # ideal CB
        distance, index = _nearest(ca, mask, self.top_k)
        profiles = [_rbf(distance)] + [_rbf(_pair_distances(atoms[x], atoms[y], index)) for x, y in _BACKBONE_PAIRS]
        edges = torch.cat([_positional(self.embeddings, residue_index, chain_labels, index)] + profiles, -1)
        return self.norm_edges(self.edge_embedding(edges)), index


def _quaternions(rotations: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (x, y, z, w) of rotation matrices ``[..., 3, 3]``."""
    diagonal = torch.diagonal(rotations, dim1=-2, dim2=-1)
    xx, yy, zz = diagonal.unbind(-1)
    magnitudes = 0.5 * torch.sqrt(torch.abs(1 + torch.stack([xx - yy - zz, -xx + yy - zz, -xx - yy + zz], -1)))
    r = lambda i, j: rotations[..., i, j]  # noqa: E731
    signs = torch.sign(torch.stack([r(2, 1) - r(1, 2), r(0, 2) - r(2, 0), r(1, 0) - r(0, 1)], -1))
    w = torch.sqrt(F.relu(1 + diagonal.sum(-1, keepdim=True))) / 2.0
    return F.normalize(torch.cat((signs * magnitudes, w), -1), dim=-1)


class _CAFeatures(nn.Module):
    """Edge features of the CA-only model: distances between the previous, own and next CA atoms of two
    residues, the direction to the neighbour and the rotation between their local frames."""

    def __init__(self, width: int, neighbours: int, positional: int = 16):
        super().__init__()
        self.top_k = neighbours
        self.embeddings = _RelativePosition(positional)
        self.node_embedding = nn.Linear(3, width, bias=False)  # in the weight files, not used by the model
        self.edge_embedding = nn.Linear(positional + _RBF_COUNT * 9 + 7, width, bias=False)
        self.norm_nodes = nn.LayerNorm(width)  # in the weight files, not used by the model
        self.norm_edges = nn.LayerNorm(width)

    @staticmethod
    def _orientations(ca: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        step = ca[:, 1:] - ca[:, :-1]
        length = torch.norm(step, dim=-1)
        step = step * ((3.6 < length) & (length < 4.0))[:, :, None]  # a CA-CA jump is no bond
        unit = F.normalize(step, dim=-1)
        u2, u1 = unit[:, :-2], unit[:, 1:-1]
        n2 = F.normalize(torch.cross(u2, u1, dim=-1), dim=-1)
        o1 = F.normalize(u2 - u1, dim=-1)
        frames = torch.stack((o1, n2, torch.cross(o1, n2, dim=-1)), 2)
        frames = F.pad(frames.reshape(*frames.shape[:2], 9), (0, 0, 1, 2)).reshape(ca.shape[0], ca.shape[1], 3, 3)
        neighbour_frames = gather_neighbours(frames.reshape(*frames.shape[:2], 9), index)
        neighbour_frames = neighbour_frames.reshape(*neighbour_frames.shape[:3], 3, 3)
        offsets = gather_neighbours(ca, index) - ca.unsqueeze(-2)
        direction = F.normalize(torch.matmul(frames.unsqueeze(2), offsets.unsqueeze(-1)).squeeze(-1), dim=-1)
        rotation = torch.matmul(frames.unsqueeze(2).transpose(-1, -2), neighbour_frames)
        return torch.cat((direction, _quaternions(rotation)), -1)

    def forward(self, ca, mask, residue_index, chain_labels):
        distance, index = _nearest(ca, mask, self.top_k)
        previous, following = torch.zeros_like(ca), torch.zeros_like(ca)
        previous[:, 1:] = ca[:, :-1]
        following[:, :-1] = ca[:, 1:]
        atoms = (previous, ca, following)
        profiles = [_rbf(distance)] + [_rbf(_pair_distances(atoms[x], atoms[y], index)) for x, y in _CA_PAIRS]
        edges = torch.cat([_positional(self.embeddings, residue_index, chain_labels, index)] + profiles
                          + [self._orientations(ca, index)], -1)
        return self.norm_edges(self.edge_embedding(edges)), index


class _FeedForward(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.W_in = nn.Linear(width, 4 * width)
        self.W_out = nn.Linear(4 * width, width)

    def forward(self, h):
        return self.W_out(F.gelu(self.W_in(h)))


def _message(w1, w2, w3, inputs):
    return w3(F.gelu(w2(F.gelu(w1(inputs)))))


class _EncoderLayer(nn.Module):
    """Updates residues from their edges and neighbours, then edges from the updated residues."""

    def __init__(self, width: int):
        super().__init__()
        for name in ("norm1", "norm2", "norm3"):
            setattr(self, name, nn.LayerNorm(width))
        self.W1, self.W2, self.W3 = nn.Linear(3 * width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.W11, self.W12, self.W13 = nn.Linear(3 * width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.dense = _FeedForward(width)

    @staticmethod
    def _inputs(h_v, h_e, index):
        return torch.cat([h_v.unsqueeze(-2).expand(-1, -1, h_e.shape[-2], -1), h_e, gather_neighbours(h_v, index)], -1)

    def forward(self, h_v, h_e, index, mask, attend):
        messages = _message(self.W1, self.W2, self.W3, self._inputs(h_v, h_e, index)) * attend.unsqueeze(-1)
        h_v = self.norm1(h_v + messages.sum(-2) / _MESSAGE_SCALE)
        h_v = self.norm2(h_v + self.dense(h_v)) * mask.unsqueeze(-1)
        h_e = self.norm3(h_e + _message(self.W11, self.W12, self.W13, self._inputs(h_v, h_e, index)))
        return h_v, h_e


class _DecoderLayer(nn.Module):
    """Updates residues from edges that carry the neighbours' decoded letters (or only the encoder's view)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.W1, self.W2, self.W3 = nn.Linear(4 * width, width), nn.Linear(width, width), nn.Linear(width, width)
        self.dense = _FeedForward(width)

    def forward(self, h_v, h_edges, mask):
        inputs = torch.cat([h_v.unsqueeze(-2).expand(-1, -1, h_edges.shape[-2], -1), h_edges], -1)
        h_v = self.norm1(h_v + _message(self.W1, self.W2, self.W3, inputs).sum(-2) / _MESSAGE_SCALE)
        return self.norm2(h_v + self.dense(h_v)) * mask.unsqueeze(-1)


class ProteinMPNN(nn.Module):
    """ProteinMPNN: ``encode`` the backbone once, then ``decode`` letters in any decoding order.

    Parameters
    ----------
    ca_only : bool
        The CA-only model (coordinates ``[B, L, 3]``) instead of the full-backbone one (``[B, L, 4, 3]``).
    neighbours : int
        Neighbours per residue (48 in the published weights: their ``num_edges``).
    width, layers : int
        128 and 3 in the published weights.
    """

    def __init__(self, *, ca_only: bool = False, neighbours: int = 48, width: int = 128, layers: int = 3):
        super().__init__()
        self.ca_only = ca_only
        if ca_only:
            self.features = _CAFeatures(width, neighbours)
            self.W_v = nn.Linear(width, width)  # in the weight files, not used by the model
        else:
            self.features = _BackboneFeatures(width, neighbours)
        self.W_e = nn.Linear(width, width)
        self.W_s = nn.Embedding(len(LETTERS), width)
        self.encoder_layers = nn.ModuleList([_EncoderLayer(width) for _ in range(layers)])
        self.decoder_layers = nn.ModuleList([_DecoderLayer(width) for _ in range(layers)])
        self.W_out = nn.Linear(width, len(LETTERS))

    def encode(self, coordinates, mask, residue_index, chain_labels) -> dict:
        """The backbone's encoding: residue states, edge states and neighbour indices (sequence-free)."""
        edges, index = self.features(coordinates, mask, residue_index, chain_labels)
        h_e = self.W_e(edges)
        h_v = torch.zeros(edges.shape[0], edges.shape[1], edges.shape[-1], device=edges.device)
        attend = mask.unsqueeze(-1) * gather_neighbours(mask.unsqueeze(-1), index).squeeze(-1)
        for layer in self.encoder_layers:
            h_v, h_e = layer(h_v, h_e, index, mask, attend)
        return {"h_v": h_v, "h_e": h_e, "index": index, "mask": mask}

    def expand(self, encoding: dict, rows: int) -> dict:
        """An encoding of one backbone repeated for ``rows`` batch rows (views, no copies)."""
        self._edge_terms(encoding)
        expanded = {key: value.expand(rows, *value.shape[1:]) for key, value in encoding.items()
                    if key != "edge_terms"}
        expanded["edge_terms"] = [term.expand(rows, *term.shape[1:]) for term in encoding["edge_terms"]]
        return expanded

    @staticmethod
    def _visibility(encoding: dict, rank: torch.Tensor):
        """``[B, L, K, 1]`` weights of each residue's edges: ``seen`` where the neighbour comes earlier in the
        decoding order (its letter is read), ``unseen`` where not (only the encoder's view); residues without
        coordinates have neither."""
        earlier = (gather_neighbours(rank.unsqueeze(-1).float(), encoding["index"]).squeeze(-1)
                   < rank.unsqueeze(-1).float()).float().unsqueeze(-1)
        query = encoding["mask"].view(*encoding["mask"].shape, 1, 1)
        return query * earlier, query * (1.0 - earlier)

    def decoder_inputs(self, encoding: dict, rank: torch.Tensor):
        """The edge weights of :meth:`_visibility` that read letters, and the encoder-only edge input used where
        they do not (for :meth:`decode_step`)."""
        index, h_v, h_e = encoding["index"], encoding["h_v"], encoding["h_e"]
        seen, unseen = self._visibility(encoding, rank)
        encoder_edges = torch.cat([h_e, torch.zeros_like(h_e), gather_neighbours(h_v, index)], -1) * unseen
        return seen, encoder_edges

    def decode(self, encoding: dict, letters: torch.Tensor, rank: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``[B, L, 21]`` of every residue given the letters decoded before it.

        ``letters``: ``[B, L]`` indices into :data:`LETTERS`; ``rank``: ``[B, L]``, the place of each residue in
        the decoding order (a residue sees the letters of neighbours with a smaller rank).

        The decoder's first linear map is applied to each part of its input separately (the residue, the edge,
        the neighbour's letter and state), so the per-edge work is one 128 x 128 map instead of 512 x 128; its
        last map is applied after the sum over neighbours. The same numbers as the layer applied to the
        concatenated input, up to float rounding.
        """
        index, mask, h_v = encoding["index"], encoding["mask"], encoding["h_v"]
        h_v_encoder = h_v
        seen, unseen = self._visibility(encoding, rank)
        query = mask.view(*mask.shape, 1, 1)
        h_s = self.W_s(letters)
        width = h_v.shape[-1]
        for layer, edge_term in zip(self.decoder_layers, self._edge_terms(encoding)):
            w1 = layer.W1.weight
            own, neighbour_letter, neighbour = (w1[:, :width], w1[:, 2 * width:3 * width], w1[:, 3 * width:])
            seen_nodes = h_s @ neighbour_letter.T + h_v @ neighbour.T
            unseen_nodes = h_v_encoder @ neighbour.T
            hidden = ((h_v @ own.T + layer.W1.bias).unsqueeze(-2) + query * edge_term
                      + seen * gather_neighbours(seen_nodes, index) + unseen * gather_neighbours(unseen_nodes, index))
            summed = F.gelu(layer.W2(F.gelu(hidden))).sum(-2)
            messages = summed @ layer.W3.weight.T + index.shape[-1] * layer.W3.bias
            h_v = layer.norm1(h_v + messages / _MESSAGE_SCALE)
            h_v = layer.norm2(h_v + layer.dense(h_v)) * mask.unsqueeze(-1)
        return F.log_softmax(self.W_out(h_v), dim=-1)

    def _edge_terms(self, encoding: dict) -> list:
        """Each decoder layer's first map applied to the edge states (the same for every order and sequence)."""
        if "edge_terms" not in encoding:
            width = encoding["h_v"].shape[-1]
            encoding["edge_terms"] = [encoding["h_e"] @ layer.W1.weight[:, width:2 * width].T
                                      for layer in self.decoder_layers]
        return encoding["edge_terms"]

    def decode_step(self, encoding: dict, seen, encoder_edges, states: list, embedded: torch.Tensor,
                    position: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, 21]`` of one residue per batch row (``position``, ``[B]``) from the states of the
        residues decoded so far; ``states[l]`` holds every residue's input to decoder layer ``l`` and is
        updated at ``position``. ``embedded``: ``[B, L, H]`` letter embeddings, zero where not decoded."""
        rows = torch.arange(position.shape[0], device=position.device)
        index = encoding["index"][rows, position].unsqueeze(1)
        h_e = encoding["h_e"][rows, position].unsqueeze(1)
        with_letters = torch.cat([h_e, gather_neighbours(embedded, index)], -1)
        mask = encoding["mask"][rows, position].unsqueeze(1)
        seen_t, encoder_t = seen[rows, position].unsqueeze(1), encoder_edges[rows, position].unsqueeze(1)
        for layer_number, layer in enumerate(self.decoder_layers):
            edges = seen_t * torch.cat([with_letters, gather_neighbours(states[layer_number], index)], -1) + encoder_t
            updated = layer(states[layer_number][rows, position].unsqueeze(1), edges, mask)
            states[layer_number + 1][rows, position] = updated[:, 0]
        return self.W_out(states[-1][rows, position])
