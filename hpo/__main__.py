"""``python -m hpo`` runs the command line."""

import sys

from hpo.cli import main

sys.exit(main())
