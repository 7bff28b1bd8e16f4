"""The model options are defined once (`edge.options.ModelOptions`): the CLI's flags, the
serverless handler's variables and the Classifier all follow its fields."""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass
from pathlib import Path

import pytest
import typer

from edge.cli import app
from edge.config import ClassifyConfig
from edge.evaluation.evaluate import EvalConfig
from edge.options import ModelOptions, option
from edge.serverless.config import ConfigError, ServerlessConfig

SAMPLES = {"MODEL_PATH": "m.tflite", "LABELS_PATH": "l.txt", "MEAN": "127.5", "STD": "1,2,3",
           "CROP": "center", "RESIZE": "antialias", "THREADS": "3"}


def _cli_options() -> dict[str, str]:
    """The classify command's parameter name -> its long flag."""
    command = typer.main.get_command(app)
    return {p.name: next(o for o in p.opts if o.startswith("--")) for p in command.params
            if p.opts and p.opts[0].startswith("-")}


def test_every_model_option_is_a_cli_flag_of_the_same_name():
    cli = _cli_options()
    for f in ModelOptions.option_fields():
        assert cli.get(f.name) == f.metadata["flag"], f.name


def test_the_configs_share_the_one_definition():
    names = [f.name for f in ModelOptions.option_fields()]
    assert names == ["model", "labels", "mean", "std", "crop", "resize", "threads"]
    for config in (ClassifyConfig, EvalConfig, ServerlessConfig):
        own = [f for f in fields(config) if f.name in names]
        assert [f.metadata["flag"] for f in own] == ModelOptions.flags(), config


def test_the_handler_reads_every_option_variable():
    assert sorted(SAMPLES) == sorted(ModelOptions.env_names())
    config = ServerlessConfig.from_env(SAMPLES)
    assert config.model_options() == ModelOptions(
        model=Path("m.tflite"), labels=Path("l.txt"), mean=(127.5,), std=(1.0, 2.0, 3.0),
        crop="center", resize="antialias", threads=3)
    assert ServerlessConfig.from_env({}).model_options() == ModelOptions()
    for name, bad in (("CROP", "middle"), ("RESIZE", "nearest"), ("THREADS", "0"),
                      ("MEAN", "a,b")):
        with pytest.raises(ConfigError, match=name):
            ServerlessConfig.from_env({name: bad})


def test_an_added_option_reaches_the_flags_and_the_variables():
    """Adding an option is a field with its flag and variable: the flag list, the variable
    list and the parsing of both follow from it, with no other table to edit."""
    gamma = field(default=None, metadata=option("--gamma", "GAMMA", lambda t, n: float(t)))
    Extended = make_dataclass("Extended", [("gamma", float | None, gamma)],  # noqa: N806
                              bases=(ModelOptions,), frozen=True, kw_only=True)
    assert Extended.flags() == [*ModelOptions.flags(), "--gamma"]
    assert Extended.env_names() == [*ModelOptions.env_names(), "GAMMA"]
    assert Extended.values_from_env({"GAMMA": "2.2", "CROP": "center"}) == {
        "crop": "center", "gamma": 2.2}
    assert Extended.values_from({"gamma": "0.5", "mean": "1", "crop": "none"}) == {
        "mean": (1.0,), "crop": "none", "gamma": 0.5}
    assert Extended(gamma=1.5).model_options() == ModelOptions()
