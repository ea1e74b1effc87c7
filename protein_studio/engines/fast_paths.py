"""Exact fast paths for fair-esm models (ESM-2, ESM-1b, ESM-1v): the same function, computed with less work.

fair-esm writes attention out by hand (ESM-2: two batched matrix products and a float32 softmax) and always
asks each layer for its attention weights. Two exact shortcuts:

* :func:`sdpa_attention`: while in the block, each layer's self-attention is computed with PyTorch's
  ``scaled_dot_product_attention`` from the layer's own projections and rotary tables (the same function;
  the fused kernel never materialises the T x T weights), and GELU with torch's fused exact ``gelu``. A
  call that asks for attention weights (contact prediction) goes to fair-esm's own code.
* :func:`logits_at_rows`: a masked marginal reads one row of the output, a wild-type marginal a window's
  rows. The model runs its own embedding and every layer but the last; the last layer is evaluated only
  for the rows that are read (their queries against every key), then the final layer norm and the LM head.

Both stay within float rounding of fair-esm's forward pass (1e-5 in float32 in the tests; the bench prints
the largest difference). Models of other libraries (SaProt, ESM C: transformers, which already uses SDPA)
take the plain path. torch is imported inside functions only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

__all__ = ["is_fair_esm", "sdpa_attention", "logits_at_rows"]


def is_fair_esm(model) -> bool:
    """Whether ``model`` is a fair-esm sequence model these shortcuts apply to."""
    layers = getattr(model, "layers", None)
    return (layers is not None and len(layers) > 0 and hasattr(model, "lm_head")
            and hasattr(model, "emb_layer_norm_after") and hasattr(layers[0], "self_attn")
            and hasattr(layers[0].self_attn, "q_proj"))


def _rotary(attn, x, positions):
    """fair-esm's rotary embedding of ``x`` (B*H, n, Dh) at token ``positions`` (n,), from its own tables."""
    from esm.rotary_embedding import rotate_half

    cos, sin = attn.rot_emb._update_cos_sin_tables(x, seq_dimension=-2) if positions is None else \
        _tables(attn.rot_emb, int(positions.max()) + 1, x)
    if positions is None:
        cos, sin = cos[:, : x.shape[-2]], sin[:, : x.shape[-2]]
    else:
        cos, sin = cos[:, positions], sin[:, positions]
    return x * cos + rotate_half(x) * sin


def _tables(rot_emb, length: int, like):
    import torch

    current = rot_emb._seq_len_cached
    if current is not None and current >= length and rot_emb._cos_cached.device == like.device:
        return rot_emb._cos_cached, rot_emb._sin_cached
    probe = torch.empty((1, length, 1), device=like.device)
    return rot_emb._update_cos_sin_tables(probe, seq_dimension=-2)


def _attend(attn, query, key_value, key_padding_mask, query_positions=None):
    """Self-attention of ``query`` (Tq, B, E) over ``key_value`` (T, B, E) with fair-esm's weights, through
    ``scaled_dot_product_attention``; ``query_positions`` (Tq,) are the token positions of the queries
    (None: the first Tq)."""
    import torch
    import torch.nn.functional as F

    tq, bsz, embed = query.shape
    t = key_value.shape[0]
    heads, dh = attn.num_heads, attn.head_dim
    q = attn.q_proj(query) * attn.scaling
    k = attn.k_proj(key_value)
    v = attn.v_proj(key_value)
    # fair-esm's layout: (B*H, T, Dh)
    q = q.contiguous().view(tq, bsz * heads, dh).transpose(0, 1)
    k = k.contiguous().view(t, bsz * heads, dh).transpose(0, 1)
    v = v.contiguous().view(t, bsz * heads, dh).transpose(0, 1)
    if attn.rot_emb is not None:
        k = _rotary(attn, k, None)
        q = _rotary(attn, q, query_positions)
    mask = None
    if key_padding_mask is not None:  # (B, T), True where padding
        mask = (~key_padding_mask.to(torch.bool))[:, None, None, :]
    # 4-D (B, H, T, Dh): the layout the fused CPU and GPU kernels take (3-D falls back to the plain math)
    out = F.scaled_dot_product_attention(q.view(bsz, heads, tq, dh), k.view(bsz, heads, t, dh),
                                         v.view(bsz, heads, t, dh), attn_mask=mask, dropout_p=0.0, scale=1.0)
    # (B, H, Tq, Dh) -> fair-esm's (Tq, B, H * Dh); the fused kernels' output need not be contiguous
    out = out.permute(2, 0, 1, 3).reshape(tq, bsz, embed)
    return attn.out_proj(out)


def _sdpa_forward(attn, original, query, key=None, value=None, key_padding_mask=None, incremental_state=None,
                  need_weights=True, static_kv=False, attn_mask=None, before_softmax=False,
                  need_head_weights=False):
    if (need_head_weights or incremental_state is not None or static_kv or attn_mask is not None
            or before_softmax or attn.bias_k is not None or attn.add_zero_attn or attn.training
            or (key is not None and key is not query) or (value is not None and value is not query)):
        return original(query, key, value, key_padding_mask=key_padding_mask,
                        incremental_state=incremental_state, need_weights=need_weights, static_kv=static_kv,
                        attn_mask=attn_mask, before_softmax=before_softmax, need_head_weights=need_head_weights)
    return _attend(attn, query, query, key_padding_mask), None


@contextlib.contextmanager
def sdpa_attention(model) -> Iterator[bool]:
    """Within the block, ``model``'s self-attention runs through SDPA and its GELU through torch's fused
    ``gelu`` (fair-esm's is the same erf formula written out in five tensor operations); yields whether
    this applies to ``model``."""
    if not is_fair_esm(model):
        yield False
        return
    import esm.modules
    import torch.nn.functional as F

    written_out = esm.modules.gelu
    esm.modules.gelu = F.gelu  # the exact (erf) GELU; fair-esm's layers and LM head look it up here
    patched = []
    for layer in model.layers:
        attn = layer.self_attn
        original = attn.forward

        def forward(*args, _attn=attn, _original=original, **kwargs):
            return _sdpa_forward(_attn, _original, *args, **kwargs)

        attn.forward = forward
        patched.append(attn)
    try:
        yield True
    finally:
        esm.modules.gelu = written_out
        for attn in patched:
            del attn.forward  # the class's method again


class _LastLayerInput(Exception):
    """Carries the hidden states entering the last layer out of fair-esm's forward pass."""

    def __init__(self, x, padding_mask):
        super().__init__()
        self.x = x
        self.padding_mask = padding_mask


def logits_at_rows(model, tokens, rows: Sequence) -> list:
    """Logits of ``tokens`` (B, T) at ``rows[b]`` (token indices of item ``b``) only: a list of (n_b, V).

    The model's own forward pass runs up to the last layer (so embeddings, token dropout, learned or
    rotary positions and padding are fair-esm's); the last layer, final layer norm and LM head then run on
    the rows read.
    """
    import torch
    import torch.nn.functional as F

    last = model.layers[-1]

    def stop(_module, args, kwargs):
        raise _LastLayerInput(args[0] if args else kwargs["x"], kwargs.get("self_attn_padding_mask"))

    handle = last.register_forward_pre_hook(stop, with_kwargs=True)
    try:
        model(tokens)
        raise RuntimeError("the model's forward pass did not reach its last layer")
    except _LastLayerInput as captured:
        x, padding_mask = captured.x, captured.padding_mask  # (T, B, E)
    finally:
        handle.remove()
    width = max(len(r) for r in rows)
    index = torch.stack([torch.as_tensor(list(r) + [r[-1]] * (width - len(r)), device=x.device) for r in rows])
    outputs = []
    normed = last.self_attn_layer_norm(x)
    items = torch.arange(x.shape[1], device=x.device)
    gathered = x[index.T, items]  # (R, B, E): each item's own rows
    queries = normed[index.T, items]
    if bool((index == index[:1]).all()):  # every item reads the same rows: one attention call
        attended = _attend(last.self_attn, queries, normed, padding_mask, index[0])
    else:  # masked copies read one row each, at different places: per item (the rows differ in position)
        attended = torch.cat([_attend(last.self_attn, queries[:, b:b + 1], normed[:, b:b + 1],
                                      None if padding_mask is None else padding_mask[b:b + 1], index[b])
                              for b in range(x.shape[1])], dim=1)
    h = gathered + attended
    h = h + last.fc2(F.gelu(last.fc1(last.final_layer_norm(h))))
    logits = model.lm_head(model.emb_layer_norm_after(h).transpose(0, 1))  # (B, R, V)
    for b, r in enumerate(rows):
        outputs.append(logits[b, : len(r)])
    return outputs
