"""The entry of the child process preparing an ingest's chunks (:mod:`groupops.ingest.overlap`;
its own module, so the pickled classes are :mod:`groupops.ingest.overlap`'s, never ``__main__``'s)."""

import sys

from groupops.ingest.overlap import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
