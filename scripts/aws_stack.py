"""Deploy or remove the AWS pipeline of deploy/aws/template.yaml (`make deploy` / `make undeploy`).

deploy: checks the parameters against the template, then the credentials, the region and the
buckets, before anything is created; uploads the function zip under a key named by its SHA-256
(a new build updates the function, an unchanged one is not uploaded again); creates or updates
the stack and waits for it; for an existing bucket, adds the notifications for image uploads
under the input prefix to the bucket's configuration, keeping any others. A stack whose
creation fails is deleted (CloudFormation's OnFailure=DELETE), and so is a new stack whose
notifications could not be set.

undeploy: removes those notifications, deletes the stack and the uploaded zips. The bucket, its
photos and their results stay.

User errors print one message and exit 1 (2 for a usage error), without a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "aws" / "template.yaml"
CODE_PREFIX = "pawlite-deploy/"
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,54}")
NO_CREDENTIALS = ("no AWS credentials found: run `aws configure` (or `aws sso login`), or set "
                  "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
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


def session(region: str | None):
    """A boto3 session with usable credentials and a region, or a DeployError saying why not."""
    import boto3
    import botocore.exceptions as bx

    try:
        # AWS_REGION as the AWS CLI reads it (boto3 reads only AWS_DEFAULT_REGION).
        aws = boto3.session.Session(region_name=region or os.environ.get("AWS_REGION") or None)
        credentials = aws.get_credentials()
    except bx.BotoCoreError as e:
        raise DeployError(f"cannot read the AWS configuration: {e}") from None
    if credentials is None:
        raise DeployError(NO_CREDENTIALS)
    if not aws.region_name:
        raise UsageError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), or pass "
                         "REGION=eu-west-1 to make")
    try:
        aws.client("sts").get_caller_identity()
    except bx.NoCredentialsError:
        raise DeployError(NO_CREDENTIALS) from None
    except bx.ClientError as e:
        raise DeployError(f"AWS refused the credentials ({_code(e)}): {_message(e)}; renew them "
                          "(aws sso login, aws configure) and retry") from None
    except bx.BotoCoreError as e:
        raise DeployError(f"cannot reach AWS STS in {aws.region_name}: {e}") from None
    return aws


def check_bucket(s3, bucket: str, region: str, should_exist: bool = True) -> None:
    import botocore.exceptions as bx

    try:
        response = s3.head_bucket(Bucket=bucket)
    except bx.ClientError as e:
        code = _code(e)
        if code in ("404", "NoSuchBucket", "NotFound"):
            if should_exist:
                raise DeployError(f"bucket {bucket!r} does not exist: create it (aws s3 mb "
                                  f"s3://{bucket} --region {region}) or name another") from None
            return
        if code in ("403", "AccessDenied", "Forbidden"):
            raise DeployError(f"bucket {bucket!r} exists but these credentials cannot use it "
                              "(403): it belongs to another account, or the policy denies "
                              "you") from None
        raise DeployError(f"cannot check bucket {bucket!r}: {code} {_message(e)}") from None
    if not should_exist:
        raise UsageError(f"bucket {bucket!r} already exists: deploy without --create-bucket to "
                         "use it")
    where = (response.get("BucketRegion")
             or response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region"))
    if where and where != region:
        raise DeployError(f"bucket {bucket!r} is in {where}, the stack would be in {region}: "
                          f"S3 notifications and Lambda code must be in the stack's region "
                          f"(set AWS_REGION={where})")


def upload_code(s3, bucket: str, stack: str, zip_path: Path) -> str:
    """The zip's key in `bucket`, uploading it unless that exact file is already there."""
    if not zip_path.is_file():
        raise DeployError(f"{zip_path} not found: build it with `make lambda`")
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    key = f"{CODE_PREFIX}{stack}/{zip_path.stem}-{digest}.zip"
    existing = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    if not any(o["Key"] == key for o in existing):
        print(f"uploading {zip_path.name} ({zip_path.stat().st_size / 2**20:.1f} MiB) to "
              f"s3://{bucket}/{key}")
        s3.upload_file(str(zip_path), bucket, key)
    return key


def preflight(config: DeployConfig):
    """Every check that creates nothing: parameters, credentials, region, buckets.
    Returns (template, boto3 session)."""
    template = check_config(config)
    aws = session(config.region)
    s3 = aws.client("s3")
    check_bucket(s3, config.bucket, aws.region_name,
                 should_exist=not config.create_bucket or _owns_bucket(aws, config))
    if config.code_bucket and config.code_bucket != config.bucket:
        check_bucket(s3, config.code_bucket, aws.region_name)
    return template, aws


def _owns_bucket(aws, config: DeployConfig) -> bool:
    """True when the stack exists and created this bucket: an update, not a new bucket."""
    found = _stack(aws.client("cloudformation"), config.stack) or {}
    parameters = {p["ParameterKey"]: p.get("ParameterValue")
                  for p in found.get("Parameters", [])}
    return parameters.get("CreateBucket") == "true" and parameters.get("BucketName") == (
        config.bucket)


def deploy(config: DeployConfig) -> dict[str, str]:
    """Create or update the stack; returns its outputs (and the region)."""
    template, aws = preflight(config)
    if not config.zip_path.is_file():
        raise DeployError(f"{config.zip_path} not found: build it with `make lambda`")
    s3 = aws.client("s3")
    code_bucket = config.code_bucket or config.bucket
    cloudformation = aws.client("cloudformation")
    existed = _stack(cloudformation, config.stack) is not None
    key = upload_code(s3, code_bucket, config.stack, config.zip_path)
    try:
        apply_stack(cloudformation, config.stack, config.template.read_text(),
                    stack_parameters(config, key))
        outputs = stack_outputs(cloudformation, config.stack)
        if not config.create_bucket:
            set_notifications(s3, config.bucket, config.stack, outputs["QueueArn"],
                              outputs["InputPrefix"],
                              template["Metadata"]["Pawlite"]["ImageSuffixes"])
    except DeployError:
        if not existed:
            if _stack(cloudformation, config.stack) is not None:
                print(f"deleting the new stack {config.stack}: its queue would get no photos",
                      file=sys.stderr)
                delete_stack(cloudformation, config.stack)
            s3.delete_object(Bucket=code_bucket, Key=key)
        raise
    return {**outputs, "Region": aws.region_name}


def apply_stack(cloudformation, stack: str, body: str, parameters: dict[str, str]) -> bool:
    """Create or update `stack` and wait; True when it was created now."""
    import botocore.exceptions as bx

    current = _stack(cloudformation, stack)
    args = {"StackName": stack, "TemplateBody": body, "Capabilities": ["CAPABILITY_IAM"],
            "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)}
                           for k, v in parameters.items()],
            "Tags": [{"Key": "pawlite:stack", "Value": stack}]}
    if current is not None and current["StackStatus"] in ("ROLLBACK_COMPLETE",
                                                          "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise DeployError(f"stack {stack} is in {current['StackStatus']} from an earlier "
                          "attempt: run `make undeploy STACK=...` first")
    try:
        if current is None:
            print(f"creating stack {stack}")
            stack_id = cloudformation.create_stack(**args, OnFailure="DELETE")["StackId"]
            waiter, created = "stack_create_complete", True
        else:
            print(f"updating stack {stack}")
            stack_id = cloudformation.update_stack(**args)["StackId"]
            waiter, created = "stack_update_complete", False
    except bx.ClientError as e:
        if "No updates are to be performed" in _message(e):
            print(f"stack {stack} is up to date")
            return False
        raise DeployError(f"CloudFormation refused the stack: {_message(e)}") from None
    # By id: once a failed stack is deleted, its name no longer finds its events.
    try:
        cloudformation.get_waiter(waiter).wait(
            StackName=stack_id, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    except bx.WaiterError:
        reasons = failure_reasons(cloudformation, stack_id)
        what = "creating" if created else "updating"
        undone = "deleted" if created else "rolled back"
        hint = ""
        if any("UnreservedConcurrentExecution" in r for r in reasons):
            hint = ("\nthe account's Lambda concurrency quota leaves nothing to reserve: deploy "
                    "with PARAMS='ReserveConcurrency=false', or ask AWS for a higher quota")
        raise DeployError(f"{what} stack {stack} failed and was {undone}:\n  "
                          + "\n  ".join(reasons or ["no reason recorded"]) + hint) from None
    return created


def failure_reasons(cloudformation, stack: str) -> list[str]:
    import botocore.exceptions as bx

    try:
        events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    except bx.ClientError:
        return []
    return [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in reversed(events) if e["ResourceStatus"].endswith("_FAILED")][:5]


def stack_outputs(cloudformation, stack: str) -> dict[str, str]:
    found = _stack(cloudformation, stack) or {}
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def _stack(cloudformation, stack: str) -> dict | None:
    import botocore.exceptions as bx

    try:
        return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except bx.ClientError as e:
        if "does not exist" in _message(e):
            return None
        raise DeployError(f"cannot look up stack {stack}: {_message(e)}") from None


def notification_id(stack: str, suffix: str) -> str:
    return f"pawlite-{stack}-{suffix.lstrip('.')}"


def set_notifications(s3, bucket: str, stack: str, queue_arn: str, prefix: str,
                      suffixes: list[str]) -> None:
    """Send uploads under `prefix` ending in an image suffix to the queue (one entry per suffix:
    S3 takes one suffix per filter), replacing this stack's earlier entries, keeping others."""
    rules = [{"Name": "prefix", "Value": prefix}] if prefix else []
    ours = [{"Id": notification_id(stack, s), "QueueArn": queue_arn,
             "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [*rules, {"Name": "suffix", "Value": s}]}}}
            for s in suffixes]
    _edit_notifications(s3, bucket, stack, ours)


def remove_notifications(s3, bucket: str, stack: str, queue_arn: str | None) -> None:
    """Drop the entries this stack added, and any other that sends to its queue (those that
    CloudFormation set on a bucket it created and keeps)."""
    _edit_notifications(s3, bucket, stack, [], queue_arn)


def _edit_notifications(s3, bucket: str, stack: str, ours: list[dict],
                        queue_arn: str | None = None) -> None:
    import botocore.exceptions as bx

    mine = f"pawlite-{stack}-"
    try:
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        queues = [c for c in current.get("QueueConfigurations", [])
                  if not c.get("Id", "").startswith(mine) and c.get("QueueArn") != queue_arn]
        current["QueueConfigurations"] = queues + ours
        s3.put_bucket_notification_configuration(Bucket=bucket,
                                                 NotificationConfiguration=current)
    except bx.ClientError as e:
        raise DeployError(f"cannot set the notifications of bucket {bucket!r}: {_code(e)} "
                          f"{_message(e)} (overlapping prefix/suffix filters of another "
                          "notification are refused by S3)") from None


def delete_stack(cloudformation, stack: str) -> None:
    import botocore.exceptions as bx

    cloudformation.delete_stack(StackName=stack)
    try:
        cloudformation.get_waiter("stack_delete_complete").wait(
            StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 360})
    except bx.WaiterError:
        reasons = failure_reasons(cloudformation, stack)
        raise DeployError(f"deleting stack {stack} failed:\n  " + "\n  ".join(reasons)) from None


def undeploy(stack: str, region: str | None = None) -> None:
    """Remove the notifications, the stack and its uploaded zips; photos and results stay."""
    if not STACK_NAME.fullmatch(stack or ""):
        raise UsageError(f"STACK={stack!r}: name the stack to remove, e.g. make undeploy "
                         "STACK=pawlite")
    aws = session(region)
    cloudformation, s3 = aws.client("cloudformation"), aws.client("s3")
    found = _stack(cloudformation, stack)
    if found is None:
        raise DeployError(f"no stack {stack!r} in {aws.region_name}: nothing removed")
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "")
                  for p in found.get("Parameters", [])}
    bucket = parameters.get("BucketName")
    if bucket:
        try:
            remove_notifications(s3, bucket, stack, stack_outputs(cloudformation, stack)
                                 .get("QueueArn"))
        except DeployError as e:
            print(f"warning: {e}", file=sys.stderr)
    print(f"deleting stack {stack}")
    delete_stack(cloudformation, stack)
    code_bucket = parameters.get("CodeBucket")
    if code_bucket:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=code_bucket, Prefix=f"{CODE_PREFIX}{stack}/")
        for page in pages:
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=code_bucket, Key=obj["Key"])
    print(f"removed stack {stack}; bucket {bucket} keeps its photos and results")


def _code(error) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _message(error) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Message", "")) or str(error)


def report(outputs: dict[str, str]) -> str:
    region_arg = f" --region {outputs['Region']}"
    return "\n".join([
        f"deployed: uploads to s3://{outputs['BucketName']}/{outputs['InputPrefix']} are "
        f"classified into s3://{outputs['BucketName']}/{outputs['OutputPrefix']}",
        f"  function          {outputs['FunctionName']}",
        f"  queue             {outputs['QueueUrl']}",
        f"  dead-letter queue {outputs['DeadLetterQueueUrl']}",
        f"  alarm             {outputs['DeadLetterAlarmName']}",
        "watch the dead-letter queue (the alarm fires on any message there):",
        f"  aws sqs get-queue-attributes{region_arg} --queue-url {outputs['DeadLetterQueueUrl']}"
        " --attribute-names ApproximateNumberOfMessages",
        "after fixing the cause, send its messages back to the queue:",
        f"  aws sqs start-message-move-task{region_arg} --source-arn "
        f"{outputs['DeadLetterQueueArn']}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "deploy"):
        command = commands.add_parser(name, help=f"{name} the stack")
        command.add_argument("--stack", required=True)
        command.add_argument("--bucket", required=True, help="the photo bucket")
        command.add_argument("--create-bucket", action="store_true",
                             help="the stack creates the bucket (needs --code-bucket)")
        command.add_argument("--code-bucket", help="bucket for the zip (default: --bucket)")
        command.add_argument("--arch", choices=("arm64", "x86_64"), default="arm64")
        command.add_argument("--zip-dir", type=Path, default=ROOT / "build" / "lambda")
        command.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
        command.add_argument("--region")
    command = commands.add_parser("undeploy", help="remove the stack")
    command.add_argument("--stack", required=True)
    command.add_argument("--region")
    args = parser.parse_args(argv)
    try:
        if args.command == "undeploy":
            undeploy(args.stack, args.region or None)
            return 0
        config = DeployConfig(args.stack, args.bucket, args.zip_dir, args.arch,
                              args.create_bucket, args.code_bucket or None, args.region or None,
                              parse_parameters(args.param))
        if args.command == "check":
            preflight(config)
            return 0
        print(report(deploy(config)))
    except DeployError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish, or make undeploy to remove "
              "what was created", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
