"""Start Protein Studio (same as the `protein-studio` command)."""
import sys

from protein_studio.app import main

if __name__ == "__main__":
    sys.exit(main())
