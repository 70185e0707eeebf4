"""`litellm-plugins usage` without what it needs says what is missing (the table itself is tested
against two real proxies in tests/integration/test_usage_proxy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from litellm_plugins.cli.commands import main


def test_usage_without_the_master_key_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LITELLM_MASTER_KEY", raising=False)
    assert main(["usage", "--env-file", str(tmp_path / "missing.env")]) == 2
    assert "LITELLM_MASTER_KEY is not set" in capsys.readouterr().err


def test_usage_refuses_an_unknown_window(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["usage", "--window", "week"])
    assert "invalid choice: 'week'" in capsys.readouterr().err


def test_usage_says_when_the_proxy_is_not_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.harness import free_port

    monkeypatch.setenv("LITELLM_MASTER_KEY", "sk-master-unit-" + "m" * 30)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["usage", "--url", url, "--env-file", str(tmp_path / "missing.env")]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the proxy at {url}: ConnectError" in err and "sk-master" not in err
