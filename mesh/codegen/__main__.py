"""Entry point of ``python -m mesh.codegen``."""

from __future__ import annotations

from mesh.codegen.cli import main

raise SystemExit(main())
