"""``python -m bench.viewer``: run the viewer benchmark (see ``bench.viewer.run``)."""

from bench.viewer.run import main

raise SystemExit(main())
