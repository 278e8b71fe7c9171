"""Where things live: the repository, the tool cache and the per-checkout state dir."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import mesh


def repo_root() -> Path:
    """The checkout this package is installed from (editable install)."""
    return Path(mesh.__file__).resolve().parent.parent


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Downloaded and built tools, pinned by version: `$TRADEMESH_HOME` or ~/.cache/trademesh."""
    home = (os.environ if environ is None else environ).get("TRADEMESH_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "trademesh"


def state_dir() -> Path:
    """Pid files, logs and data of running components: `$TRADEMESH_STATE_DIR` or .trademesh/."""
    explicit = os.environ.get("TRADEMESH_STATE_DIR")
    return Path(explicit).expanduser() if explicit else repo_root() / ".trademesh"
