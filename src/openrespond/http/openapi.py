"""The OpenAPI document, refined where msgspec's constraints cannot say everything.

Litestar derives the schema from the wire models; this adds what the server checks but the
models cannot express: string formats (email, E.164 phone, contact identifier), the ISO code
lists, and the rules that tie fields together (custom-field ``dataType``/``type``, merge ids).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from openrespond.validation import COUNTRY_CODES, LANGUAGE_CODES

__all__ = ["RefinedJsonPlugin", "RefinedSwaggerPlugin", "refine"]

URL_PATTERN = r"^(https?://[^\s/?#]+[^\s]*)?$"
NON_BLANK = r"\S"
_CONTACT_BODIES = ("ContactFields", "ContactCreate", "MergeBody")
_TAG_NAMES = {
    "type": "array",
    "minItems": 1,
    "maxItems": 10,
    "items": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": NON_BLANK},
}


def _string(prop: dict[str, Any]) -> dict[str, Any]:
    """The part of a property schema that describes its string values."""
    if prop.get("type") == "string":
        return prop
    for branch in prop.get("oneOf", []):
        if branch.get("type") == "string":
            branch_schema: dict[str, Any] = branch
            return branch_schema
    return prop


def _contact_fields(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    _string(props["email"])["format"] = "email"
    _string(props["phone"])["format"] = "e164"
    _string(props["language"])["enum"] = sorted(LANGUAGE_CODES)
    _string(props["countryCode"])["enum"] = sorted(COUNTRY_CODES)
    _string(props["profilePic"])["pattern"] = URL_PATTERN


def _custom_field_create(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    for key in ("allowedValues", "options"):
        for branch in props[key].get("oneOf", [props[key]]):
            if branch.get("type") == "array":
                branch["uniqueItems"] = True
    is_list = {
        "anyOf": [
            {"required": ["dataType"], "properties": {"dataType": {"const": "list"}}},
            {"required": ["type"], "properties": {"type": {"const": "list"}}},
        ]
    }
    values = {"type": "array", "minItems": 1}
    no_values = {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]}
    schema["allOf"] = [
        {"oneOf": [{"required": ["dataType"]}, {"required": ["type"]}]},
        {"not": {"required": ["allowedValues", "options"]}},
        {
            "if": is_list,
            "then": {
                "anyOf": [
                    {"required": ["allowedValues"], "properties": {"allowedValues": values}},
                    {"required": ["options"], "properties": {"options": values}},
                ]
            },
            "else": {"properties": {"allowedValues": no_values, "options": no_values}},
        },
    ]
    props["dataType"] = {"type": "string", "enum": _enum(props["dataType"])}
    props["type"] = {"type": "string", "enum": _enum(props["type"])}


def _enum(prop: dict[str, Any]) -> list[str]:
    for branch in prop.get("oneOf", [prop]):
        if "enum" in branch:
            return [v for v in branch["enum"] if v is not None]
    raise KeyError("enum")


def _merge_body(schema: dict[str, Any]) -> None:
    ids = schema["properties"]["contactIds"]
    ids["uniqueItems"] = True
    ids["items"] = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    schema["anyOf"] = [
        {"required": ["contactIds"]},
        {"required": ["primaryContactId", "secondaryContactId"]},
    ]
    schema["dependentRequired"] = {
        "primaryContactId": ["secondaryContactId"],
        "secondaryContactId": ["primaryContactId"],
    }
    schema["not"] = {"anyOf": [{"required": ["contactIds", k]} for k in ("primaryContactId", "secondaryContactId")]}


def _tag_name_bodies(doc: dict[str, Any]) -> None:
    for path in doc["paths"].values():
        for op in path.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for branch in body.get("schema", {}).get("oneOf", []):
                if branch.get("type") == "array" and branch.get("items", {}).get("type") == "string":
                    branch.update(_TAG_NAMES)


def refine(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the server's remaining rules to Litestar's document (idempotent, in place)."""
    schemas = doc["components"]["schemas"]
    for name in _CONTACT_BODIES:
        _contact_fields(schemas[name])
    _string(schemas["UserCreate"]["properties"]["email"])["format"] = "email"
    _custom_field_create(schemas["CustomFieldCreate"])
    _merge_body(schemas["MergeBody"])
    schemas["TagsBody"]["properties"]["tags"] = dict(_TAG_NAMES)
    _tag_name_bodies(doc)
    return doc


class RefinedJsonPlugin(JsonRenderPlugin):
    """Serves the refined document as JSON."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, refine(openapi_schema))


class RefinedSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI over the refined document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, refine(openapi_schema))
