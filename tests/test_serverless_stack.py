"""The AWS template (deploy/aws/template.yaml) and its deploy tool (scripts/aws_stack.py), deployed
on the local stand-in (moto_server: CloudFormation, S3, SQS, Lambda, IAM).

moto's Lambda would run the function in Docker, so the tests disable the stack's event source
mapping and do its job themselves (`Poller`): receive a batch as it is configured, hand it to the
real handler in this process with the function's environment, delete what succeeded and make
the listed failures visible again, as when their visibility timeout ends. Everything else is the
deployed stack: S3's notifications, the queue, its redrive policy, the dead-letter queue, and
(with moto's IAM authorization on) the function role's permissions.
"""

from __future__ import annotations

import ast
import json
import zipfile

import pytest

from tests.serverless_helpers import BLUE, BUCKET, RED, FakeContext

boto3 = pytest.importorskip("boto3")
yaml = pytest.importorskip("yaml")

from edge import serverless  # noqa: E402
from scripts import aws_resources, aws_stack, aws_template  # noqa: E402

# An S3 notification whose object key is null: no retry can succeed.
POISON = json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                  "s3": {"bucket": {"name": BUCKET}, "object": {"key": None}}}]})
TEMPLATE = yaml.safe_load(aws_template.TEMPLATE.read_text())
RESOURCES = TEMPLATE["Resources"]


def test_visibility_timeout_is_six_function_timeouts_plus_the_batching_window():
    params = TEMPLATE["Parameters"]
    mapping = TEMPLATE["Mappings"]["VisibilityTimeout"]
    assert sorted(mapping, key=int) == params["FunctionTimeout"]["AllowedValues"]
    window = params["BatchingWindowSeconds"]["MaxValue"]
    for timeout, row in mapping.items():
        assert 6 * int(timeout) + window <= row["Seconds"] <= 43200  # SQS's maximum
    queue = RESOURCES["Queue"]["Properties"]
    assert queue["VisibilityTimeout"] == {
        "Fn::FindInMap": ["VisibilityTimeout", {"Ref": "FunctionTimeout"}, "Seconds"]}
    assert RESOURCES["Function"]["Properties"]["Timeout"] == {"Ref": "FunctionTimeout"}
    dead = RESOURCES["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    assert dead > queue["MessageRetentionPeriod"]


def test_the_role_reaches_only_its_prefixes_its_queue_and_its_log_group():
    role = RESOURCES["FunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    grants = set()
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and "Condition" not in statement
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                grants.add((action, json.dumps(statement["Resource"], sort_keys=True)))
    s3 = "arn:${AWS::Partition}:s3:::${BucketName}"
    sub = lambda text: json.dumps({"Fn::Sub": text})  # noqa: E731
    queue = json.dumps({"Fn::GetAtt": ["Queue", "Arn"]})
    logs = json.dumps({"Fn::GetAtt": ["LogGroup", "Arn"]})
    assert grants == {
        ("s3:GetObject", sub(s3 + "/${InputPrefix}*")),
        ("s3:GetObject", sub(s3 + "/${OutputPrefix}*")),
        ("s3:PutObject", sub(s3 + "/${OutputPrefix}*")),
        ("s3:ListBucket", sub(s3)),
        ("sqs:ReceiveMessage", queue), ("sqs:DeleteMessage", queue),
        ("sqs:GetQueueAttributes", queue),
        ("logs:CreateLogStream", logs), ("logs:PutLogEvents", logs)}


def test_notifications_cover_the_image_suffixes_the_tool_adds_to_an_existing_bucket():
    from edge.run.files import image_extensions

    suffixes = TEMPLATE["Metadata"]["Pawlite"]["ImageSuffixes"]
    assert {s.lower() for s in suffixes} <= image_extensions()
    queues = RESOURCES["PhotoBucket"]["Properties"]["NotificationConfiguration"][
        "QueueConfigurations"]
    prefix = {"Fn::If": ["HasInputPrefix", {"Name": "prefix", "Value": {"Ref": "InputPrefix"}},
                         {"Ref": "AWS::NoValue"}]}
    assert [q["Filter"]["S3Key"]["Rules"] for q in queues] == [
        [prefix, {"Name": "suffix", "Value": s}] for s in suffixes]
    mapping = RESOURCES["EventSourceMapping"]["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ReservedConcurrency"}
    alarm = RESOURCES["DeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}


@pytest.mark.parametrize(("param", "message"), [
    ("MemorySize=20000", "MemorySize='20000' is out of range: 512..10240"),
    ("FunctionTimeout=301", "FunctionTimeout='301' is not one of 60, 120, 180, 300, 600, 900"),
    ("ReservedConcurrency=many", "ReservedConcurrency='many' is not a number"),
    ("InputPrefix=incoming", "InputPrefix='incoming' is not valid: expected empty, or a key "
                             "prefix ending in \"/\""),
    ("Memory=2048", "unknown parameter 'Memory': the template takes AlarmTopicArn, "),
    ("CodeKey=x.zip", "--param CodeKey: set by the tool"),
    ("MemorySize", "--param 'MemorySize': write Name=Value"),
])
def test_a_bad_parameter_is_refused_before_anything_is_created(param, message, capsys):
    code = aws_stack.main(["deploy", "--stack", "pets", "--bucket", BUCKET, "--param", param])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in err


def test_a_bad_stack_name_or_bucket_name_is_a_usage_error(capsys):
    assert aws_stack.main(["deploy", "--stack", "1pets", "--bucket", BUCKET]) == 2
    assert "STACK='1pets': use 1-55 letters" in capsys.readouterr().err
    assert aws_stack.main(["deploy", "--stack", "pets", "--bucket", "Photos_2"]) == 2
    assert "BucketName='Photos_2' is not valid: expected an S3 bucket name" in (
        capsys.readouterr().err)


def test_without_credentials_nothing_is_created(s3, monkeypatch, capsys, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = aws_stack.main(["deploy", "--stack", "pets", "--bucket", BUCKET,
                           "--zip-dir", str(fake_zips(tmp_path))])
    assert (code, capsys.readouterr().err) == (1, f"error: {aws_resources.NO_CREDENTIALS}\n")
    assert aws_stack.main(["undeploy", "--stack", "pets"]) == 1
    assert "no AWS credentials found" in capsys.readouterr().err


def test_a_missing_bucket_or_zip_creates_nothing(s3, capsys, tmp_path):
    cloudformation = boto3.client("cloudformation")
    code = aws_stack.main(["deploy", "--stack", "pets", "--bucket", "no-such-photos",
                           "--zip-dir", str(fake_zips(tmp_path))])
    err = capsys.readouterr().err
    assert code == 1 and "bucket 'no-such-photos' does not exist: create it (aws s3 mb" in err
    code = aws_stack.main(["deploy", "--stack", "pets", "--bucket", BUCKET,
                           "--zip-dir", str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert code == 1 and "pawlite-lambda-arm64.zip not found: build it with `make lambda`" in err
    assert cloudformation.describe_stacks()["Stacks"] == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert aws_stack.main(["undeploy", "--stack", "pets"]) == 1
    assert "no stack 'pets' in us-east-1: nothing removed" in capsys.readouterr().err


def fake_zips(folder):
    """Stand-ins for `make lambda`'s zips: moto stores the code, the tests run the handler."""
    folder.mkdir(exist_ok=True)
    for arch in ("arm64", "x86_64"):
        with zipfile.ZipFile(folder / f"pawlite-lambda-{arch}.zip", "w") as z:
            z.writestr("edge/__init__.py", f"# {arch}\n")
    return folder


class Poller:
    """Lambda's SQS poller for the stack's event source mapping, as configured there."""

    def __init__(self, function_name: str, monkeypatch, aws=None) -> None:
        aws = aws or boto3.session.Session()
        functions = aws.client("lambda")
        mapping, = functions.list_event_source_mappings(
            FunctionName=function_name)["EventSourceMappings"]
        functions.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        self.batch_size = mapping["BatchSize"]
        self.queue_arn = mapping["EventSourceArn"]
        self.sqs = aws.client("sqs")
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_arn.split(":")[-1])[
            "QueueUrl"]
        config = functions.get_function_configuration(FunctionName=function_name)
        for name, value in config["Environment"]["Variables"].items():
            monkeypatch.setenv(name, value)
        serverless.reset()
        self.deliveries: dict[str, int] = {}

    def deliver(self) -> dict | None:
        """One batch through the handler; None when the queue is empty."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, self.batch_size),
            AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return None
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"], "attributes": m["Attributes"], "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn, "awsRegion": "us-east-1"}
                   for m in messages]
        response = serverless.handler({"Records": records}, FakeContext(100))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        for m in messages:
            self.deliveries[m["Body"]] = self.deliveries.get(m["Body"], 0) + 1
            if m["MessageId"] in failed:
                self.sqs.change_message_visibility(QueueUrl=self.queue_url,
                                                   ReceiptHandle=m["ReceiptHandle"],
                                                   VisibilityTimeout=0)
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
        return response

    def drain(self, limit: int = 50) -> int:
        for count in range(limit):
            if self.deliver() is None:
                return count
        raise AssertionError(f"the queue still has messages after {limit} batches")


def results(s3, prefix: str) -> dict[str, str]:
    """Result key -> ETag: a rewritten result (new classified_at) has a new ETag."""
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: o["ETag"] for o in listing}


def test_photos_flow_through_the_deployed_stack_and_a_poisoned_message_reaches_the_dlq(
        s3, tmp_path, monkeypatch):
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "someone-else", "QueueArn": other_queue(),
                                 "Events": ["s3:ObjectRemoved:*"]}]})
    outputs = aws_stack.deploy(aws_template.DeployConfig(
        "pets", BUCKET, fake_zips(tmp_path), parameters={
            "OutputPrefix": "labels/", "MaxReceiveCount": "3", "BatchSize": "4"}))
    assert outputs["FunctionName"] == "pets-classify"
    poller = Poller(outputs["FunctionName"], monkeypatch)
    assert poller.batch_size == 4

    s3.put_object(Bucket=BUCKET, Key="incoming/red cat.jpg", Body=RED)
    s3.put_object(Bucket=BUCKET, Key="incoming/blue dog.PNG", Body=BLUE)
    s3.put_object(Bucket=BUCKET, Key="incoming/broken.jpeg", Body=b"not a photo")
    s3.put_object(Bucket=BUCKET, Key="incoming/notes.txt", Body=b"no notification")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/red.jpg", Body=RED)
    assert poller.drain() >= 1
    first = results(s3, "labels/")
    assert sorted(first) == ["labels/incoming/blue dog.PNG.json",
                             "labels/incoming/broken.jpeg.json", "labels/incoming/red cat.jpg.json"]
    read = lambda key: json.loads(  # noqa: E731
        s3.get_object(Bucket=BUCKET, Key=f"labels/incoming/{key}.json")["Body"].read())
    assert (read("red cat.jpg")["label"], read("blue dog.PNG")["label"]) == ("cats", "dogs")
    assert read("broken.jpeg")["error_kind"] == "not-an-image"

    dead_letters = outputs["DeadLetterQueueUrl"]
    sqs = boto3.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=dead_letters)
    sqs.send_message(QueueUrl=poller.queue_url, MessageBody=POISON)
    poller.drain()
    assert poller.deliveries[POISON] == 3
    moved = sqs.receive_message(QueueUrl=dead_letters, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in moved] == [POISON]

    for body in [b for b in poller.deliveries if "ObjectCreated" in b]:
        sqs.send_message(QueueUrl=poller.queue_url, MessageBody=body)
    assert poller.drain() >= 1
    assert results(s3, "labels/") == first

    aws_stack.undeploy("pets")
    remaining = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    assert [c["Id"] for c in remaining] == ["someone-else"]
    assert boto3.client("cloudformation").describe_stacks()["Stacks"] == []
    assert sorted(results(s3, "")) == sorted([*first, "elsewhere/red.jpg", "incoming/blue dog.PNG",
                                              "incoming/broken.jpeg", "incoming/notes.txt",
                                              "incoming/red cat.jpg"])


def other_queue() -> str:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="someone-elses-queue")["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def test_the_stack_can_create_the_bucket_and_keeps_it_when_removed(s3, tmp_path, capsys):
    config = aws_template.DeployConfig("fresh", "pawlite-new-photos", fake_zips(tmp_path),
                                    architecture="x86_64", create_bucket=True)
    assert aws_stack.main(["deploy", "--stack", "fresh", "--bucket", "pawlite-new-photos",
                           "--create-bucket", "--zip-dir", str(tmp_path)]) == 2
    assert "--create-bucket needs --code-bucket" in capsys.readouterr().err
    with pytest.raises(aws_template.UsageError, match="'pawlite-test' already exists"):
        aws_stack.deploy(aws_template.DeployConfig("fresh", BUCKET, tmp_path, create_bucket=True,
                                                code_bucket="pawlite-new-photos"))
    from dataclasses import replace

    outputs = aws_stack.deploy(replace(config, code_bucket=BUCKET))
    assert outputs["BucketName"] == "pawlite-new-photos"
    s3.head_bucket(Bucket="pawlite-new-photos")
    zips = results(s3, "pawlite-deploy/fresh/")
    assert [k.rsplit("-", 1)[0] for k in zips] == ["pawlite-deploy/fresh/pawlite-lambda-x86_64"]
    assert aws_stack.deploy(replace(config, code_bucket=BUCKET))["BucketName"]
    assert results(s3, "pawlite-deploy/fresh/") == zips
    # What CloudFormation sets on AWS (moto skips a new bucket's notifications), beside another.
    s3.put_bucket_notification_configuration(
        Bucket="pawlite-new-photos", NotificationConfiguration={"QueueConfigurations": [
            {"Id": "from-the-template", "QueueArn": outputs["QueueArn"],
             "Events": ["s3:ObjectCreated:*"]},
            {"Id": "someone-else", "QueueArn": other_queue(), "Events": ["s3:ObjectRemoved:*"]}]})
    aws_stack.undeploy("fresh")
    remaining = s3.get_bucket_notification_configuration(Bucket="pawlite-new-photos")
    assert [c["Id"] for c in remaining["QueueConfigurations"]] == ["someone-else"]
    s3.head_bucket(Bucket="pawlite-new-photos")
    assert results(s3, "pawlite-deploy/") == {}


def test_a_new_stack_whose_notifications_s3_refuses_is_deleted_with_its_zip(
        s3, tmp_path, monkeypatch, capsys):
    def refuse(s3, bucket, *args):
        raise aws_template.DeployError(f"cannot set the notifications of bucket {bucket!r}: "
                                    "InvalidArgument Configurations overlap.")

    monkeypatch.setattr(aws_stack, "set_notifications", refuse)
    code = aws_stack.main(["deploy", "--stack", "pets", "--bucket", BUCKET,
                           "--zip-dir", str(fake_zips(tmp_path))])
    err = capsys.readouterr().err
    assert code == 1 and "Configurations overlap" in err
    assert "deleting the new stack pets: its queue would get no photos" in err
    assert boto3.client("cloudformation").describe_stacks()["Stacks"] == []
    assert results(s3, "") == {}


def test_the_function_role_can_do_its_job_and_nothing_else(server, s3, tmp_path, monkeypatch):
    outputs = aws_stack.deploy(aws_template.DeployConfig("pets", BUCKET, fake_zips(tmp_path)))
    iam = boto3.client("iam")
    role_arn = boto3.client("lambda").get_function_configuration(
        FunctionName=outputs["FunctionName"])["Role"]
    role = role_arn.rsplit("/", 1)[1]
    # moto keeps CloudFormation's inline policies as a Python dict, which its own authorizer
    # cannot read (and returns as its repr): write the same document back as JSON.
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            document = ast.literal_eval(document)
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    operator = boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                     aws_secret_access_key=key["SecretAccessKey"],
                                     region_name="us-east-1")
    granted = boto3.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="fn")[
        "Credentials"]
    poller = Poller(outputs["FunctionName"], monkeypatch, operator)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", granted["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", granted["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", granted["SessionToken"])
    function = boto3.session.Session()
    server.set_auth(True)
    try:
        photos = operator.client("s3")
        photos.put_object(Bucket=BUCKET, Key="incoming/red.jpg", Body=RED)
        photos.put_object(Bucket=BUCKET, Key="private/red.jpg", Body=RED)
        poller.drain()
        result = json.loads(photos.get_object(
            Bucket=BUCKET, Key="pawlite-results/incoming/red.jpg.json")["Body"].read())
        assert (result["label"], result["error_kind"]) == ("cats", None)

        from botocore.exceptions import ClientError

        fs, queue = function.client("s3"), function.client("sqs")
        refused = {
            "read outside the input prefix": lambda: fs.get_object(Bucket=BUCKET,
                                                                   Key="private/red.jpg"),
            "write a photo": lambda: fs.put_object(Bucket=BUCKET, Key="incoming/new.jpg",
                                                   Body=RED),
            "write outside the results": lambda: fs.put_object(Bucket=BUCKET, Key="private/x",
                                                               Body=b"{}"),
            "delete a result": lambda: fs.delete_object(
                Bucket=BUCKET, Key="pawlite-results/incoming/red.jpg.json"),
            "create a bucket": lambda: fs.create_bucket(Bucket="another-bucket"),
            "send to its queue": lambda: queue.send_message(QueueUrl=poller.queue_url,
                                                            MessageBody="{}"),
            "read the dead letters": lambda: queue.receive_message(
                QueueUrl=outputs["DeadLetterQueueUrl"]),
        }
        for what, call in refused.items():
            with pytest.raises(ClientError, match="AccessDenied|not authorized"):
                print(what)
                call()
    finally:
        server.set_auth(False)


class FailingCloudFormation:
    """A create that CloudFormation rolls back and deletes (moto creates whatever it is given)."""

    def __init__(self) -> None:
        self.created = None

    def describe_stacks(self, StackName):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "ValidationError",
                                     "Message": f"Stack with id {StackName} does not exist"}},
                          "DescribeStacks")

    def create_stack(self, **args):
        self.created = args
        return {"StackId": "arn:aws:cloudformation:us-east-1:1:stack/pets/abc"}

    def get_waiter(self, name):
        from botocore.exceptions import WaiterError

        class Waiter:
            def wait(self, StackName, WaiterConfig):
                raise WaiterError(name, "Waiter encountered a terminal failure state",
                                  {"Stacks": [{"StackStatus": "DELETE_COMPLETE"}]})

        return Waiter()

    def describe_stack_events(self, StackName):
        assert StackName.startswith("arn:"), "a deleted stack's events are found by its id"
        return {"StackEvents": [
            {"LogicalResourceId": "pets", "ResourceStatus": "DELETE_COMPLETE"},
            {"LogicalResourceId": "Function", "ResourceStatus": "CREATE_FAILED",
             "ResourceStatusReason": "Specified ReservedConcurrentExecutions for function "
                                     "decreases account's UnreservedConcurrentExecution below "
                                     "its minimum value of [100]."},
            {"LogicalResourceId": "Queue", "ResourceStatus": "CREATE_COMPLETE"}]}


def test_a_failed_create_names_the_failed_resource_and_its_reason():
    cloudformation = FailingCloudFormation()
    with pytest.raises(aws_template.DeployError) as caught:
        aws_resources.apply_stack(cloudformation, "pets", "{}", {"BucketName": BUCKET})
    assert str(caught.value) == (
        "creating stack pets failed and was deleted:\n  Function: Specified "
        "ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100].\n"
        "the account's Lambda concurrency quota leaves nothing to reserve: deploy with "
        "PARAMS='ReserveConcurrency=false', or ask AWS for a higher quota")
    assert cloudformation.created["OnFailure"] == "DELETE"


def test_the_region_comes_from_aws_region_as_for_the_aws_cli(s3, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert aws_resources.session(None).region_name == "eu-west-1"
    assert aws_resources.session("us-east-1").region_name == "us-east-1"
    monkeypatch.delenv("AWS_REGION")
    assert aws_stack.main(["undeploy", "--stack", "pets"]) == 2
    assert "no AWS region: set AWS_REGION" in capsys.readouterr().err


def test_an_empty_input_prefix_watches_the_whole_bucket(s3, tmp_path, monkeypatch):
    outputs = aws_stack.deploy(aws_template.DeployConfig(
        "pets", BUCKET, fake_zips(tmp_path), parameters={"InputPrefix": ""}))
    config = s3.get_bucket_notification_configuration(Bucket=BUCKET)["QueueConfigurations"]
    rules = {c["Id"]: [(r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"]]
             for c in config}
    assert rules["pawlite-pets-jpg"] == [("suffix", ".jpg")]
    poller = Poller(outputs["FunctionName"], monkeypatch)
    s3.put_object(Bucket=BUCKET, Key="top.jpg", Body=RED)
    poller.drain()
    assert sorted(results(s3, "pawlite-results/")) == ["pawlite-results/top.jpg.json"]


def test_aws_refusals_the_tool_does_not_foresee_are_reported_without_a_traceback(
        s3, monkeypatch, capsys):
    from botocore.exceptions import ClientError

    def refuse(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}},
                          "DeleteStack")

    monkeypatch.setattr(aws_stack, "find_stack", lambda *args: {"Parameters": []})
    monkeypatch.setattr(aws_stack, "delete_stack", refuse)
    assert aws_stack.main(["undeploy", "--stack", "pets"]) == 1
    assert capsys.readouterr().err == (
        "error: AWS refused or did not answer a request: An error occurred (AccessDenied) when "
        "calling the DeleteStack operation: not allowed\n")


def test_parameters_are_whole_numbers():
    with pytest.raises(aws_template.UsageError, match="MemorySize='1769.5' is not a whole"):
        aws_template.check_parameters(TEMPLATE, {"MemorySize": "1769.5"})
