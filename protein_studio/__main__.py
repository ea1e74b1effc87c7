import sys

from protein_studio.app import main

sys.exit(main())
