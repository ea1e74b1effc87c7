"""Qt-free, torch-free domain layer, by domain:

* :mod:`.molecules`: sequences, structures, mutations, numbering, structure tokens;
* :mod:`.documents`: a protein as the application holds it, its scans, the session, the selection;
* :mod:`.assays`: measured tables, measurements on a document, metrics;
* :mod:`.cloning`: genes, codons, variant libraries, primers, order sheets;
* :mod:`.storage`: projects, autosave and recovery, settings, exports.

They stand on the ground modules here, which import nothing else of the package: :mod:`.errors` (messages
for the user), :mod:`.files` (reading user files safely, writing atomically), :mod:`.formats` (file
endings), :mod:`.units`, :mod:`.tables` (CSV), :mod:`.provenance` and :mod:`.job_context` (the protocol
long work reports progress, partial results and cancellation through). The order molecules < documents <
assays, cloning < storage is an import contract (``pyproject.toml``, checked by ``make test``).

Importing biotite imports its plotting helpers, which import matplotlib (0.15 s of every command's start)
only to define one arrow class for its plasmid maps, which Protein Studio never draws. While biotite's
``visualize`` module loads, matplotlib is reported missing to it alone (it is written to carry on without);
everyone else, our own plots included, imports matplotlib as usual.
"""

import sys as _sys


class _NoMatplotlibForBiotiteVisualize:
    """A meta-path finder that refuses ``matplotlib`` while ``biotite.visualize`` is being imported."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] != "matplotlib" or "matplotlib" in _sys.modules:
            return None
        frame = _sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename.replace("\\", "/").endswith("biotite/visualize.py"):
                raise ImportError("matplotlib is not loaded for biotite's plotting helpers (see protein_studio.core)")
            frame = frame.f_back
        return None


if not any(isinstance(f, _NoMatplotlibForBiotiteVisualize) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _NoMatplotlibForBiotiteVisualize())
