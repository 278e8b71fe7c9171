from __future__ import annotations

import pytest

from mesh.infra.template import TemplateError, render


def test_fills_placeholders_and_leaves_nginx_variables_alone() -> None:
    text = "listen {{port}}; set $x $request_id; {{ name }}"
    assert render(text, {"port": 80, "name": "n"}) == "listen 80; set $x $request_id; n"


def test_missing_and_unused_values_are_errors() -> None:
    with pytest.raises(TemplateError, match="no value for \\['port'\\]"):
        render("{{port}}", {})
    with pytest.raises(TemplateError, match="not used"):
        render("{{port}}", {"port": 1, "extra": 2})
