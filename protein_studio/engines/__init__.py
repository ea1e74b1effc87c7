"""Engines: pure functions of (inputs, loaded model, JobContext) -> result dataclasses.

Scoring (ESM marginals, pseudo-likelihood, multi-mutants, windows), folding (ESMFold), generation
(causal protein language model) and device handling. No Qt; torch, esm and transformers are imported
lazily inside the functions that need them.
"""
