"""The edge's generated API documents: OpenAPI 3.1 for REST, AsyncAPI 3 for Socket.IO, both
read from the contracts' descriptors, and the `/docs` page that shows them offline."""

from __future__ import annotations

from edge.docs.asyncapi import asyncapi_document
from edge.docs.comments import comments_from_files
from edge.docs.openapi import openapi_document
from edge.docs.page import docs_routes
from edge.docs.schemas import SchemaSet
from edge.docs.sources import source_comments

__all__ = [
    "SchemaSet",
    "asyncapi_document",
    "comments_from_files",
    "docs_routes",
    "openapi_document",
    "source_comments",
]
