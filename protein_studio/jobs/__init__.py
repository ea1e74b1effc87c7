"""Qt-free job plumbing: the context a long computation reports through."""

from protein_studio.jobs.context import JobContext, NullContext

__all__ = ["JobContext", "NullContext"]
