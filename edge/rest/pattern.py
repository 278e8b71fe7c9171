"""`google.api.http` path templates: parsed per the grammar of google/api/http.proto and bound
to request paths segment by segment, percent-decoded as http.proto says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

STAR = "*"  # exactly one segment
DOUBLE_STAR = "**"  # zero or more segments; only last, before the verb

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 3986 pchar less "%" (templates name segments, they do not escape them) and ":" (verb).
_LITERAL = re.compile(r"[A-Za-z0-9\-._~!$&'()+,;=@]+")
_SLASH_ESCAPE = re.compile(r"(%2[Ff])")


class TemplateError(ValueError):
    """A path template the grammar of google/api/http.proto refuses."""

    def __init__(self, template: str, why: str) -> None:
        super().__init__(f"path template {template!r}: {why}")
        self.template = template
        self.why = why


class PathValueError(ValueError):
    """A path variable whose percent-decoded value is not text."""

    def __init__(self, variable: str, why: str) -> None:
        super().__init__(f"{variable}: {why}")
        self.variable = variable
        self.why = why


@dataclass(frozen=True)
class Variable:
    """A path variable: `{user_id}` or `{name=items/*}`, bound to a (nested) request field."""

    field_path: tuple[str, ...]  # proto field names from the request message: ("user", "id")
    first: int = 0  # index of its first segment in the template
    count: int = 1  # how many segments it spans; -1: to the end of the path (`**`)

    @property
    def name(self) -> str:
        """Dotted, as the template writes it: `user.id`."""
        return ".".join(self.field_path)

    @property
    def multi_segment(self) -> bool:
        """Whether its value may hold `/`; such values keep `%2F` escaped (http.proto)."""
        return self.count != 1


@dataclass(frozen=True)
class PathTemplate:
    text: str  # as the annotation writes it: "/api/v1/users/{user_id}"
    variables: tuple[Variable, ...]
    segments: tuple[str, ...] = ()  # each a literal, STAR or DOUBLE_STAR, variables expanded
    verb: str = ""  # the custom verb after the last ":", without it

    def __post_init__(self) -> None:
        # Built from its text alone (`PathTemplate("/v1/{name}", ...)`): parsed here, so a
        # template is whole however it was made.
        if not self.segments:
            parsed = _Parser(self.text).parse()
            object.__setattr__(self, "variables", parsed.variables)
            object.__setattr__(self, "segments", parsed.segments)
            object.__setattr__(self, "verb", parsed.verb)

    @property
    def openapi_path(self) -> str:
        """The path as OpenAPI writes it: each variable as `{dotted.name}`."""
        parts: list[str] = []
        index = 0
        starts = {variable.first: variable for variable in self.variables}
        while index < len(self.segments):
            variable = starts.get(index)
            if variable is None:
                parts.append(self.segments[index])
                index += 1
            else:
                parts.append("{" + variable.name + "}")
                index = len(self.segments) if variable.count < 0 else index + variable.count
        return "/" + "/".join(parts) + (":" + self.verb if self.verb else "")

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        return _Parser(text).parse()

    def bind(self, raw_segments: list[str]) -> dict[str, str]:
        """The variables' values from the segments of a path this template matches (still
        percent-encoded, verb removed), keyed by dotted field path."""
        values: dict[str, str] = {}
        for variable in self.variables:
            # A variable ending in `**` takes whatever the path has left.
            end = len(raw_segments) if variable.count < 0 else variable.first + variable.count
            parts = raw_segments[variable.first : end]
            values[variable.name] = "/".join(
                _decode(part, variable.name, keep_slash=variable.multi_segment) for part in parts
            )
        return values

    def match(self, path: str) -> dict[str, str] | None:
        """This template alone against a percent-encoded path: the variables, or None. The
        route table does not call this per route; it walks a trie of all templates."""
        for segments, verb in split_path(path):
            if verb != self.verb or not _fits(self.segments, segments):
                continue
            return self.bind(segments)
        return None


def split_path(path: str) -> list[tuple[list[str], str]]:
    """The ways to read a percent-encoded path as (segments, verb), a verb first: the last
    segment `name:cancel` reads as `name` with verb `cancel`, or as `name:cancel` without one.
    No reading at all for a path that is not absolute or has an empty segment."""
    if not path.startswith("/"):
        return []
    segments = path[1:].split("/")
    if "" in segments:
        return []
    readings: list[tuple[list[str], str]] = []
    last = segments[-1]
    colon = last.rfind(":")
    if colon > 0 and colon < len(last) - 1:
        readings.append(([*segments[:-1], last[:colon]], last[colon + 1 :]))
    readings.append((segments, ""))
    return readings


def literal_key(raw_segment: str) -> str:
    """The text a raw segment is compared with literals as (fully percent-decoded)."""
    return unquote(raw_segment, errors="replace") if "%" in raw_segment else raw_segment


def _fits(template: tuple[str, ...], segments: list[str]) -> bool:
    for index, expected in enumerate(template):
        if expected == DOUBLE_STAR:
            return True
        if index >= len(segments):
            return False
        if expected != STAR and expected != literal_key(segments[index]):
            return False
    return len(segments) == len(template)


def _decode(raw: str, variable: str, *, keep_slash: bool) -> str:
    if "%" not in raw:
        return raw
    try:
        if not keep_slash:
            return unquote(raw, errors="strict")
        parts = _SLASH_ESCAPE.split(raw)
        return "".join(
            part if index % 2 else unquote(part, errors="strict")
            for index, part in enumerate(parts)
        )
    except UnicodeDecodeError:
        raise PathValueError(variable, "is not valid UTF-8 once percent-decoded") from None


class _Parser:
    """Template = "/" Segments [ Verb ] ; Segments = Segment { "/" Segment } ;
    Segment = "*" | "**" | LITERAL | Variable ; Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ; Verb = ":" LITERAL ;"""

    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, why: str) -> TemplateError:
        return TemplateError(self.text, why)

    def parse(self) -> PathTemplate:
        text = self.text
        if not text.startswith("/"):
            raise self.fail("must start with '/'")
        path, verb = self._split_verb(text[1:])
        segments: list[str] = []
        variables: list[Variable] = []
        for raw in self._split_segments(path):
            if raw.startswith("{"):
                variables.append(self._variable(raw, len(segments), segments))
            else:
                segments.append(self._plain(raw, "segment"))
        for index, segment in enumerate(segments):
            if segment == DOUBLE_STAR and index != len(segments) - 1:
                raise self.fail("'**' may only be the last segment")
        names = [variable.name for variable in variables]
        for name in names:
            if names.count(name) > 1:
                raise self.fail(f"variable {name!r} appears twice")
        return PathTemplate(text, tuple(variables), tuple(segments), verb)

    def _split_verb(self, body: str) -> tuple[str, str]:
        depth = 0
        colon = -1
        for index, char in enumerate(body):
            if char == "{":
                depth += 1
                if depth > 1:
                    raise self.fail("variables cannot nest")
            elif char == "}":
                depth -= 1
                if depth < 0:
                    raise self.fail("'}' without '{'")
            elif char == ":" and depth == 0:
                if colon >= 0:
                    raise self.fail("more than one ':' verb")
                colon = index
        if depth:
            raise self.fail("'{' without '}'")
        if colon < 0:
            return body, ""
        verb = body[colon + 1 :]
        if "/" in verb:
            raise self.fail("the ':' verb must come last")
        if not _LITERAL.fullmatch(verb):
            raise self.fail(f"verb {verb!r} is not a literal")
        return body[:colon], verb

    def _split_segments(self, path: str) -> list[str]:
        parts: list[str] = []
        depth = 0
        start = 0
        for index, char in enumerate(path):
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif char == "/" and depth == 0:
                parts.append(path[start:index])
                start = index + 1
        parts.append(path[start:])
        for part in parts:
            if not part:
                raise self.fail("empty segment")
        return parts

    def _variable(self, raw: str, first: int, segments: list[str]) -> Variable:
        if not raw.endswith("}"):
            raise self.fail(f"{raw!r}: text after '}}' in the same segment")
        inner = raw[1:-1]
        field, has_pattern, pattern = inner.partition("=")
        field_path = tuple(field.split("."))
        if not all(_IDENT.fullmatch(part) for part in field_path):
            raise self.fail(f"{raw!r}: {field!r} is not a field path")
        if not has_pattern:
            segments.append(STAR)
            return Variable(field_path, first, 1)
        parts = pattern.split("/")
        if not all(parts):
            raise self.fail(f"{raw!r}: empty segment in the variable")
        for part in parts:
            segments.append(self._plain(part, f"{raw!r}: segment"))
        count = -1 if parts[-1] == DOUBLE_STAR else len(parts)
        return Variable(field_path, first, count)

    def _plain(self, raw: str, what: str) -> str:
        if raw in (STAR, DOUBLE_STAR):
            return raw
        if not _LITERAL.fullmatch(raw):
            raise self.fail(f"{what} {raw!r} is not a literal, '*', '**' or a variable")
        return raw
