"""TrainConfig: paper defaults, files (JSON, TOML), command-line precedence, and flags generated 1:1 from fields."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from kinetics.training.config import ConfigError, TrainConfig
from kinetics.training.flags import add_dataclass_flags, flag_name, given_values


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=None)
    add_dataclass_flags(parser, TrainConfig)
    return parser.parse_args(list(argv))


def test_defaults_are_the_papers_protocol(tmp_path):
    config = TrainConfig(root=tmp_path)
    assert (config.frames, config.fps, config.crop_pixels, config.short_side_pixels, config.flip) == (64, 25.0, 224, 256, True)
    assert (config.momentum, config.dropout, config.weight_decay, config.lr_drop_factor) == (0.9, 0.5, 1e-7, 0.1)
    assert config.lr_schedule == "plateau"


def test_every_field_has_exactly_one_flag_and_each_flag_maps_back():
    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, TrainConfig)
    flags = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    for field in dataclasses.fields(TrainConfig):
        assert flag_name(field.name) in flags, field.name
    assert given_values(parse(), TrainConfig) == {}  # nothing typed, nothing overrides


def test_typed_flags_parse_to_field_types(tmp_path):
    values = given_values(parse("--root", str(tmp_path), "--lr", "0.05", "--no-flip", "--max-steps", "none",
                                "--lr-milestones", "10", "20", "--stream", "flow", "--classes", "7"), TrainConfig)
    config = TrainConfig.from_dict(values)
    assert config.lr == 0.05 and config.flip is False and config.max_steps is None
    assert config.lr_milestones == (10, 20) and config.stream == "flow" and config.classes == 7


def test_a_bad_choice_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        parse("--stream", "depth")
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_file_then_command_line_overrides_it(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"root": str(tmp_path), "lr": 0.01, "batch-size": 3, "lr_milestones": [5]}))
    else:
        path.write_text(f'root = "{tmp_path}"\nlr = 0.01\nbatch_size = 3\nlr_milestones = [5]\n')
    config = TrainConfig.from_sources(file=path, overrides=given_values(parse("--batch-size", "9"), TrainConfig))
    assert (config.lr, config.batch_size, config.lr_milestones) == (0.01, 9, (5,))
    assert TrainConfig.from_dict(config.to_dict()) == config  # what checkpoints store reads back identically


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"root": ".", "learning_rate": 0.1}', "unknown setting(s) learning_rate"),
        ('{"root": ".", "stream": "depth"}', "stream='depth' is not one of rgb, flow"),
        ('{"root": ".", "init": "imagenet2d"}', "--init imagenet2d needs --init-weights"),
        ('{"root": ".", "lr_schedule": "steps"}', "needs lr_milestones"),
        ('[1, 2]', "expected a table of settings"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_config_files_name_the_file_and_the_setting(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_root_is_required_from_file_or_flag():
    with pytest.raises(ConfigError, match="root is required"):
        TrainConfig.from_sources(file=None, overrides={})
