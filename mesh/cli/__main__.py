"""`python -m mesh.cli`: the same as the `trademesh` command."""

from __future__ import annotations

import sys

from mesh.cli.main import main

sys.exit(main())
