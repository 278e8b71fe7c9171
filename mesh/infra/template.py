"""Fill `{{name}}` placeholders in config templates (nginx uses `$` for its own variables)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class TemplateError(ValueError):
    pass


def render(text: str, values: Mapping[str, object], *, source: str = "template") -> str:
    used = set(_PLACEHOLDER.findall(text))
    missing = used - values.keys()
    if missing:
        raise TemplateError(f"{source}: no value for {sorted(missing)}")
    unused = values.keys() - used
    if unused:
        raise TemplateError(f"{source}: {sorted(unused)} not used by the template")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)


def render_file(template: Path, target: Path, values: Mapping[str, object]) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render(template.read_text(), values, source=str(template))
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(target)
    return target
