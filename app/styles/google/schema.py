"""Tool and response schemas between JSON Schema (canonical) and what the Gemini API takes.

Inbound, Gemini clients describe schemas three ways: OpenAPI-style ``parameters`` /
``responseSchema`` (UPPERCASE types, ``nullable``, snake_case keys from the Python SDK), and
``parametersJsonSchema`` / ``responseJsonSchema`` (JSON Schema, though Gemini CLI writes
UPPERCASE types there too). ``to_json_schema`` turns all of them into standard JSON Schema.

Outbound, the gateway sends ``parametersJsonSchema`` and ``responseJsonSchema`` rather than the
OpenAPI ``parameters`` / ``responseSchema``: Gemini CLI (Google's own agent) declares every tool
that way, the protobuf-typed ``parameters`` fails the whole request on any keyword outside its
field list (``additionalProperties``, ``$schema``, ``exclusiveMinimum``, ``propertyNames``...),
and it has further checks (non-empty ``properties`` for OBJECT, ``items`` required for ARRAY)
that real agent schemas trip. ``to_gemini`` still reduces the schema to the keywords the API
documents for JSON Schema (google-genai ``GenerationConfig.response_json_schema``):

* ``$ref`` into ``$defs`` / ``definitions`` is inlined; a recursive reference is cut to
  ``{"type": <the target's type>}`` (Gemini only unrolls cycles a little and not in required
  properties);
* ``const`` -> one-value ``enum``; ``enum`` keeps strings and numbers only;
* ``"type": [T, "null"]`` -> ``anyOf`` of the single types; ``oneOf`` -> ``anyOf``; ``allOf``
  is merged into one object schema; a tuple-form ``items`` list -> ``prefixItems``;
* ``exclusiveMinimum`` / ``exclusiveMaximum`` -> ``minimum`` / ``maximum`` (+1/-1 for integers);
* ``required`` keeps only names that are in ``properties``;
* everything else (``$schema``, ``$comment``, ``default``, ``examples``, ``pattern``,
  ``minLength``/``maxLength``, ``uniqueItems``, ``patternProperties``, ``not``, ``if``...) is
  dropped: the API documents no support for it.
"""

from __future__ import annotations

from typing import Any

_OPENAPI_TYPES = {
    "STRING": "string",
    "NUMBER": "number",
    "INTEGER": "integer",
    "BOOLEAN": "boolean",
    "ARRAY": "array",
    "OBJECT": "object",
    "NULL": "null",
}

# snake_case spellings the Python SDK sends for Schema fields
_CAMEL = {
    "any_of": "anyOf",
    "one_of": "oneOf",
    "all_of": "allOf",
    "property_ordering": "propertyOrdering",
    "max_items": "maxItems",
    "min_items": "minItems",
    "max_length": "maxLength",
    "min_length": "minLength",
    "max_properties": "maxProperties",
    "min_properties": "minProperties",
    "additional_properties": "additionalProperties",
    "prefix_items": "prefixItems",
    "defs": "$defs",
    "ref": "$ref",
}

_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_SCHEMA_ONE = frozenset({"items", "additionalProperties", "not", "contains", "propertyNames"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})

# kept as they are by to_gemini (the documented JSON Schema subset, minus $ref machinery,
# which is inlined)
_PLAIN_KEYS = ("title", "description", "format", "minItems", "maxItems", "minimum", "maximum")

_MAX_DEPTH = 64  # schemas nested deeper than this are cut (a guard, not a real-world limit)


# ====================================================================== Gemini -> JSON Schema


def to_json_schema(schema: Any) -> Any:
    """Standard JSON Schema for a schema a Gemini client sent (OpenAPI-style or JSON Schema)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for raw_key, raw_value in schema.items():
        key = _CAMEL.get(raw_key) or str(raw_key)
        if key == "nullable":
            nullable = raw_value is True
        elif key == "type":
            t = _json_type(raw_value)
            if t is not None:
                out["type"] = t
        elif key == "example":
            out["examples"] = [raw_value]
        elif key != "propertyOrdering":  # a Gemini-only ordering hint
            out[key] = _sub_schemas(key, raw_value)
    if nullable:
        _add_null(out)
    return out


def _sub_schemas(key: str, value: Any) -> Any:
    if key in _SCHEMA_MAPS and isinstance(value, dict):
        return {k: to_json_schema(v) for k, v in value.items()}
    if key in _SCHEMA_ONE:
        return to_json_schema(value)
    if key in _SCHEMA_LISTS and isinstance(value, list):
        return [to_json_schema(v) for v in value]
    if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
        return "#/$defs/" + value  # the SDK's `ref` names a def directly
    return value


def _json_type(value: Any) -> Any:
    if isinstance(value, str):
        if value.upper() == "TYPE_UNSPECIFIED":
            return None
        return _OPENAPI_TYPES.get(value.upper(), value)
    if isinstance(value, list):
        return [_OPENAPI_TYPES.get(v.upper(), v) if isinstance(v, str) else v for v in value]
    return value


def _add_null(out: dict[str, Any]) -> None:
    t = out.get("type")
    if isinstance(t, str):
        if t != "null":
            out["type"] = [t, "null"]
    elif isinstance(t, list):
        if "null" not in t:
            out["type"] = [*t, "null"]
    elif isinstance(out.get("anyOf"), list):
        out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    # no type at all already admits null


# ====================================================================== JSON Schema -> Gemini


def to_gemini(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema reduced to the JSON Schema subset the Gemini API supports (see module doc)."""
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        d = schema.get(key)
        if isinstance(d, dict):
            defs.update(d)
    out = _clean(schema, _Ctx(defs, schema), (), 0)
    if "properties" in out and "type" not in out:
        out["type"] = "object"
    return out


class _Ctx:
    __slots__ = ("defs", "root")

    def __init__(self, defs: dict[str, Any], root: dict[str, Any]) -> None:
        self.defs = defs
        self.root = root


def _clean(node: Any, ctx: _Ctx, stack: tuple[str, ...], depth: int) -> dict[str, Any]:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _resolve(node, ref, ctx, stack, depth)
    t = node.get("type")
    if isinstance(t, list):
        return _split_types(node, [x for x in t if isinstance(x, str)], ctx, stack, depth)
    out: dict[str, Any] = {}
    if isinstance(t, str):
        out["type"] = t
    for key in _PLAIN_KEYS:
        if key in node and node[key] is not None:
            out[key] = node[key]
    _exclusive_bounds(node, out)
    _enum(node, out)
    _object_keys(node, out, ctx, stack, depth)
    _array_keys(node, out, ctx, stack, depth)
    alternatives = [
        _clean(s, ctx, stack, depth + 1)
        for key in ("anyOf", "oneOf")
        if isinstance(node.get(key), list)
        for s in node[key]
    ]
    if alternatives:
        out["anyOf"] = alternatives
    if isinstance(node.get("allOf"), list):
        out = _merge_all_of(out, [_clean(s, ctx, stack, depth + 1) for s in node["allOf"]])
    return out


def _resolve(node: dict[str, Any], ref: str, ctx: _Ctx, stack: tuple[str, ...], depth: int) -> dict[str, Any]:
    target: Any
    if ref == "#":
        name, target = "#", ctx.root
    else:
        name = ref.rsplit("/", 1)[-1]
        target = ctx.defs.get(name) if ref.startswith(("#/$defs/", "#/definitions/")) else None
    if not isinstance(target, dict):
        out: dict[str, Any] = {}  # an unresolvable reference admits anything
    elif name in stack:
        t = target.get("type")
        out = {"type": t} if isinstance(t, str) else {}
    else:
        out = _clean(target, ctx, (*stack, name), depth + 1)
    for key in ("title", "description"):  # the referring node's own words win
        if isinstance(node.get(key), str):
            out[key] = node[key]
    return out


def _split_types(
    node: dict[str, Any], types: list[str], ctx: _Ctx, stack: tuple[str, ...], depth: int
) -> dict[str, Any]:
    if len(types) == 1:
        return _clean({**node, "type": types[0]}, ctx, stack, depth)
    desc = node.get("description")
    rest = {k: v for k, v in node.items() if k != "description"}
    alts = [
        {"type": "null"} if t == "null" else _clean({**rest, "type": t}, ctx, stack, depth + 1) for t in types
    ]
    out: dict[str, Any] = {"anyOf": alts}
    if isinstance(desc, str):
        out["description"] = desc
    return out


def _exclusive_bounds(node: dict[str, Any], out: dict[str, Any]) -> None:
    step = 1 if node.get("type") == "integer" else 0
    low, high = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if isinstance(low, int | float) and not isinstance(low, bool) and "minimum" not in out:
        out["minimum"] = low + step
    if isinstance(high, int | float) and not isinstance(high, bool) and "maximum" not in out:
        out["maximum"] = high - step


def _enum(node: dict[str, Any], out: dict[str, Any]) -> None:
    values = node.get("enum")
    if not isinstance(values, list) and "const" in node:
        values = [node["const"]]
    if isinstance(values, list):
        kept = [v for v in values if isinstance(v, str) or _is_number(v)]
        if kept:
            out["enum"] = kept


def _object_keys(
    node: dict[str, Any], out: dict[str, Any], ctx: _Ctx, stack: tuple[str, ...], depth: int
) -> None:
    props = node.get("properties")
    if isinstance(props, dict):
        out["properties"] = {k: _clean(v, ctx, stack, depth + 1) for k, v in props.items()}
        req = node.get("required")
        if isinstance(req, list):
            names = [r for r in req if isinstance(r, str) and r in props]
            if names:
                out["required"] = names
    extra = node.get("additionalProperties")
    if isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif isinstance(extra, dict):
        out["additionalProperties"] = _clean(extra, ctx, stack, depth + 1)


def _array_keys(
    node: dict[str, Any], out: dict[str, Any], ctx: _Ctx, stack: tuple[str, ...], depth: int
) -> None:
    items = node.get("items")
    prefix = node.get("prefixItems")
    if isinstance(items, list):  # draft-4 tuple form
        prefix, items = items, node.get("additionalItems")
    if isinstance(items, dict):
        out["items"] = _clean(items, ctx, stack, depth + 1)
    if isinstance(prefix, list):
        out["prefixItems"] = [_clean(s, ctx, stack, depth + 1) for s in prefix]


def _merge_all_of(base: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``allOf`` is not in Gemini's subset: fold the sub-schemas into one (properties and
    required are unioned; for other keywords the node's own value, then the first part's, wins)."""
    out: dict[str, Any] = {}
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in [*parts, base]:
        props.update(p.get("properties") or {})
        required += [r for r in p.get("required") or [] if r not in required]
        for k, v in p.items():
            if k not in ("properties", "required"):
                out[k] = v if p is base else out.get(k, v)
    if props:
        out["properties"] = props
        out.setdefault("type", "object")
    if required:
        out["required"] = required
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
