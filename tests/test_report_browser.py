"""The HTML report draws every chart in a real headless browser with the network off.

Debian's Chromium loads ``report.html`` from disk with every request sent to a dead
proxy and every host name unresolvable, runs its inlined JavaScript for up to 15 s
of virtual time and dumps the DOM. Every figure container must then hold an
``<svg>`` drawn by Vega, and the browser's console must show no error or warning.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_figures import run_tiny_batch

CHROMIUM = shutil.which("chromium")


def chromium_dump(page: Path, profile: Path) -> tuple[str, str]:
    """Return (dumped DOM, stderr) of headless Chromium loading ``page`` offline."""
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=15000",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def console_messages(stderr: str) -> list[str]:
    """The page's console messages from Chromium's log (``...:CONSOLE:N] "text", source``)."""
    return re.findall(r':CONSOLE(?:\(\d+\))?:?\d*\] "(.*?)", source', stderr)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")
def test_every_chart_draws_offline(tmp_path: Path) -> None:
    pytest.importorskip("vl_convert", reason="pip install -e '.[report]'")
    from reports.build import build_report

    page = build_report(run_tiny_batch(tmp_path))
    dom, stderr = chromium_dump(page, tmp_path / "profile")
    names = re.findall(r'<div class="chart" id="chart-([a-z_]+)"', page.read_text())
    assert len(names) >= 6
    for name in names:
        start = dom.index(f'id="chart-{name}"')
        block = dom[start : dom.index("</section>", start)]
        assert 'data-rendered="true"' in block[:300], f"{name}: vegaEmbed did not finish"
        assert "<svg" in block or "<canvas" in block, f"{name}: nothing drawn"
        assert 'class="marks"' in block, f"{name}: no Vega scenegraph"
    assert f'data-charts-rendered="{len(names)}"' in dom
    bad = [
        m
        for m in console_messages(stderr)
        if re.search(r"uncaught|error|warn|fail|net::", m, re.IGNORECASE)
    ]
    assert not bad, bad
    assert "Uncaught" not in stderr
