"""Model registry, weights on disk (download / import / remove) and safe loading. No Qt.

torch, esm and transformers are imported lazily, inside the functions that need them.
"""
