"""Protein Studio: sequence, structure and language-model mutation scanning on your own machine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
