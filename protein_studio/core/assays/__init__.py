"""Assays: measured data. Deep-mutational-scan and assay tables (:mod:`.dms`), measurements mapped onto a
document through its numbering (:mod:`.measurements`), and the metrics that compare predictions with them
(:mod:`.metrics`: Spearman, NDCG, top-fraction recall, as ProteinGym computes them).

May import: the ground modules of :mod:`protein_studio.core`, :mod:`~protein_studio.core.molecules` and
:mod:`~protein_studio.core.documents`.
"""
