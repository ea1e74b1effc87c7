"""Molecules: protein sequences (FASTA), structures (PDB, mmCIF, BinaryCIF), mutations and their notation,
numbering (the one map between sequence positions, structure residues and the labels users read) and
structure tokens (foldseek 3Di).

May import: the ground modules of :mod:`protein_studio.core` (errors, files, formats, units, tables,
provenance, job_context), numpy and biotite. Nothing from the other core subpackages.
"""
