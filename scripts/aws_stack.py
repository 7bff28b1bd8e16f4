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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.aws_resources import (  # noqa: E402
    CODE_PREFIX,
    apply_stack,
    check_bucket,
    delete_stack,
    find_stack,
    remove_notifications,
    session,
    set_notifications,
    stack_outputs,
    upload_code,
)
from scripts.aws_template import (  # noqa: E402
    ROOT,
    STACK_NAME,
    DeployConfig,
    DeployError,
    UsageError,
    check_config,
    parse_parameters,
    stack_parameters,
)


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
    found = find_stack(aws.client("cloudformation"), config.stack) or {}
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
    existed = find_stack(cloudformation, config.stack) is not None
    key = upload_code(s3, code_bucket, config.stack, config.zip_path)
    try:
        apply_stack(cloudformation, config.stack, config.template.read_text(),
                    stack_parameters(config, key))
        outputs = stack_outputs(cloudformation, config.stack)
        # A parameter, not an output: CloudFormation has no empty outputs (the whole bucket).
        outputs["InputPrefix"] = config.parameters.get(
            "InputPrefix", template["Parameters"]["InputPrefix"]["Default"])
        if not config.create_bucket:
            set_notifications(s3, config.bucket, config.stack, outputs["QueueArn"],
                              outputs["InputPrefix"],
                              template["Metadata"]["Pawlite"]["ImageSuffixes"])
    except DeployError:
        if not existed:
            if find_stack(cloudformation, config.stack) is not None:
                print(f"deleting the new stack {config.stack}: its queue would get no photos",
                      file=sys.stderr)
                delete_stack(cloudformation, config.stack)
            try:
                s3.delete_object(Bucket=code_bucket, Key=key)
            except Exception as e:  # the first error is the one to report
                print(f"warning: s3://{code_bucket}/{key} is left behind: {e}", file=sys.stderr)
        raise
    return {**outputs, "Region": aws.region_name}


def undeploy(stack: str, region: str | None = None) -> None:
    """Remove the notifications, the stack and its uploaded zips; photos and results stay."""
    if not STACK_NAME.fullmatch(stack or ""):
        raise UsageError(f"STACK={stack!r}: name the stack to remove, e.g. make undeploy "
                         "STACK=pawlite")
    aws = session(region)
    cloudformation, s3 = aws.client("cloudformation"), aws.client("s3")
    found = find_stack(cloudformation, stack)
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
    except ModuleNotFoundError as e:
        if e.name not in ("boto3", "botocore", "yaml"):
            raise
        print(f"error: {e.name} is not installed: run make install (or pip install boto3 "
              "pyyaml)", file=sys.stderr)
        return 1
    except Exception as e:
        if not isinstance(e, _aws_errors()):
            raise
        print(f"error: AWS refused or did not answer a request: {e}", file=sys.stderr)
        return 1
    return 0


def _aws_errors() -> tuple[type[Exception], ...]:
    """AWS's own refusals and network failures: reported, not a bug of this tool."""
    import botocore.exceptions as bx

    return bx.ClientError, bx.BotoCoreError


if __name__ == "__main__":
    sys.exit(main())
