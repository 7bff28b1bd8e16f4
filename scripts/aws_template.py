"""The deploy's side of deploy/aws/template.yaml: its parameters, checked before AWS is asked.

CloudFormation would refuse a value outside a parameter's limits too, but only after the zip is
built and uploaded, and in its own words; here the message names the parameter, its limits and
its description, and nothing has been created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "aws" / "template.yaml"
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,54}")
OWN_PARAMETERS = ("BucketName", "CreateBucket", "CodeBucket", "CodeKey", "Architecture")


class DeployError(Exception):
    """A problem the user can fix; the message says what and how."""

    exit_code = 1


class UsageError(DeployError):
    exit_code = 2


@dataclass(frozen=True)
class DeployConfig:
    """What `deploy` needs; `parameters` are the template's other parameters (name -> value)."""

    stack: str
    bucket: str
    zip_dir: Path = ROOT / "build" / "lambda"
    architecture: str = "arm64"
    create_bucket: bool = False
    code_bucket: str | None = None
    region: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    template: Path = TEMPLATE

    @property
    def zip_path(self) -> Path:
        return self.zip_dir / f"pawlite-lambda-{self.architecture}.zip"


def load_template(path: Path = TEMPLATE) -> dict:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except OSError as e:
        raise DeployError(f"cannot read the template {path}: {e.strerror}") from None


def check_parameters(template: dict, values: dict[str, str]) -> None:
    """Refuse values the template would refuse, with its own limits and description."""
    declared = template["Parameters"]
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None:
            known = ", ".join(sorted(set(declared) - set(OWN_PARAMETERS)))
            raise UsageError(f"unknown parameter {name!r}: the template takes {known}")
        problem = _parameter_problem(spec, str(value))
        if problem:
            about = " ".join(str(spec.get("Description", "")).split())
            raise UsageError(f"parameter {name}={value!r} {problem}."
                             + (f" ({name}: {about})" if about else ""))
    missing = [n for n, spec in declared.items() if "Default" not in spec and n not in values]
    if missing:
        raise UsageError(f"missing parameter(s): {', '.join(missing)}")


def _parameter_problem(spec: dict, value: str) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return f"is not one of {', '.join(str(a) for a in allowed)}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return "is not a number"
        # Every number the template takes is a count, a size or seconds.
        if not number.is_integer():
            return "is not a whole number"
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < low) or (high is not None and number > high):
            return f"is out of range: {low}..{high}"
    if len(value) < spec.get("MinLength", 0):
        return "is empty"
    pattern = spec.get("AllowedPattern")
    if pattern and not re.fullmatch(pattern, value):
        return f"is not valid: expected {spec.get('ConstraintDescription', pattern)}"
    return None


def parse_parameters(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param {pair!r}: write Name=Value, e.g. MemorySize=1769")
        values[name.strip()] = value.strip()
    clash = sorted(set(values) & set(OWN_PARAMETERS))
    if clash:
        raise UsageError(f"--param {', '.join(clash)}: set by the tool; use --bucket, "
                         "--create-bucket, --code-bucket or --arch instead")
    return values


def stack_parameters(config: DeployConfig, code_key: str = "not-uploaded-yet.zip") -> dict:
    return {**config.parameters, "BucketName": config.bucket,
            "CreateBucket": "true" if config.create_bucket else "false",
            "CodeBucket": config.code_bucket or config.bucket, "CodeKey": code_key,
            "Architecture": config.architecture}


def check_config(config: DeployConfig) -> dict:
    """Everything that can be checked without AWS; returns the template."""
    if not config.stack:
        raise UsageError("STACK is empty: name the stack, e.g. make deploy STACK=pawlite "
                         "BUCKET=my-photos")
    if not STACK_NAME.fullmatch(config.stack):
        raise UsageError(f"STACK={config.stack!r}: use 1-55 letters, digits and hyphens, starting "
                         "with a letter (the function is named <STACK>-classify)")
    if not config.bucket:
        raise UsageError("BUCKET is empty: name the photo bucket, e.g. make deploy "
                         "STACK=pawlite BUCKET=my-photos")
    if config.create_bucket and config.code_bucket in (None, config.bucket):
        raise UsageError("--create-bucket needs --code-bucket: an existing bucket in the same "
                         "region for the function zip (the photo bucket does not exist yet)")
    template = load_template(config.template)
    check_parameters(template, stack_parameters(config))
    return template
