"""Validate JSON against one component of a generated document with jsonschema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError


def errors(schemas: Mapping[str, Any], name: str, instance: Any) -> list[str]:
    """Every reason `instance` is not a valid `name`; empty when it is."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{name}",
        "components": {"schemas": dict(schemas)},
    }
    validator = Draft202012Validator(root, format_checker=FormatChecker())
    found: list[ValidationError] = list(validator.iter_errors(instance))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]
