"""The command line as a whole: every verb has --help with examples, exit codes follow Unix habits."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from kinetics.cli.main import VERBS, build_parser, main


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_help_with_examples(verb, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([verb, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: kinetics {verb}" in text and "kinetics " + verb in text.split("usage:", 1)[1].split("\n", 2)[-1]


def test_listed_help_matches_each_verbs_own():
    full = build_parser()
    actions = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)][0]
    own = {choice.dest: choice.help for choice in actions._choices_actions}
    assert own == {verb: help_line for verb, (_, help_line) in VERBS.items()}


def test_no_help_imports_torch():
    """torch takes seconds to import: neither the verb list nor any verb's --help may need it."""
    code = (
        "import sys; from kinetics.cli.main import main, VERBS\n"
        "for words in [['--help']] + [[verb, '--help'] for verb in VERBS]:\n"
        "    try: main(words)\n"
        "    except SystemExit: pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_usage_errors_exit_2_and_failures_exit_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-verb"])
    assert exit_info.value.code == 2
    assert main(["status", "--root", str(tmp_path / "nothing-here")]) == 1
    assert "kinetics: error:" in capsys.readouterr().err


def test_cli_versions_are_the_manifest_versions():
    from kinetics.cli.common import VERSIONS
    from kinetics.manifests.schema import VERSIONS as SCHEMA_VERSIONS

    assert VERSIONS == SCHEMA_VERSIONS
