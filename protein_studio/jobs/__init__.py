"""Jobs that run engines over many inputs: batch work (:mod:`.batch`) on this machine or a Ray cluster.

No Qt. The context every job reports through (progress, partial results, cancel) is
:mod:`protein_studio.core.job_context`, below the models and engines that report through it.
"""
