"""Resources of Protein Studio, installed as the package ``protein_studio.resources`` (the top-level folder
``resources/`` is mapped onto it in ``pyproject.toml``), so :mod:`importlib.resources` finds them in a source
checkout, an installed wheel and the bundled application alike:

* ``demo/``: the demo protein, TEM-1 beta-lactamase (its UniProt sequence, the 1BTL structure and the
  Ambler numbering table; provenance in ``demo/README.md``);
* ``help/``: the user manual's pages (Help > User Manual, F1);
* ``web/``: the 3D viewer's page; ``web/vendor/3Dmol-min.js`` is fetched at set-up, never committed;
* ``desktop/``: the desktop entry and icon of the Linux bundle;
* ``codon_tables/``: codon usage the package index's python-codon-tables lacks (*Pichia pastoris*; provenance
  in ``codon_tables/README.md``).
"""
