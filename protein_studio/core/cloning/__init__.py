"""Cloning: from chosen variants to DNA. Genes and plasmids and codon choice (:mod:`.dna`), variant
libraries (:mod:`.library`), mutagenesis primers, order sheets and plate maps (:mod:`.primers`).

May import: the ground modules of :mod:`protein_studio.core`, :mod:`~protein_studio.core.molecules` and
:mod:`~protein_studio.core.documents`.
"""
