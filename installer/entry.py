"""The bundled application's entry point: the same ``protein_studio.app.main`` as the ``protein-studio``
command (the window, or a subcommand such as ``info``)."""

import sys

from protein_studio.app import main

if __name__ == "__main__":
    sys.exit(main())
