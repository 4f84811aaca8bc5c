"""`hookd history` on a directory that holds no daemon state says so (exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookd.cli import main


def test_history_wrong_state_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--state-dir", str(tmp_path / "nope")]) == 1
    assert "no audit log or outbox" in capsys.readouterr().err


def test_history_empty_audit_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "audit.jsonl").write_text("")
    assert main(["history", "--state-dir", str(tmp_path)]) == 0
    assert "TRANSITION" in capsys.readouterr().out
