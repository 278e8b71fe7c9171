"""The version table is the one source: the Consul wrapper module must build what it names."""

from __future__ import annotations

import re

from mesh.infra import paths, versions


def test_consul_wrapper_requires_the_pinned_version() -> None:
    go_mod = (paths.repo_root() / "consul" / "build" / "go.mod").read_text()
    required = re.search(r"^require github\.com/hashicorp/consul v(\S+)$", go_mod, re.M)
    assert required is not None
    assert required.group(1) == versions.CONSUL
