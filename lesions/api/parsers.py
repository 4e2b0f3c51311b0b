"""The API's JSON parser: bounded in size and in nesting before anything is parsed.

Python's json module recurses once per nested array or object, so a few kilobytes of
``[[[[…]]]]`` exhaust the interpreter's stack (RecursionError, a 500). No request of this
API nests deeper than a handful of levels; ``MAX_DEPTH`` leaves room and refuses the rest
with a 400 in the error shape. A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

MAX_DEPTH = 32
_OPENERS, _CLOSERS = frozenset("[{"), frozenset("]}")


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"A JSON body may have at most {limit // 1024} KB.")


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, strings skipped (one pass, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSERS:
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            raw = b""
        elif limit is None:
            raw = stream.read()
        else:
            raw = stream.read(limit + 1)  # never more than one byte past the limit
            if len(raw) > limit:
                raise too_large(limit)
        try:
            text = raw.decode(get_encoding(parser_context or {}))
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if nesting_depth(text) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        try:
            constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
