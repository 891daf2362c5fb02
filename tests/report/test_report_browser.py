"""The report in a real browser: headless Chromium loads it, every image decodes, and nothing logs an error.

A probe script is injected into a copy of the page (the report itself has no script): it records
script errors, failed resource loads and console.error calls, and on ``load`` writes what it saw
into the DOM, which ``--dump-dom`` prints. Skips, saying why, when no Chromium is installed
(Debian: ``apt-get install chromium``), unless ``KINETICS_REQUIRE_BROWSER=1`` asks for a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_media import cli_json

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-extensions", "--enable-logging=stderr", "--log-level=0",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000"]
PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) {
  var what = e.target && e.target !== window ? "failed to load " + (e.target.alt || e.target.tagName) : "script error " + e.message;
  window.__problems.push(what);
}, true);
var __consoleError = console.error;
console.error = function () { window.__problems.push("console.error " + Array.prototype.join.call(arguments, " ")); __consoleError.apply(console, arguments); };
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: images.length,
    broken: images.filter(function (i) { return !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0); }).map(function (i) { return i.alt; }),
    problems: window.__problems,
    title: document.title,
  });
  document.body.appendChild(out);
});
</script>"""


def find_browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


@pytest.fixture(scope="module")
def browser() -> str:
    path = find_browser()
    if path is None and os.environ.get("KINETICS_REQUIRE_BROWSER") == "1":  # CI that installs one must not skip quietly
        pytest.fail(f"KINETICS_REQUIRE_BROWSER=1 but none of {', '.join(BROWSERS)} is on PATH")
    if path is None:
        pytest.skip(f"no headless browser installed (looked for {', '.join(BROWSERS)}; Debian: apt-get install chromium)")
    return path


def load_in_browser(browser: str, page: Path, scratch: Path) -> tuple[dict, str]:
    """(what the probe saw, the browser's stderr) for ``page`` loaded with the probe injected."""
    probed = scratch / f"probed-{page.name}"
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    profile = scratch / f"profile-{page.stem}"
    argv = [browser, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probed.as_uri()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, f"the probe did not run (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1))), done.stderr


def console_messages(stderr: str) -> list[str]:
    """Every console message Chromium logged for the page (the report has no script: any is a problem)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_report_renders_in_chromium_with_every_image_and_no_error(browser, report_corpus, tmp_path):
    root, _ = report_corpus
    out = tmp_path / "report.html"
    summary = cli_json("report", "--root", str(root), "--out", str(out))
    seen, stderr = load_in_browser(browser, out, tmp_path)
    assert seen["title"].startswith("Kinetics corpus report")
    assert seen["images"] == summary["images"] > 0
    assert seen["broken"] == [] and seen["problems"] == []
    assert console_messages(stderr) == []


def test_the_probe_does_see_a_broken_image(browser, tmp_path):
    """The check above could fail: a page with a damaged embedded PNG is caught."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><title>t</title></head><body>'
                    '<img alt="damaged" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUg">'
                    '<script>undefinedFunction();</script></body></html>')
    seen, stderr = load_in_browser(browser, page, tmp_path)
    assert seen["images"] == 1 and seen["broken"] == ["damaged"]
    assert any("damaged" in problem for problem in seen["problems"])
    assert any("undefinedFunction" in problem for problem in seen["problems"])
    assert any("undefinedFunction" in line for line in console_messages(stderr))
