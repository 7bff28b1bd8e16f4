"""The AWS calls of the deploy (boto3): credentials, buckets, the code zip, the stack, the
bucket's notifications. Every AWS error a user can cause becomes a DeployError saying what to do.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from scripts.aws_template import DeployError, UsageError

CODE_PREFIX = "pawlite-deploy/"
NO_CREDENTIALS = ("no AWS credentials found: run `aws configure` (or `aws sso login`), or set "
                  "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


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
    except bx.BotoCoreError as e:
        raise DeployError(f"cannot reach S3 in {region}: {e}") from None
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
    import boto3.exceptions
    import botocore.exceptions as bx

    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    key = f"{CODE_PREFIX}{stack}/{zip_path.stem}-{digest}.zip"
    try:
        existing = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        if not any(o["Key"] == key for o in existing):
            print(f"uploading {zip_path.name} ({zip_path.stat().st_size / 2**20:.1f} MiB) to "
                  f"s3://{bucket}/{key}")
            s3.upload_file(str(zip_path), bucket, key)
    except (bx.ClientError, boto3.exceptions.S3UploadFailedError) as e:
        raise DeployError(f"cannot upload the function zip to s3://{bucket}/{key}: {e}; these "
                          "credentials need s3:ListBucket and s3:PutObject there") from None
    return key


def apply_stack(cloudformation, stack: str, body: str, parameters: dict[str, str]) -> bool:
    """Create or update `stack` and wait; True when it was created now."""
    import botocore.exceptions as bx

    current = find_stack(cloudformation, stack)
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
    found = find_stack(cloudformation, stack) or {}
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def find_stack(cloudformation, stack: str) -> dict | None:
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


def _code(error) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _message(error) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Message", "")) or str(error)
