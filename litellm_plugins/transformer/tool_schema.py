"""Clean Claude Code's JSON Schema 2020-12 tool schemas for endpoints that reject parts of it.

Profiles (chosen per deployment with `model_info.tool_schema`):
- `openai`: the top level must be a plain `type: object`; a top-level `oneOf/anyOf/allOf` is
  flattened into one object and `$schema` is dropped.
- `gemini`: additionally keeps only Gemini's OpenAPI subset, recursively, translating what has
  an equivalent (`const` -> `enum`, `exclusiveMinimum` -> `minimum`, `type: [x, "null"]` ->
  `nullable`), dropping `format`s Gemini rejects (`uri`, ...) and resolving local `$ref`s.
- `none`: untouched.

Functions are pure: they return new objects and the set of keys they removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

GEMINI_KEYS: Final = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
        "title",
    }
)
# The only `format` values Gemini accepts (per type); others (`uri`, `email`, ...) are rejected.
GEMINI_FORMATS: Final = frozenset({"enum", "date-time", "float", "double", "int32", "int64"})
COMBINATORS: Final = ("oneOf", "anyOf", "allOf")
MAX_DEPTH: Final = 64


def clean_schema(
    schema: Any, profile: str, extra_drop: Iterable[str] = ()
) -> tuple[dict[str, Any], set[str]]:
    dropped: set[str] = set()
    if not isinstance(schema, Mapping):
        return {"type": "object", "properties": {}}, {"<non-object schema>"}
    if profile == "none":
        return dict(schema), dropped
    drop = frozenset(extra_drop) | {"$schema"}
    result = _flatten_top_level(dict(schema), dropped)
    if profile == "gemini":
        defs = dict(schema.get("$defs") or schema.get("definitions") or {})
        result = _gemini(result, defs, drop, dropped, 0)
    else:
        result = _drop_keys(result, drop, dropped, 0)
    result.setdefault("type", "object")
    if result.get("type") != "object":
        result = {"type": "object", "properties": {"value": result}, "required": ["value"]}
        dropped.add("<non-object top level>")
    return result, dropped


def _flatten_top_level(schema: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    for combinator in COMBINATORS:
        alternatives = schema.get(combinator)
        if not isinstance(alternatives, list):
            continue
        dropped.add(combinator)
        merged_properties: dict[str, Any] = dict(schema.get("properties") or {})
        required_sets: list[set[str]] = []
        for alternative in alternatives:
            if not isinstance(alternative, Mapping):
                continue
            for name, sub in (alternative.get("properties") or {}).items():
                merged_properties.setdefault(name, sub)
            required_sets.append(set(alternative.get("required") or ()))
        base_required = set(schema.get("required") or ())
        if combinator == "allOf":
            extra_required = set().union(*required_sets) if required_sets else set()
        else:
            # Only what every alternative requires stays required once they are merged.
            extra_required = set.intersection(*required_sets) if required_sets else set()
        schema = {k: v for k, v in schema.items() if k != combinator}
        schema["type"] = "object"
        schema["properties"] = merged_properties
        required = sorted(base_required | extra_required)
        if required:
            schema["required"] = required
    return schema


def _drop_keys(node: Any, drop: frozenset[str], dropped: set[str], depth: int) -> Any:
    if depth > MAX_DEPTH:
        return {}
    if isinstance(node, list):
        return [_drop_keys(item, drop, dropped, depth + 1) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in drop:
            dropped.add(key)
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {name: _drop_keys(sub, drop, dropped, depth + 1) for name, sub in value.items()}
        else:
            out[key] = _drop_keys(value, drop, dropped, depth + 1)
    return out


def _resolve_ref(ref: str, defs: Mapping[str, Any]) -> Any:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            return defs.get(ref[len(prefix) :])
    return None


def _gemini(
    node: Any,
    defs: Mapping[str, Any],
    drop: frozenset[str],
    dropped: set[str],
    depth: int,
    active_refs: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    if depth > MAX_DEPTH or not isinstance(node, Mapping):
        return {}
    if isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        dropped.add("$ref")
        rest = {k: v for k, v in node.items() if k != "$ref"}
        if ref in active_refs:
            # A recursive reference: expanding it again would grow without bound (exponentially
            # for a tree), so it becomes an unconstrained object.
            out = _gemini(rest, defs, drop, dropped, depth + 1, active_refs)
            out.setdefault("type", "object")
            return out
        target = _resolve_ref(ref, defs)
        merged = {**(target if isinstance(target, Mapping) else {}), **rest}
        return _gemini(merged, defs, drop, dropped, depth + 1, active_refs | {ref})
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in drop:
            dropped.add(key)
        elif key == "const":
            out["enum"] = [value]
            dropped.add(key)
        elif (
            key in ("exclusiveMinimum", "exclusiveMaximum")
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            dropped.add(key)
        elif key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            out["type"] = kinds[0] if kinds else "string"
            if "null" in value:
                out["nullable"] = True
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {
                name: _gemini(sub, defs, drop, dropped, depth + 1, active_refs) for name, sub in value.items()
            }
        elif key == "items":
            out[key] = _gemini(value, defs, drop, dropped, depth + 1, active_refs)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out["anyOf"] = [_gemini(sub, defs, drop, dropped, depth + 1, active_refs) for sub in value]
            if key == "oneOf":
                dropped.add(key)
        elif key == "format" and not (isinstance(value, str) and value in GEMINI_FORMATS):
            dropped.add(key)
        elif key in GEMINI_KEYS:
            out[key] = value
        else:
            dropped.add(key)
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if out.get("type") == "object" and "required" in out and isinstance(out.get("properties"), Mapping):
        out["required"] = [name for name in out["required"] if name in out["properties"]]
    return out
