"""report.html in a real browser: headless Chromium, network disabled, loads the page from disk.

Checks that the page renders without any console message (the page has no scripts, so any message is a
problem: an error, a blocked external resource, a CSP violation), that the verdict and the plots are in
the rendered DOM, and that the screenshot is a real picture. Needs the Debian package ``chromium``;
skipped without it locally, a failure under CI (``CI`` set).
Set ``SYNTHSTRUCT_ARTIFACTS=DIR`` to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from synthstruct._resources import bundled_dataset
from synthstruct.release.pipeline import release

pytestmark = pytest.mark.slow

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-default-apps", "--disable-extensions", "--mute-audio",
          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",  # no name resolves: no network
          "--proxy-server=http://127.0.0.1:9", "--enable-logging=stderr", "--v=0"]
_MIN_SCREENSHOT_BYTES = 60_000  # a blank 1280x2400 page is ~10 KB; a rendered report is several hundred


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail("chromium is not installed (apt-get install -y chromium); the browser test must run in CI")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _run(chromium: str, profile: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [chromium, *_FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.ids: dict[str, dict[str, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        attributes = {k: v or "" for k, v in attrs}
        if "id" in attributes:
            self.ids[attributes["id"]] = {"tag": tag, **attributes}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _leak(synthetic, train):  # test hook: a fifth of the output are training rows
    copied = train.sample(n=len(synthetic) // 5, random_state=0)
    return pd.concat([synthetic.iloc[len(copied):], copied], ignore_index=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    data, schema = bundled_dataset("heart_disease", ".csv"), bundled_dataset("heart_disease", ".yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYNTHSTRUCT_HOME", str(root / "home"))
        passed = release(data, schema=schema, output=root / "passed", policy="lenient")
        blocked = release(data, schema=schema, output=root / "blocked", policy="default", synthetic_hook=_leak)
    assert passed.passed and not blocked.passed
    return {"passed": passed.output / "report.html", "blocked": blocked.output / "report.html"}


@pytest.mark.parametrize("which", ["blocked", "passed"])
def test_report_renders_in_chromium(chromium, pages, which, tmp_path):
    page = pages[which]
    dom_run = _run(chromium, tmp_path / "profile-dom", page, "--dump-dom")
    assert dom_run.returncode == 0, dom_run.stderr[-2000:]
    assert _console_messages(dom_run.stderr) == []
    dom = _Dom()
    dom.feed(dom_run.stdout)
    verdict = dom.ids.get("verdict")
    assert verdict and verdict["tag"] == "section"
    assert verdict["class"] == f"verdict {'pass' if which == 'passed' else 'block'}"
    assert ("Blocked — no data was written" in dom_run.stdout) is (which == "blocked")
    assert ("id=\"reasons\"" in dom_run.stdout) is (which == "blocked")
    for plot in ("plot-dcr", "plot-roc", "plot-assoc-real", "plot-assoc-syn", "plot-utility", "plot-col-0"):
        assert dom.ids.get(plot, {}).get("tag") == "svg", plot
    assert dom.tags.get("svg", 0) >= 15 and dom.tags.get("figure", 0) >= 15
    assert dom.tags.get("rect", 0) > 500 and dom.tags.get("polygon", 0) >= 10  # bars, cells, histograms
    assert "script" not in dom.tags

    shot = tmp_path / f"report-{which}.png"
    shot_run = _run(chromium, tmp_path / "profile-shot", page, "--hide-scrollbars", "--window-size=1280,2400",
                    f"--screenshot={shot}")
    assert shot_run.returncode == 0 and shot.is_file(), shot_run.stderr[-2000:]
    assert _console_messages(shot_run.stderr) == []
    assert _png_size(shot) == (1280, 2400)
    assert shot.stat().st_size > _MIN_SCREENSHOT_BYTES
    if artifacts := os.environ.get("SYNTHSTRUCT_ARTIFACTS"):
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot.name)


def test_console_errors_and_blocked_requests_are_detected(chromium, tmp_path):
    """The detector itself: a page with a throwing script and a blocked external image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!doctype html><html><head><meta http-equiv='Content-Security-Policy' "
                   "content=\"img-src 'none'\"></head><body><p>x</p><img src='https://example.com/a.png'>"
                   "<script>throw new Error('boom')</script></body></html>")
    run = _run(chromium, tmp_path / "profile", bad, "--dump-dom")
    messages = _console_messages(run.stderr)
    assert any("Uncaught Error: boom" in m for m in messages), run.stderr[-2000:]
    assert any("Content Security Policy" in m for m in messages), messages
