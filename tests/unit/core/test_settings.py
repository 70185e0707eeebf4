"""Unit tests for litellm_plugins.core.settings: the `litellm_plugins:` section of config.yaml."""

from __future__ import annotations

import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from litellm_plugins.core.settings import (
    SECTION,
    PluginSettings,
    SettingsError,
    config_path,
    load_settings,
    parse_settings,
)


@pytest.fixture()
def proxy_server(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A stand-in for `litellm.proxy.proxy_server` (no proxy import, no loaded config)."""
    module = types.ModuleType("litellm.proxy.proxy_server")
    module.user_config_file_path = None  # type: ignore[attr-defined]
    package = types.ModuleType("litellm.proxy")
    package.proxy_server = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "litellm.proxy", package)
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", module)
    return module


def write_config(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


CONFIG = """\
    model_list:
      - model_name: default
        litellm_params: {model: openai/deepseek-chat, api_key: os.environ/DEEPSEEK_API_KEY}
    litellm_plugins:
      model_aliases:
        "claude-*haiku*": fast
        "claude-*": default
      credentials:
        mode: passthrough
"""


# --- parse_settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "section", [None, {}, {"model_aliases": None}, {"model_aliases": {}}, {"model_aliases": []}]
)
def test_empty_section_gives_defaults(section: Any) -> None:
    settings = parse_settings(section)
    assert settings.model_aliases == ()
    assert settings == PluginSettings(raw=dict(section or {}))


def test_aliases_mapping_keeps_declaration_order() -> None:
    settings = parse_settings(
        {"model_aliases": {"claude-*haiku*": "fast", "claude-*": "default", "gpt-*": "openai"}}
    )
    assert settings.model_aliases == (
        ("claude-*haiku*", "fast"),
        ("claude-*", "default"),
        ("gpt-*", "openai"),
    )


def test_aliases_list_form() -> None:
    settings = parse_settings(
        {
            "model_aliases": [
                {"pattern": "claude-*haiku*", "group": "fast"},
                {"pattern": "claude-*", "group": "default"},
            ]
        }
    )
    assert settings.model_aliases == (("claude-*haiku*", "fast"), ("claude-*", "default"))


@pytest.mark.parametrize(
    "entry",
    [{"pattern": "claude-*"}, {"group": "fast"}, "claude-*: fast", ["claude-*", "fast"], None],
)
def test_malformed_list_entry_is_rejected(entry: Any) -> None:
    with pytest.raises(SettingsError, match=r"model_aliases entries must look like"):
        parse_settings({"model_aliases": [entry]})


@pytest.mark.parametrize(
    "aliases",
    [
        {"claude-*": ""},
        {"": "default"},
        {"claude-*": 3},
        {"claude-*": None},
        {"claude-*": ["default"]},
        {5: "default"},
        [{"pattern": "claude-*", "group": None}],
        [{"pattern": "", "group": "default"}],
    ],
)
def test_alias_patterns_and_groups_must_be_non_empty_strings(aliases: Any) -> None:
    with pytest.raises(SettingsError, match=r"must both be non-empty strings"):
        parse_settings({"model_aliases": aliases})


@pytest.mark.parametrize("aliases", ["claude-*", 3, True])
def test_aliases_of_the_wrong_shape_are_rejected(aliases: Any) -> None:
    with pytest.raises(SettingsError, match=r"model_aliases must map glob patterns"):
        parse_settings({"model_aliases": aliases})


@pytest.mark.parametrize("section", [["model_aliases"], "model_aliases", 3])
def test_section_must_be_a_mapping(section: Any) -> None:
    with pytest.raises(SettingsError, match=rf"`{SECTION}:` in config.yaml must be a mapping"):
        parse_settings(section)


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


def test_raw_section_is_kept_and_copied() -> None:
    section: dict[str, Any] = {
        "model_aliases": {"claude-*": "default"},
        "credentials": {"mode": "passthrough"},
    }
    settings = parse_settings(section)
    section["later"] = True
    assert dict(settings.raw) == {
        "model_aliases": {"claude-*": "default"},
        "credentials": {"mode": "passthrough"},
    }


def test_section_lookup() -> None:
    settings = parse_settings({"credentials": {"mode": "passthrough"}, "empty": None, "bad": ["x"]})
    assert settings.section("credentials") == {"mode": "passthrough"}
    assert settings.section("empty") == {}
    assert settings.section("missing") == {}
    with pytest.raises(SettingsError, match=rf"{SECTION}\.bad in config.yaml must be a mapping, got list"):
        settings.section("bad")


def test_settings_are_frozen() -> None:
    settings = parse_settings({})
    with pytest.raises(AttributeError):
        settings.model_aliases = ()  # type: ignore[misc]


# --- config_path ------------------------------------------------------------------------


def test_config_path_explicit_variable_wins(tmp_path: Path, proxy_server: types.ModuleType) -> None:
    proxy_server.user_config_file_path = str(tmp_path / "proxy.yaml")  # type: ignore[attr-defined]
    environ = {
        "LITELLM_PLUGINS_CONFIG": str(tmp_path / "plugins.yaml"),
        "CONFIG_FILE_PATH": str(tmp_path / "c.yaml"),
    }
    assert config_path(environ) == tmp_path / "plugins.yaml"


def test_config_path_uses_the_config_the_proxy_loaded(tmp_path: Path, proxy_server: types.ModuleType) -> None:
    proxy_server.user_config_file_path = str(tmp_path / "proxy.yaml")  # type: ignore[attr-defined]
    assert config_path({"CONFIG_FILE_PATH": str(tmp_path / "c.yaml")}) == tmp_path / "proxy.yaml"


def test_config_path_falls_back_to_config_file_path(tmp_path: Path, proxy_server: types.ModuleType) -> None:
    assert config_path({"CONFIG_FILE_PATH": str(tmp_path / "c.yaml")}) == tmp_path / "c.yaml"


def test_config_path_empty_variables_are_ignored(proxy_server: types.ModuleType) -> None:
    assert config_path({"LITELLM_PLUGINS_CONFIG": "", "CONFIG_FILE_PATH": ""}) is None
    assert config_path({}) is None


def test_config_path_without_litellm_proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm.proxy", None)  # makes the import raise ImportError
    assert config_path({"CONFIG_FILE_PATH": str(tmp_path / "c.yaml")}) == tmp_path / "c.yaml"
    assert config_path({}) is None


def test_config_path_defaults_to_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxy_server: types.ModuleType
) -> None:
    monkeypatch.setenv("LITELLM_PLUGINS_CONFIG", str(tmp_path / "from-env.yaml"))
    assert config_path() == tmp_path / "from-env.yaml"


# --- load_settings ----------------------------------------------------------------------


def test_load_settings_from_explicit_path(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, CONFIG), environ={})
    assert settings.model_aliases == (("claude-*haiku*", "fast"), ("claude-*", "default"))
    assert settings.section("credentials") == {"mode": "passthrough"}


def test_load_settings_found_through_environ(tmp_path: Path, proxy_server: types.ModuleType) -> None:
    path = write_config(tmp_path, CONFIG, "elsewhere.yaml")
    settings = load_settings(environ={"LITELLM_PLUGINS_CONFIG": str(path)})
    assert settings.model_aliases[0] == ("claude-*haiku*", "fast")


def test_load_settings_found_through_config_file_path(tmp_path: Path, proxy_server: types.ModuleType) -> None:
    path = write_config(tmp_path, CONFIG)
    settings = load_settings(environ={"CONFIG_FILE_PATH": str(path)})
    assert settings.model_aliases[1] == ("claude-*", "default")


@pytest.mark.parametrize("environ", [{}, {"LITELLM_PLUGINS_CONFIG": "/nonexistent/config.yaml"}])
def test_load_settings_without_a_file_gives_defaults(
    environ: dict[str, str], proxy_server: types.ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="litellm_plugins.core.settings"):
        settings = load_settings(environ=environ)
    assert settings == PluginSettings()
    assert "no config.yaml found" in caplog.text


def test_load_settings_directory_is_not_a_file(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={}) == PluginSettings()


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "model_list: []\n", "litellm_plugins:\n", "litellm_plugins: {}\n"],
)
def test_load_settings_without_a_section_gives_defaults(tmp_path: Path, text: str) -> None:
    settings = load_settings(write_config(tmp_path, text), environ={})
    assert settings.model_aliases == ()


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_load_settings_rejects_a_document_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(SettingsError, match="is not a YAML mapping"):
        load_settings(path, environ={})


def test_load_settings_reports_an_invalid_section(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'litellm_plugins:\n  model_aliases:\n    "claude-*": ""\n')
    with pytest.raises(SettingsError, match="model_aliases"):
        load_settings(path, environ={})


def test_load_settings_reads_utf8(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'litellm_plugins:\n  model_aliases:\n    "claude-*": "défaut"\n')
    assert load_settings(path, environ={}).model_aliases == (("claude-*", "défaut"),)
