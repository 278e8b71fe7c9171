"""Path templates: the grammar of google/api/http.proto, refusals, and matching with the
percent-decoding rules it sets for single- and multi-segment variables."""

from __future__ import annotations

import pytest

from edge.rest.pattern import (
    DOUBLE_STAR,
    STAR,
    PathTemplate,
    PathValueError,
    TemplateError,
    Variable,
    split_path,
)


@pytest.mark.parametrize(
    ("text", "segments", "variables", "verb", "openapi"),
    [
        ("/api/v1/users/me", ("api", "v1", "users", "me"), (), "", "/api/v1/users/me"),
        (
            "/api/v1/users/{user_id}",
            ("api", "v1", "users", STAR),
            (Variable(("user_id",), 3, 1),),
            "",
            "/api/v1/users/{user_id}",
        ),
        (
            "/v1/{parent.child.id}/x",
            ("v1", STAR, "x"),
            (Variable(("parent", "child", "id"), 1, 1),),
            "",
            "/v1/{parent.child.id}/x",
        ),
        (
            "/v1/{name=shelves/*/books/*}",
            ("v1", "shelves", STAR, "books", STAR),
            (Variable(("name",), 1, 4),),
            "",
            "/v1/{name}",
        ),
        (
            "/v1/{name=items/*}:cancel",
            ("v1", "items", STAR),
            (Variable(("name",), 1, 2),),
            "cancel",
            "/v1/{name}:cancel",
        ),
        ("/v1/{path=**}", ("v1", DOUBLE_STAR), (Variable(("path",), 1, -1),), "", "/v1/{path}"),
        (
            "/v1/{name=files/**}:get",
            ("v1", "files", DOUBLE_STAR),
            (Variable(("name",), 1, -1),),
            "get",
            "/v1/{name}:get",
        ),
        ("/v1/*/x/**", ("v1", STAR, "x", DOUBLE_STAR), (), "", "/v1/*/x/**"),
        (
            "/v1/{a}/{b=*}:batchGet",
            ("v1", STAR, STAR),
            (Variable(("a",), 1, 1), Variable(("b",), 2, 1)),
            "batchGet",
            "/v1/{a}/{b}:batchGet",
        ),
        ("/.well-known/jwks.json", (".well-known", "jwks.json"), (), "", "/.well-known/jwks.json"),
    ],
)
def test_templates_parse_into_segments_variables_and_verb(
    text: str,
    segments: tuple[str, ...],
    variables: tuple[Variable, ...],
    verb: str,
    openapi: str,
) -> None:
    template = PathTemplate.parse(text)
    assert template.text == text
    assert template.segments == segments
    assert template.variables == variables
    assert template.verb == verb
    assert template.openapi_path == openapi


def test_variable_spans_tell_single_from_multi_segment() -> None:
    template = PathTemplate.parse("/v1/{a}/{b=x/*}/{c=**}")
    a, b, c = template.variables
    assert (a.name, a.multi_segment) == ("a", False)
    assert (b.name, b.multi_segment) == ("b", True)
    assert (c.name, c.multi_segment) == ("c", True)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("v1/things", "must start with '/'"),
        ("/", "empty segment"),
        ("/v1//things", "empty segment"),
        ("/v1/things/", "empty segment"),
        ("/v1/{name", "'{' without '}'"),
        ("/v1/name}", "'}' without '{'"),
        ("/v1/{a={b}}", "variables cannot nest"),
        ("/v1/**/x", "'**' may only be the last segment"),
        ("/v1/{name=**}/x", "'**' may only be the last segment"),
        ("/v1/{a}/{a}", "variable 'a' appears twice"),
        ("/v1/{1st}", "is not a field path"),
        ("/v1/{a..b}", "is not a field path"),
        ("/v1/{}", "is not a field path"),
        ("/v1/{a=}", "empty segment in the variable"),
        ("/v1/{a=x//y}", "empty segment in the variable"),
        ("/v1/{a}x", "text after '}'"),
        ("/v1/x{a}", "is not a literal"),
        ("/v1/th*ngs", "is not a literal"),
        ("/v1/a b", "is not a literal"),
        ("/v1/caf%C3%A9", "is not a literal"),
        ("/v1/x:a:b", "more than one ':' verb"),
        ("/v1/x:do/more", "the ':' verb must come last"),
        ("/v1/x:", "verb '' is not a literal"),
        ("/v1/x:d*", "is not a literal"),
    ],
)
def test_invalid_templates_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(TemplateError) as refused:
        PathTemplate.parse(text)
    assert why in str(refused.value)
    assert refused.value.template == text


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("/v1/users/{user_id}", "/v1/users/u1", {"user_id": "u1"}),
        ("/v1/users/{user_id}", "/v1/users/u1/x", None),
        ("/v1/users/{user_id}", "/v1/users", None),
        ("/v1/users/{user_id}", "/v1/people/u1", None),
        ("/v1/users/me", "/v1/users/m%65", {}),  # literals compare decoded
        # A single-segment variable decodes everything, "%2F" included.
        ("/v1/items/{name}", "/v1/items/a%2Fb%20c", {"name": "a/b c"}),
        ("/v1/items/{name}", "/v1/items/caf%C3%A9", {"name": "café"}),
        ("/v1/items/{name}", "/v1/items/a+b", {"name": "a+b"}),  # "+" is not a space in a path
        # A multi-segment one keeps "%2F" (either case) and decodes the rest.
        ("/v1/{name=items/*}", "/v1/items/a%2Fb%20c", {"name": "items/a%2Fb c"}),
        ("/v1/{name=items/*}", "/v1/items/a%2fb", {"name": "items/a%2fb"}),
        ("/v1/{name=items/*}", "/v1/things/a", None),
        ("/v1/{path=**}", "/v1/a/b%2Fc/d", {"path": "a/b%2Fc/d"}),
        ("/v1/{path=**}", "/v1/a", {"path": "a"}),
        ("/v1/{path=**}", "/v1", {"path": ""}),  # `**` is zero or more segments
        ("/v1/{name=files/**}", "/v1/files/a/b", {"name": "files/a/b"}),
        ("/v1/{a}/x/{b=**}", "/v1/1/x/2/3", {"a": "1", "b": "2/3"}),
        ("/v1/{name}:cancel", "/v1/o1:cancel", {"name": "o1"}),
        ("/v1/{name}:cancel", "/v1/o1:undo", None),
        ("/v1/{name}:cancel", "/v1/o1", None),
        ("/v1/{name}", "/v1/o1:cancel", {"name": "o1:cancel"}),  # no verb: the colon is data
        ("/v1/{name}", "/v1/o1%3Acancel", {"name": "o1:cancel"}),
        ("/v1/{name=items/*}:get", "/v1/items/3:get", {"name": "items/3"}),
        ("/v1/things", "v1/things", None),
        ("/v1/things", "/v1//things", None),
        ("/v1/things", "/v1/things/", None),
    ],
)
def test_a_template_matches_paths_and_decodes_its_variables(
    text: str, path: str, expected: dict[str, str] | None
) -> None:
    assert PathTemplate.parse(text).match(path) == expected


def test_a_variable_that_is_not_utf8_once_decoded_is_named() -> None:
    with pytest.raises(PathValueError) as refused:
        PathTemplate.parse("/v1/items/{item.name}").match("/v1/items/%FF")
    assert refused.value.variable == "item.name"
    assert "UTF-8" in refused.value.why


def test_paths_read_with_a_verb_first_then_without() -> None:
    assert split_path("/v1/a:b") == [(["v1", "a"], "b"), (["v1", "a:b"], "")]
    assert split_path("/v1/a") == [(["v1", "a"], "")]
    assert split_path("/v1/:b") == [(["v1", ":b"], "")]
    assert split_path("/v1/a:") == [(["v1", "a:"], "")]
    assert split_path("/v1//a") == []
    assert split_path("relative") == []


def test_a_template_made_from_its_text_alone_is_parsed() -> None:
    made = PathTemplate("/v1/{name=items/*}:get", (Variable(("name",)),))
    assert made == PathTemplate.parse("/v1/{name=items/*}:get")
    assert made.openapi_path == "/v1/{name}:get"
    assert made.match("/v1/items/1:get") == {"name": "items/1"}
    with pytest.raises(TemplateError):
        PathTemplate("v1", ())
