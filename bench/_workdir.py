"""A benchmark's scratch directory: removed when the run succeeds, kept (and named) for its
logs when it fails."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="trademesh-bench-"))
    try:
        yield path
    except BaseException:
        print(f"the run failed; its logs are under {path}", file=sys.stderr)
        raise
    shutil.rmtree(path, ignore_errors=True)
