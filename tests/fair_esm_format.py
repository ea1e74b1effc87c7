"""Checkpoints written in fair-esm's published format, for the model tests."""

from __future__ import annotations

import argparse
from pathlib import Path

REGRESSION_KEYS = ("contact_head.regression.weight", "contact_head.regression.bias")


def fair_esm_checkpoint(model, family: str) -> tuple[dict, dict]:
    """Split a fair-esm module into the two dicts fair-esm publishes: checkpoint and contact regression.

    Key names carry the fairseq prefixes of the published files (``encoder.sentence_encoder.`` for the
    body, ``encoder.`` for the LM head) and the settings are an ``argparse.Namespace`` under
    ``cfg["model"]`` (ESM-2) or ``args`` (ESM-1b/ESM-1v), with fairseq's ``encoder_`` argument names.
    """
    state = {}
    regression = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().clone()
        if key in REGRESSION_KEYS:
            regression[key] = tensor
        elif key.startswith("lm_head."):
            state[f"encoder.{key}"] = tensor
        else:
            state[f"encoder.sentence_encoder.{key}"] = tensor
    if family == "esm2":
        cfg = argparse.Namespace(encoder_layers=model.num_layers, encoder_embed_dim=model.embed_dim,
                                 encoder_attention_heads=model.attention_heads, token_dropout=True)
        data = {"model": state, "cfg": {"model": cfg}}
    else:
        args = model.args
        data = {"model": state, "args": argparse.Namespace(
            arch="roberta_large", encoder_layers=args.layers, encoder_embed_dim=args.embed_dim,
            encoder_ffn_embed_dim=args.ffn_embed_dim, encoder_attention_heads=args.attention_heads,
            max_positions=args.max_positions, token_dropout=args.token_dropout)}
    return data, {"model": regression}


def save_fair_esm_checkpoint(model, family: str, path: Path, with_regression: bool = True) -> Path:
    """Write ``model`` as ``path`` (+ ``<stem>-contact-regression.pt``) in fair-esm's format."""
    import torch

    data, regression = fair_esm_checkpoint(model, family)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    if with_regression:
        torch.save(regression, path.with_name(path.stem + "-contact-regression.pt"))
    return path
