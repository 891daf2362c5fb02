"""``jobs > 1`` from a plain script without ``if __name__ == "__main__":`` is refused before any work (issue 13, item 11).

Spawned workers re-import the main script; without the guard each one would re-run the whole
job and every item would come back failed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

BODY = """
from kinetics.executors import make_executor

with make_executor("local", jobs=2) as executor:
    outcomes = list(executor.map_unordered(abs, [-1, -2, -3]))
print("RESULTS", sorted(o.result for o in outcomes if o.error is None))
"""


def _run(tmp_path, source: str, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "job.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, *args, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_a_script_without_the_guard_gets_a_clear_error_before_any_work(tmp_path):
    result = _run(tmp_path, "print('STARTED')\n" + BODY)
    assert result.returncode != 0 and "RESULTS" not in result.stdout
    assert result.stdout.count("STARTED") == 1, "a worker re-ran the script"
    assert 'if __name__ == "__main__":' in result.stderr and "job.py" in result.stderr, result.stderr


def test_a_script_with_the_guard_runs(tmp_path):
    guarded = "def main():\n" + textwrap.indent(BODY, "    ") + '\n\nif __name__ == "__main__":\n    main()\n'
    result = _run(tmp_path, guarded)
    assert result.returncode == 0 and "RESULTS [1, 2, 3]" in result.stdout, result.stderr


@pytest.mark.parametrize("flag", ["-c"])
def test_code_without_a_script_file_is_not_refused(tmp_path, flag):
    result = subprocess.run([sys.executable, flag, BODY], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "RESULTS [1, 2, 3]" in result.stdout, result.stderr


def test_python_dash_m_of_a_package_is_not_refused(tmp_path):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(BODY)  # like kinetics/__main__.py: workers never re-import it
    result = subprocess.run([sys.executable, "-m", "mypkg"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "RESULTS [1, 2, 3]" in result.stdout, result.stderr


def test_python_dash_m_of_an_unguarded_module_is_refused(tmp_path):
    (tmp_path / "job_module.py").write_text(BODY)
    result = subprocess.run([sys.executable, "-m", "job_module"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "RESULTS" not in result.stdout and "__main__" in result.stderr, result.stderr
