"""The user manual: HTML pages shown by Help > User Manual (F1), read through importlib.resources."""
