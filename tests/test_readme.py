"""The README's Python snippets run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet(section: str) -> str:
    text = README.read_text()
    start = text.index(section)
    match = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert match, f"no python block after {section!r}"
    return match.group(1)


def test_api_in_ten_lines_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = _snippet("## The API in ten lines")
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    ns: dict = {}
    exec(compile(code, "README:api", "exec"), ns)
    s, opt = ns["s"], ns["opt"]
    assert len(s.row_ids) == 10 and opt.n_observed == 30
    assert (tmp_path / "campaign.json").exists()


def test_ax_loop_snippet_runs(monkeypatch):
    code = _snippet("## In an Ax loop")
    ns: dict = {"my_experiment": lambda p: float(sum((v - 0.3) ** 2 for v in p.values()))}
    exec(compile(code, "README:ax", "exec"), ns)
    client = ns["client"]
    assert len(client._experiment.trials) == 4


def test_settings_snippet_runs(capsys):
    code = _snippet("### Settings and presets")
    ns: dict = {}
    exec(compile(code, "README:settings", "exec"), ns)
    s = ns["s"]
    assert s.stage1.n_members == 4 and s.stage3.batch.cluster_bandwidth is False
    assert capsys.readouterr().out.split() == ["4", "both", str(len(s.option_paths()))]
