"""`python -m edge`: one edge process, serving until SIGTERM/SIGINT."""

from __future__ import annotations

import sys

from edge.run import run_edge

sys.exit(run_edge())
