"""The OpenAPI document, refined where msgspec's constraints cannot say everything.

Litestar derives the schema from the wire models; this adds what the server checks but the
models cannot express: string formats (email, E.164 phone, contact identifier), the ISO code
lists, and the rules that tie fields together (custom-field ``dataType``/``type``, merge ids).
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin

from openrespond.channels.settings import DRIVER_SOURCES
from openrespond.http.routing import MAX_ID
from openrespond.validation import (
    COUNTRY_CODES,
    E164_PATTERN,
    EMAIL_PATTERN,
    LANGUAGE_CODES,
    NON_BLANK,
    URL_PATTERN,
)

__all__ = ["RefinedJsonPlugin", "RefinedSwaggerPlugin", "refine"]

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


def _clearable(value: dict[str, Any]) -> dict[str, Any]:
    """``value``, or "" / null, both of which clear the field."""
    return {"anyOf": [value, {"type": "string", "maxLength": 0}, {"type": "null"}]}


def _contact_fields(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    props["email"] = _clearable({"type": "string", "format": "email", "maxLength": 254})
    props["phone"] = _clearable({"type": "string", "format": "e164", "pattern": E164_PATTERN})
    props["profilePic"] = _clearable({"type": "string", "pattern": URL_PATTERN, "maxLength": 2048})
    _string(props["language"])["enum"] = sorted(LANGUAGE_CODES)
    _string(props["countryCode"])["enum"] = sorted(COUNTRY_CODES)


def _custom_field_create(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    for key in ("allowedValues", "options"):
        for branch in props[key].get("oneOf", [props[key]]):
            if branch.get("type") == "array":
                branch["uniqueItems"] = True
                branch["items"] = {"type": "string", "minLength": 1, "maxLength": 255}
    is_list = {
        "anyOf": [
            {"required": ["dataType"], "properties": {"dataType": {"const": "list"}}},
            {"required": ["type"], "properties": {"type": {"const": "list"}}},
        ]
    }
    values = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "minLength": 1, "maxLength": 255},
    }
    wrapped = {"type": "object", "required": ["listValues"], "properties": {"listValues": values}}
    empty = {"type": "array", "maxItems": 0}
    no_values = {
        "anyOf": [
            {"type": "null"},
            empty,
            {"type": "object", "properties": {"listValues": empty}},
        ]
    }
    schema["allOf"] = [
        {"oneOf": [{"required": ["dataType"]}, {"required": ["type"]}]},
        {
            "not": {
                "required": ["allowedValues", "options"],
                "properties": {
                    "allowedValues": {"type": ["array", "object"]},
                    "options": {"type": "array"},
                },
            }
        },
        {
            "if": is_list,
            "then": {
                "anyOf": [
                    {
                        "required": ["allowedValues"],
                        "properties": {"allowedValues": {"anyOf": [values, wrapped]}},
                    },
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
    ids["items"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    schema["anyOf"] = [
        {"required": ["contactIds"]},
        {"required": ["primaryContactId", "secondaryContactId"]},
    ]
    schema["dependentRequired"] = {
        "primaryContactId": ["secondaryContactId"],
        "secondaryContactId": ["primaryContactId"],
    }
    schema["not"] = {
        "anyOf": [
            {"required": ["contactIds", k]} for k in ("primaryContactId", "secondaryContactId")
        ]
    }


def _identifier(kinds: tuple[str, ...]) -> dict[str, Any]:
    patterns = {
        "id": r"^id:[1-9][0-9]{0,14}(?!\n)$",
        "email": "^email:" + EMAIL_PATTERN[1:],
        "phone": "^phone:" + E164_PATTERN[1:],
    }
    return {
        "type": "string",
        "format": "contact-identifier",
        "maxLength": 260,
        "anyOf": [{"pattern": patterns[k]} for k in kinds],
    }


def _identifier_parameters(doc: dict[str, Any]) -> None:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for param in op.get("parameters", []):
                if param["name"] == "identifier" and param["in"] == "path":
                    creates = path == "/v2/contact/{identifier}" and method == "post"
                    param["schema"] = _identifier(
                        ("email", "phone") if creates else ("id", "email", "phone")
                    )


# Operations that take a contact identifier, reachable from any answer carrying contactId.
_CONTACT_TARGETS = {
    "getContact": "GET",
    "updateContact": "PUT",
    "deleteContact": "DELETE",
    "addContactTags": "POST",
    "removeContactTags": "DELETE",
    "updateLifecycle": "POST",
    "listContactChannels": "GET",
    "sendMessage": "POST",
    "listMessages": "GET",
    "updateConversationStatus": "POST",
    "assignConversation": "POST",
    "createComment": "POST",
}


def _links(doc: dict[str, Any]) -> None:
    """OpenAPI links from every answer with a contactId to the operations on that contact."""
    links = {
        op_id: {
            "operationId": op_id,
            "parameters": {"identifier": "id:{$response.body#/contactId}"},
        }
        for op_id in _CONTACT_TARGETS
    }
    for item in doc["paths"].values():
        for op in item.values():
            ok = op.get("responses", {}).get("200", {})
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").rsplit("/", 1)[-1] in ("ContactId", "ContactCreated"):
                ok["links"] = links


# Operations whose body names other objects of the workspace (a channel): on a fresh
# workspace they answer 404 for that object, not for the workspace, so no link leads there.
_NEEDS_MORE_THAN_A_WORKSPACE = ("/control/workspaces/{wid}/sandbox/incoming",)


def _workspace_links(doc: dict[str, Any]) -> None:
    """Links from a created workspace to the control operations on it."""
    links = {}
    for path, item in doc["paths"].items():
        if path in _NEEDS_MORE_THAN_A_WORKSPACE:
            continue
        if path.startswith("/control/workspaces/{wid}") and path.count("{") == 1:
            for op in item.values():
                links[op["operationId"]] = {
                    "operationId": op["operationId"],
                    "parameters": {"wid": "$response.body#/id"},
                }
    create = doc["paths"]["/control/workspaces"]["post"]
    create["responses"]["200"]["links"] = links


def _tag_name_bodies(doc: dict[str, Any]) -> None:
    for path in doc["paths"].values():
        for op in path.values():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for branch in body.get("schema", {}).get("oneOf", []):
                if (
                    branch.get("type") == "array"
                    and branch.get("items", {}).get("type") == "string"
                ):
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
    _identifier_parameters(doc)
    for path in ("/healthz", "/readyz", "/metrics"):  # Litestar drops an empty security list
        doc["paths"][path]["get"]["security"] = []
    _links(doc)
    _workspace_links(doc)
    _messages(schemas)
    optional = (
        "/v2/contact/list",
        "/v2/contact/{identifier}/lifecycle/update",
        "/control/workspaces/{wid}/sandbox/reset",
    )
    for path in optional:
        doc["paths"][path]["post"]["requestBody"]["required"] = False
    _channel_create(schemas["ChannelCreate"])
    _paging_parameters(doc)
    _booleans(schemas)
    _no_nul(doc)
    return doc


# How request bodies may spell a boolean: JSON true/false, and as the body decoder also reads
# them, 0/1 and "true"/"false"/"1"/"0" in any case.
_BOOLEAN = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[01])$"},
    ]
}


def _booleans(schemas: dict[str, Any]) -> None:
    for name in ("WebhookCreate", "WebhookUpdate"):
        prop = schemas[name]["properties"]["enabled"]
        branches = prop.get("oneOf", [prop])
        for i, branch in enumerate(branches):
            if branch.get("type") == "boolean":
                kept = {k: v for k, v in branch.items() if k != "type"}
                branches[i] = {**kept, **copy.deepcopy(_BOOLEAN)}
        if "oneOf" not in prop:
            schemas[name]["properties"]["enabled"] = branches[0]


# Text holds no NUL character anywhere (no backend stores it alike): a request with one is a
# 400, so every string the document describes says so.
NUL_FREE = "^[^\\u0000]*$"


_ANY_JSON = {"$ref": "#/components/schemas/NulFreeJson"}
# Any JSON value without a NUL character in its text or its keys: what unknown fields and
# free-form objects (a custom payload, template components, driver settings) may hold.
_NUL_FREE_JSON = {
    "description": "Any JSON value whose text and keys hold no NUL character",
    "anyOf": [
        {"type": ["null", "boolean", "number"]},
        {"type": "string", "pattern": NUL_FREE},
        {"type": "array", "items": _ANY_JSON},
        {
            "type": "object",
            "propertyNames": {"pattern": NUL_FREE},
            "additionalProperties": _ANY_JSON,
        },
    ],
}


def _no_nul(doc: dict[str, Any]) -> None:
    """Every string, key and unknown field of the document is NUL-free."""
    _nul_free(doc["paths"])
    schemas = doc["components"]["schemas"]
    _nul_free(schemas)
    schemas["NulFreeJson"] = _NUL_FREE_JSON


def _nul_free(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node and "const" not in node:
            if "pattern" not in node:
                node["pattern"] = NUL_FREE
            elif node["pattern"] != NUL_FREE and {"pattern": NUL_FREE} not in node.get("allOf", []):
                node.setdefault("allOf", []).append({"pattern": NUL_FREE})
        if node.get("type") == "object" and node is not _NUL_FREE_JSON["anyOf"][3]:
            node.setdefault("propertyNames", {"pattern": NUL_FREE})
            if node.get("additionalProperties", {}) == {}:
                node["additionalProperties"] = _ANY_JSON
        for key, child in node.items():
            if key not in ("allOf", "propertyNames", "additionalProperties"):
                _nul_free(child)
    elif isinstance(node, list):
        for child in node:
            _nul_free(child)


def _channel_create(schema: dict[str, Any]) -> None:
    """Which sources each delivery driver serves."""
    schema["allOf"] = [
        {
            "if": {"required": ["driver"], "properties": {"driver": {"const": driver}}},
            "then": {"properties": {"source": {"enum": list(sources)}}},
        }
        for driver, sources in DRIVER_SOURCES.items()
        if sources is not None
    ]


def _paging_parameters(doc: dict[str, Any]) -> None:
    """``limit`` and ``cursorId`` are whole numbers when given (absent means the default;
    text such as ``null`` is refused)."""
    for item in doc["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []):
                if param.get("in") != "query" or param["name"] not in ("limit", "cursorId"):
                    continue
                schema = param["schema"]
                param["schema"] = {
                    "type": "integer",
                    "minimum": schema["minimum"],
                    "maximum": schema["maximum"],
                    "description": schema.get("description", ""),
                }


def _messages(schemas: dict[str, Any]) -> None:
    """Item constraints of message lists and user restrictions, the assignee forms and the
    contact block."""
    email = {"type": "string", "format": "email", "maxLength": 254}
    for key in ("cc", "bcc"):
        schemas["EmailMessage"]["properties"][key]["oneOf"][0]["items"] = dict(email)
    # The body is text (official clients) or message (n8n): one of them, as a string.
    schemas["EmailMessage"]["anyOf"] = [
        {"required": [key], "properties": {key: {"type": "string"}}} for key in ("text", "message")
    ]
    replies = schemas["QuickReplyMessage"]["properties"]["replies"]
    replies["items"] = {"type": "string", "minLength": 1, "maxLength": 256, "pattern": NON_BLANK}
    # A user's restrictions are short labels (control.schemas.UserCreate).
    schemas["UserCreate"]["properties"]["restrictions"]["items"] = {
        "type": "string",
        "maxLength": 64,
    }
    schemas["AssigneeBody"]["properties"]["assignee"] = {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            {"type": "string", "maxLength": 260},
            {"type": "null"},
        ]
    }
    profile = schemas["ContactProfile"]["properties"]
    fields = schemas["ContactCreate"]["properties"]
    for key in ("email", "phone", "profilePic", "language", "countryCode", "lastName"):
        profile[key] = fields[key]
    profile["firstName"] = {
        "oneOf": [
            {"type": "string", "maxLength": 255, "pattern": NON_BLANK},
            {"type": "string", "maxLength": 0},
            {"type": "null"},
        ]
    }


class _Once:
    """Renders a document the first time it is asked for (the app's document never
    changes), refined, and answers those bytes afterwards."""

    _rendered: tuple[int, bytes] | None = None

    def _cached(self, openapi_schema: dict[str, Any], make: Any) -> bytes:
        if self._rendered is None or self._rendered[0] != id(openapi_schema):
            self._rendered = (id(openapi_schema), make(refine(openapi_schema)))
        return self._rendered[1]


class RefinedJsonPlugin(_Once, JsonRenderPlugin):
    """Serves the refined document as JSON."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self._cached(openapi_schema, lambda doc: self.render_json(request, doc))


class RefinedSwaggerPlugin(_Once, SwaggerRenderPlugin):
    """Swagger UI over the refined document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self._cached(openapi_schema, lambda doc: super(_Once, self).render(request, doc))
