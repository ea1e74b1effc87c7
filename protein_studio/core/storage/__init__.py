"""Storage: what is kept on disk. Projects (one SQLite file per design session, :mod:`.project`), autosave
and crash recovery (:mod:`.autosave`), user settings (:mod:`.settings`) and exported tables and FASTA
(:mod:`.export`).

May import: every other part of :mod:`protein_studio.core` (it stores what they make); none of them imports
it, except through the ground modules.
"""
