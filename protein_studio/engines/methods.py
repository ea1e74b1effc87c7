"""The names of the scoring methods (no imports: the command line's parsers use them before any engine
is loaded)."""

__all__ = ["STRATEGIES", "MULTI_METHODS", "PRECISIONS", "FEATURES", "REGRESSORS", "CV_SCHEMES",
           "STRUCTURE_GP_MODEL"]

#: single-site strategies: one pass per masked position, or one pass on the wild type
STRATEGIES = ("masked-marginals", "wt-marginals")
#: how a multi-mutant is scored: the sum of its single-site scores, or all its positions masked at once
MULTI_METHODS = ("additive", "joint")
#: ``--precision`` choices: auto (float16 on a CUDA GPU, float32 elsewhere) or a fixed one
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: supervised models: features of a variant, regressors, ProteinGym's cross-validation schemes
FEATURES = ("onehot", "embeddings", "zeroshot")
REGRESSORS = ("ridge", "gp", "structure-gp")
#: the ProteinMPNN weights the structure-aware GP reads a structure with (vanilla, 0.20 A backbone noise)
STRUCTURE_GP_MODEL = "proteinmpnn-v48-020"
CV_SCHEMES = ("random", "contiguous", "modulo")
