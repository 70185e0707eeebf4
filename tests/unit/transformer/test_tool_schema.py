"""Unit tests for litellm_plugins.transformer.tool_schema: pure JSON-schema cleaning per endpoint profile."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from litellm_plugins.transformer.tool_schema import GEMINI_FORMATS, GEMINI_KEYS, MAX_DEPTH, clean_schema

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "claude_code_request.json"


def claude_code_tools() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["body"]["tools"]


TOOLS = claude_code_tools()
TOOL_IDS = [tool["name"] for tool in TOOLS]


def tool_schema(name: str) -> dict[str, Any]:
    return next(copy.deepcopy(tool["input_schema"]) for tool in TOOLS if tool["name"] == name)


def schema_nodes(node: Any, path: str = "#") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every schema node (not property-name maps, not enum/required/default values)."""
    if not isinstance(node, Mapping):
        return
    yield path, node
    properties = node.get("properties")
    if isinstance(properties, Mapping):
        for name, sub in properties.items():
            yield from schema_nodes(sub, f"{path}/properties/{name}")
    if isinstance(node.get("items"), Mapping):
        yield from schema_nodes(node["items"], f"{path}/items")
    for combinator in ("anyOf", "oneOf", "allOf"):
        for index, sub in enumerate(node.get(combinator) or ()):
            yield from schema_nodes(sub, f"{path}/{combinator}/{index}")
    for key in ("additionalProperties", "propertyNames", "not"):
        if isinstance(node.get(key), Mapping):
            yield from schema_nodes(node[key], f"{path}/{key}")


def all_keys(node: Any) -> set[str]:
    return {key for _, schema in schema_nodes(node) for key in schema}


# --- The recorded Claude Code tools -------------------------------------------------------


def test_fixture_has_the_schema_features_under_test() -> None:
    keys = set().union(*(all_keys(tool["input_schema"]) for tool in TOOLS))
    assert len(TOOLS) == 24
    assert {"$schema", "propertyNames", "exclusiveMinimum", "additionalProperties", "const", "anyOf"} <= keys


@pytest.mark.parametrize("tool", TOOLS, ids=TOOL_IDS)
def test_gemini_profile_keeps_only_gemini_keys_everywhere(tool: dict[str, Any]) -> None:
    cleaned, dropped = clean_schema(tool["input_schema"], "gemini")
    for path, node in schema_nodes(cleaned):
        assert set(node) <= GEMINI_KEYS, f"{tool['name']} {path}: {sorted(set(node) - GEMINI_KEYS)}"
        if "format" in node:
            assert node["format"] in GEMINI_FORMATS, f"{tool['name']} {path}"
    assert cleaned["type"] == "object"
    assert "$schema" in dropped


@pytest.mark.parametrize("tool", TOOLS, ids=TOOL_IDS)
def test_gemini_profile_keeps_every_property_and_required_name(tool: dict[str, Any]) -> None:
    original = tool["input_schema"]
    cleaned, _ = clean_schema(original, "gemini")
    assert set(cleaned.get("properties", {})) == set(original.get("properties", {}))
    assert cleaned.get("required", []) == original.get("required", [])


@pytest.mark.parametrize("tool", TOOLS, ids=TOOL_IDS)
def test_openai_profile_top_level_is_plain_object_without_schema_uri(tool: dict[str, Any]) -> None:
    cleaned, dropped = clean_schema(tool["input_schema"], "openai")
    assert cleaned["type"] == "object"
    assert "$schema" not in cleaned
    assert "$schema" not in all_keys(cleaned)
    assert dropped == {"$schema"}
    # Everything except `$schema` survives untouched under the openai profile.
    expected = {k: v for k, v in tool["input_schema"].items() if k != "$schema"}
    assert cleaned == expected


@pytest.mark.parametrize("profile", ["openai", "gemini", "none"])
def test_cleaning_never_mutates_the_input(profile: str) -> None:
    tools = claude_code_tools()
    before = copy.deepcopy(tools)
    for tool in tools:
        cleaned, _ = clean_schema(tool["input_schema"], profile)
        assert cleaned is not tool["input_schema"]
    assert tools == before


def test_gemini_translates_const_inside_any_of() -> None:
    cleaned, dropped = clean_schema(tool_schema("TaskUpdate"), "gemini")
    status = cleaned["properties"]["status"]
    assert status["anyOf"] == [
        {"type": "string", "enum": ["pending", "in_progress", "completed"]},
        {"type": "string", "enum": ["deleted"]},
    ]
    assert status["description"] == "New status for the task"
    assert "const" in dropped


def test_gemini_translates_exclusive_minimum_of_read_limit() -> None:
    cleaned, dropped = clean_schema(tool_schema("Read"), "gemini")
    limit = cleaned["properties"]["limit"]
    assert limit["minimum"] == 0
    assert limit["maximum"] == 9007199254740991
    assert "exclusiveMinimum" not in limit
    assert "exclusiveMinimum" in dropped


def test_gemini_drops_property_names_and_additional_properties_of_metadata() -> None:
    cleaned, dropped = clean_schema(tool_schema("TaskCreate"), "gemini")
    metadata = cleaned["properties"]["metadata"]
    assert metadata == {"description": "Arbitrary metadata to attach to the task", "type": "object"}
    assert {"propertyNames", "additionalProperties"} <= dropped


def test_gemini_drops_uri_format_gemini_rejects_but_openai_keeps_it() -> None:
    gemini, dropped = clean_schema(tool_schema("WebFetch"), "gemini")
    openai, _ = clean_schema(tool_schema("WebFetch"), "openai")
    assert "format" not in gemini["properties"]["url"]
    assert gemini["properties"]["url"]["type"] == "string"
    assert "format" in dropped
    assert openai["properties"]["url"]["format"] == "uri"


def test_property_named_like_a_schema_keyword_is_kept() -> None:
    # Workflow has a property called `title`; property names are not schema keywords.
    cleaned, _ = clean_schema(tool_schema("Workflow"), "gemini")
    assert "title" in cleaned["properties"]
    schema = {
        "type": "object",
        "properties": {
            "format": {"type": "string"},
            "const": {"type": "integer"},
            "$schema": {"type": "string"},
        },
        "required": ["format", "const"],
    }
    for profile in ("gemini", "openai"):
        cleaned, _ = clean_schema(schema, profile)
        assert set(cleaned["properties"]) == {"format", "const", "$schema"}, profile
        assert cleaned["required"] == ["format", "const"], profile


# --- Profiles and top level ----------------------------------------------------------------


def test_none_profile_returns_an_equal_copy() -> None:
    schema = tool_schema("Bash")
    cleaned, dropped = clean_schema(schema, "none")
    assert cleaned == schema
    assert cleaned is not schema
    assert dropped == set()


@pytest.mark.parametrize("profile", ["openai", "gemini", "none"])
@pytest.mark.parametrize("schema", [None, "string", 3, ["type", "object"]])
def test_non_mapping_schema_becomes_empty_object(profile: str, schema: Any) -> None:
    cleaned, dropped = clean_schema(schema, profile)
    assert cleaned == {"type": "object", "properties": {}}
    assert dropped == {"<non-object schema>"}


@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_missing_top_level_type_becomes_object(profile: str) -> None:
    cleaned, dropped = clean_schema({"properties": {"a": {"type": "string"}}}, profile)
    assert cleaned["type"] == "object"
    assert cleaned["properties"] == {"a": {"type": "string"}}
    assert dropped == set()


@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_non_object_top_level_is_wrapped_in_value_property(profile: str) -> None:
    cleaned, dropped = clean_schema({"type": "string", "description": "a path"}, profile)
    assert cleaned == {
        "type": "object",
        "properties": {"value": {"type": "string", "description": "a path"}},
        "required": ["value"],
    }
    assert "<non-object top level>" in dropped


@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_extra_drop_keys_are_removed_recursively(profile: str) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "^x", "maxLength": 3}},
        "pattern": "top",
    }
    cleaned, dropped = clean_schema(schema, profile, extra_drop=["pattern"])
    assert "pattern" not in all_keys(cleaned)
    assert cleaned["properties"]["a"]["maxLength"] == 3
    assert "pattern" in dropped


# --- Top-level combinator flattening -------------------------------------------------------


ALTERNATIVES = [
    {
        "properties": {"path": {"type": "string"}, "recursive": {"type": "boolean"}},
        "required": ["path", "recursive"],
    },
    {"properties": {"path": {"type": "integer"}, "glob": {"type": "string"}}, "required": ["path", "glob"]},
]


@pytest.mark.parametrize("combinator", ["oneOf", "anyOf"])
@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_one_of_any_of_flatten_with_required_intersection(combinator: str, profile: str) -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        combinator: copy.deepcopy(ALTERNATIVES),
    }
    cleaned, dropped = clean_schema(schema, profile)
    assert cleaned["type"] == "object"
    assert combinator not in cleaned
    assert set(cleaned["properties"]) == {"path", "recursive", "glob"}
    # The first alternative declaring a property wins.
    assert cleaned["properties"]["path"] == {"type": "string"}
    assert cleaned["required"] == ["path"]
    assert combinator in dropped


@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_all_of_flattens_with_required_union(profile: str) -> None:
    cleaned, dropped = clean_schema({"allOf": copy.deepcopy(ALTERNATIVES)}, profile)
    assert cleaned["type"] == "object"
    assert "allOf" not in cleaned
    assert cleaned["required"] == ["glob", "path", "recursive"]
    assert "allOf" in dropped


def test_flattening_keeps_base_properties_and_required() -> None:
    schema = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "base"}, "mode": {"type": "string"}},
        "required": ["mode"],
        "oneOf": [
            {"properties": {"path": {"type": "integer"}, "x": {"type": "string"}}, "required": ["x"]},
            {"required": []},
        ],
    }
    cleaned, _ = clean_schema(schema, "openai")
    assert cleaned["properties"]["path"] == {"type": "string", "description": "base"}
    assert set(cleaned["properties"]) == {"path", "mode", "x"}
    assert cleaned["required"] == ["mode"]


def test_flattening_without_any_required_leaves_no_required_key() -> None:
    cleaned, _ = clean_schema(
        {"anyOf": [{"properties": {"a": {"type": "string"}}}, "not-a-schema"]}, "openai"
    )
    assert cleaned == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_nested_any_of_is_not_flattened_under_openai() -> None:
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}
    cleaned, dropped = clean_schema(schema, "openai")
    assert cleaned == schema
    assert dropped == set()


# --- Gemini translations -------------------------------------------------------------------


def gemini_property(sub: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    cleaned, dropped = clean_schema({"type": "object", "properties": {"p": sub}}, "gemini")
    return cleaned["properties"]["p"], dropped


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ({"const": "x"}, {"enum": ["x"], "type": "string"}),
        ({"type": "string", "const": "x"}, {"type": "string", "enum": ["x"]}),
        ({"type": "integer", "exclusiveMinimum": 0}, {"type": "integer", "minimum": 0}),
        ({"type": "number", "exclusiveMaximum": 1.5}, {"type": "number", "maximum": 1.5}),
        ({"type": ["string", "null"]}, {"type": "string", "nullable": True}),
        ({"type": ["null"]}, {"type": "string", "nullable": True}),
        ({"type": ["integer", "string"]}, {"type": "integer"}),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b"], "type": "string"}),
        ({"type": "string", "format": "date-time"}, {"type": "string", "format": "date-time"}),
        ({"type": "integer", "format": "int64"}, {"type": "integer", "format": "int64"}),
        ({"type": "string", "format": "email"}, {"type": "string"}),
        ({"type": "string", "format": ["uri"]}, {"type": "string"}),
        (
            {"type": "array", "items": {"type": "string", "minLength": 1}},
            {"type": "array", "items": {"type": "string", "minLength": 1}},
        ),
        ({"type": "array", "items": [{"type": "string"}]}, {"type": "array", "items": {}}),
    ],
)
def test_gemini_translation(sub: dict[str, Any], expected: dict[str, Any]) -> None:
    cleaned, _ = gemini_property(sub)
    assert cleaned == expected


def test_gemini_drops_draft4_boolean_exclusive_minimum() -> None:
    cleaned, dropped = gemini_property({"type": "integer", "minimum": 1, "exclusiveMinimum": True})
    assert cleaned == {"type": "integer", "minimum": 1}
    assert "exclusiveMinimum" in dropped


def test_gemini_one_of_becomes_any_of() -> None:
    cleaned, dropped = gemini_property({"oneOf": [{"type": "string"}, {"const": 3, "type": "integer"}]})
    assert cleaned == {"anyOf": [{"type": "string"}, {"enum": [3], "type": "integer"}]}
    assert "oneOf" in dropped
    assert "anyOf" not in dropped


@pytest.mark.parametrize(
    "keyword", ["additionalProperties", "propertyNames", "$id", "$comment", "not", "if", "examples"]
)
def test_gemini_drops_unsupported_keywords(keyword: str) -> None:
    cleaned, dropped = gemini_property({"type": "object", keyword: {"type": "string"}})
    assert cleaned == {"type": "object"}
    assert keyword in dropped


def test_gemini_filters_required_to_existing_properties() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost"]}
    cleaned, _ = clean_schema(schema, "gemini")
    assert cleaned["required"] == ["a"]


@pytest.mark.parametrize("prefix", ["$defs", "definitions"])
def test_gemini_resolves_local_refs(prefix: str) -> None:
    schema = {
        "type": "object",
        "properties": {"where": {"$ref": f"#/{prefix}/Place", "description": "override"}},
        prefix: {
            "Place": {"type": "object", "description": "a place", "properties": {"lat": {"type": "number"}}}
        },
    }
    cleaned, dropped = clean_schema(schema, "gemini")
    assert cleaned["properties"]["where"] == {
        "type": "object",
        "description": "override",
        "properties": {"lat": {"type": "number"}},
    }
    assert prefix not in cleaned
    assert {"$ref", prefix} <= dropped


def test_gemini_unresolvable_ref_leaves_the_rest_of_the_node() -> None:
    cleaned, dropped = gemini_property({"$ref": "https://example.com/schema.json", "description": "remote"})
    assert cleaned == {"description": "remote"}
    assert "$ref" in dropped


def test_gemini_recursive_ref_terminates_quickly() -> None:
    # A binary tree: expanding every $ref would be exponential in MAX_DEPTH.
    schema = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "string"},
                    "left": {"$ref": "#/$defs/Node", "description": "left child"},
                    "right": {"$ref": "#/$defs/Node"},
                },
            }
        },
    }
    cleaned, dropped = clean_schema(schema, "gemini")
    root = cleaned["properties"]["root"]
    assert root["properties"]["value"] == {"type": "string"}
    assert root["properties"]["left"] == {"type": "object", "description": "left child"}
    assert root["properties"]["right"] == {"type": "object"}
    assert "$ref" in dropped


def test_gemini_shared_non_recursive_ref_is_expanded_each_time() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/S"}, "b": {"type": "array", "items": {"$ref": "#/$defs/S"}}},
        "$defs": {"S": {"type": "string", "enum": ["x"]}},
    }
    cleaned, _ = clean_schema(schema, "gemini")
    assert cleaned["properties"]["a"] == {"type": "string", "enum": ["x"]}
    assert cleaned["properties"]["b"]["items"] == {"type": "string", "enum": ["x"]}


@pytest.mark.parametrize("profile", ["openai", "gemini"])
def test_very_deep_schema_is_cut_at_max_depth(profile: str) -> None:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(MAX_DEPTH * 3):
        node = {"type": "object", "properties": {"child": node}}
    cleaned, _ = clean_schema(node, profile)
    depth = 0
    current = cleaned
    while isinstance(current.get("properties"), Mapping) and "child" in current["properties"]:
        current = current["properties"]["child"]
        depth += 1
    # The nesting stops at MAX_DEPTH with an empty schema instead of recursing on.
    assert depth == MAX_DEPTH + 1
    assert current == {}
