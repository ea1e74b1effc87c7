"""Documents: one protein as the window and the command line hold it (:mod:`.document`), its scans
(:mod:`.scans`), the session of open documents with the events views listen to (:mod:`.session`), and the
selection every view shares (:mod:`.selection`).

May import: the ground modules of :mod:`protein_studio.core` and :mod:`protein_studio.core.molecules`.
"""
