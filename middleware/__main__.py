"""``python -m middleware serve|check FILE.ini``: see :mod:`middleware.serve`."""

import sys

from middleware.serve import main

if __name__ == "__main__":
    sys.exit(main())
