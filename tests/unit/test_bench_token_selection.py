"""The token selection benchmark runs and prints its table (tiny sizes; no timing is judged)."""

from __future__ import annotations

import pytest

from bench import token_selection


def test_run_measures_every_size_and_strategy() -> None:
    rows = token_selection.run(sizes=(10, 20, 40), iterations=30, repeats=1)
    assert [row.size for row in rows] == [10, 20, 40]
    for row in rows:
        assert set(row.nanoseconds) == {"balanced", "sequential"}
        assert all(value > 0 for value in row.nanoseconds.values())


def test_bench_pool_has_a_tenth_cooling() -> None:
    pool = token_selection.build_pool(50, "sequential")
    assert sum(not row["healthy"] for row in pool.status()) == 5


def test_main_prints_a_row_per_size_and_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert token_selection.main(["--sizes", "30", "3", "300", "--iterations", "20", "--repeats", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "balanced ns/select" in lines[0] and "sequential ns/select" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["3", "30", "300"]
    assert lines[4].split()[0] == "300/3"
    assert lines[4].count("x") == 2
    assert lines[5].startswith("(20 selects x 2 per cell")
