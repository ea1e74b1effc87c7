"""Every model a user can pick: the registry's (:mod:`protein_studio.models.registry`) and the Hugging Face
snapshots imported under names of their own (:mod:`protein_studio.models.snapshots`), by name."""

from __future__ import annotations

from protein_studio.core.errors import UserError
from protein_studio.models.registry import RANDOM_MODELS_ENV, builtin_models, is_builtin_name
from protein_studio.models.spec import ModelSpec

__all__ = ["all_models", "get_spec"]


def all_models(task: str | None = None) -> list[ModelSpec]:
    """Every model a user can pick, optionally only those for ``task``.

    Parameters
    ----------
    task : {"scoring", "folding", "generation"}, optional

    Returns
    -------
    list of ModelSpec
        Real models first, then random-weight ones (only when random models are enabled), then Hugging
        Face snapshots imported under names of their own (their folders are read from the weights folder).
    """
    from protein_studio.models.snapshots import imported_hf_models

    specs = builtin_models(task)
    return specs + [s for s in imported_hf_models() if task is None or s.task == task]


def get_spec(name: str) -> ModelSpec:
    """The model called ``name``: a registry model, else an imported Hugging Face snapshot.

    Raises
    ------
    UserError
        Unknown name (the message lists the known names); for a random-weight name while random models
        are disabled, the message says how to enable them.
    """
    for spec in builtin_models():
        if spec.name == name:
            return spec
    if is_builtin_name(name):  # a random model while they are disabled
        raise UserError(f"model {name!r} has random weights and exists only when "
                        f"{RANDOM_MODELS_ENV}=1 is set")
    specs = all_models()
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in specs)
    raise UserError(f"unknown model {name!r}; known models: {known}")
