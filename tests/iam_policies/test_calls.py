"""Recorded requests named as IAM calls: the operation from botocore's model, the action and
resource from the Service Authorization Reference, the dependent actions AWS checks too.
Requests are recorded by the real emulator (RecordingApp around moto server) where it
matters, and built by hand for the rules of one service."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iam_policies.calls import SERVICES, IamCall, Translator, UnknownCallError, caller
from local_stack.emulator import client
from local_stack.emulator.recorder import RecordedRequest


def request(service: str, method: str, path: str, **fields) -> RecordedRequest:
    return RecordedRequest(
        service=service,
        region="us-east-1",
        method=method,
        path=path,
        query=fields.get("query", {}),
        headers=fields.get("headers", {}),
        body=fields.get("body", b""),
    )


def named(*requests: RecordedRequest) -> list[tuple[str, str]]:
    translator = Translator()
    return [(c.action, c.resource) for r in requests for c in translator.calls(r)]


def test_the_emulator_records_each_signed_call_as_iam_names_it(emulator):
    if emulator.recorder is None:
        pytest.skip("an emulator this session did not start records nothing here")
    s3 = client("s3", emulator)
    s3.create_bucket(Bucket="recorded-calls")
    mark = emulator.recorder.mark()
    s3.put_object(Bucket="recorded-calls", Key="a/b.txt", Body=b"x")
    s3.head_object(Bucket="recorded-calls", Key="a/b.txt")
    s3.copy_object(Bucket="recorded-calls", Key="c.txt", CopySource="recorded-calls/a/b.txt")
    s3.list_objects_v2(Bucket="recorded-calls")
    client("sts", emulator).get_caller_identity()  # needs no permission

    assert named(*emulator.recorder.since(mark)) == [
        ("s3:PutObject", "arn:aws:s3:::recorded-calls/a/b.txt"),
        ("s3:GetObject", "arn:aws:s3:::recorded-calls/a/b.txt"),
        ("s3:PutObject", "arn:aws:s3:::recorded-calls/c.txt"),
        ("s3:GetObject", "arn:aws:s3:::recorded-calls/a/b.txt"),
        ("s3:ListBucket", "arn:aws:s3:::recorded-calls"),
    ]


def test_a_tagged_create_needs_the_tagging_action_and_passing_its_role():
    """SageMaker checks sagemaker:AddTags when a create carries tags, and iam:PassRole for
    the role it is given (Service Authorization Reference, dependent actions)."""
    body = {
        "ModelName": "dog-breeds-1",
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/dog-breeds-endpoint",
        "Tags": [{"Key": "Project", "Value": "dog-breeds"}],
    }
    calls = named(
        request(
            "sagemaker",
            "POST",
            "/",
            headers={"x-amz-target": "SageMaker.CreateModel"},
            body=json.dumps(body).encode(),
        )
    )
    model = "arn:aws:sagemaker:us-east-1:123456789012:model/dog-breeds-1"
    assert calls == [
        ("sagemaker:CreateModel", model),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/dog-breeds-endpoint"),
        ("sagemaker:AddTags", model),
    ]


def test_an_instance_profile_passes_the_role_it_holds():
    profile = {"InstanceProfileName": ["dog-breeds-training"], "RoleName": ["dog-breeds-ec2"]}
    run = {
        "Action": ["RunInstances"],
        "ImageId": ["ami-1"],
        "IamInstanceProfile.Name": ["dog-breeds-training"],
    }
    calls = named(
        request("iam", "POST", "/", query={"Action": ["AddRoleToInstanceProfile"], **profile}),
        request("ec2", "POST", "/", query=run),
    )
    assert ("iam:PassRole", "arn:aws:iam::123456789012:role/dog-breeds-ec2") in calls
    assert ("ec2:RunInstances", "arn:aws:ec2:us-east-1::image/ami-1") in calls
    assert ("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:volume/*") in calls


def test_api_gateway_authorizes_the_verb_on_the_path():
    assert named(request("apigateway", "POST", "/v2/apis/abc123/routes")) == [
        ("apigateway:POST", "arn:aws:apigateway:us-east-1::/apis/abc123/routes")
    ]


def test_the_caller_and_its_app_come_from_the_user_agent():
    assert caller("Boto3/1.44 md/Botocore#1.44 app/dbt-1-operate mlops/train") == (
        "mlops/train",
        "dbt-1-operate",
    )
    assert caller("APN/1.0 HashiCorp/1.0 Terraform/1.11.4 app/dbt-1-deploy") == (
        "terraform",
        "dbt-1-deploy",
    )
    assert caller("curl/8") == ("other", "")


def test_a_service_nobody_named_is_refused():
    with pytest.raises(UnknownCallError, match="glacier"):
        named(request("glacier", "GET", "/-/vaults"))


@settings(max_examples=150, deadline=None)
@given(
    service=st.sampled_from(sorted(SERVICES)),
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
    path=st.text(max_size=40).map(lambda p: "/" + p),
    query=st.dictionaries(st.text(max_size=10), st.lists(st.text(max_size=10), max_size=2)),
    target=st.one_of(st.none(), st.text(max_size=30)),
    content_type=st.sampled_from(
        ["", "application/x-amz-json-1.1", "application/x-www-form-urlencoded"]
    ),
    body=st.binary(max_size=60),
)
def test_any_request_is_named_or_refused_with_a_reason(
    service, method, path, query, target, content_type, body
):
    headers = {"content-type": content_type} | ({"x-amz-target": target} if target else {})
    recorded = request(service, method, path, query=query, headers=headers, body=body)
    try:
        calls = Translator().calls(recorded)
    except UnknownCallError as refused:
        refusal = str(refused)
        calls = []
    else:
        refusal = None
    assert refusal is None or refusal.strip(), "a refusal must say why"
    assert all(isinstance(c, IamCall) and c.action.count(":") == 1 for c in calls)


def sagemaker_request(operation: str, body: dict) -> RecordedRequest:
    return request(
        "sagemaker",
        "POST",
        "/",
        headers={"x-amz-target": f"SageMaker.{operation}"},
        body=json.dumps(body).encode(),
    )


def test_a_tuning_job_passes_the_role_of_its_training_definition():
    body = {
        "HyperParameterTuningJobName": "dog-breeds-tune-1",
        "TrainingJobDefinition": {"RoleArn": "arn:aws:iam::123456789012:role/dog-breeds-training"},
    }
    calls = named(sagemaker_request("CreateHyperParameterTuningJob", body))
    assert ("iam:PassRole", "arn:aws:iam::123456789012:role/dog-breeds-training") in calls


def test_a_registry_version_is_authorized_on_its_group():
    calls = named(sagemaker_request("CreateModelPackage", {"ModelPackageGroupName": "dbt-models"}))
    base = "arn:aws:sagemaker:us-east-1:123456789012"
    assert ("sagemaker:CreateModelPackage", f"{base}:model-package/dbt-models/*") in calls
    assert ("sagemaker:CreateModelPackage", f"{base}:model-package-group/dbt-models") in calls


def test_creates_that_carry_tags_need_the_services_tagging_action():
    """IAM User Guide, "Permissions required for tagging IAM resources"; Lambda's
    CreateFunction reference: tags on create need the tagging permission."""
    role = {"Action": ["CreateRole"], "RoleName": ["dbt-x"], "Tags.member.1.Key": ["Project"]}
    assert ("iam:TagRole", "arn:aws:iam::123456789012:role/dbt-x") in named(
        request("iam", "POST", "/", query=role)
    )
    function = {"FunctionName": "dbt-x", "Role": "arn:aws:iam::123456789012:role/dbt-x"}
    calls = named(
        request(
            "lambda",
            "POST",
            "/2015-03-31/functions",
            headers={"content-type": "application/json"},
            body=json.dumps(function | {"Tags": {"Project": "dbt"}}).encode(),
        )
    )
    assert ("lambda:TagResource", "arn:aws:lambda:us-east-1:123456789012:function:dbt-x") in calls
    assert ("iam:PassRole", "arn:aws:iam::123456789012:role/dbt-x") in calls


def test_a_batch_delete_is_authorized_on_the_objects():
    assert named(request("s3", "POST", "/dbt-data", query={"delete": [""]})) == [
        ("s3:DeleteObject", "arn:aws:s3:::dbt-data/*")
    ]


def test_an_eventbridge_rule_action_is_authorized_on_the_rule():
    """The reference lists a rule on the default bus and one on a custom bus for PutRule, and
    requires neither: the stack's rules are on the default bus, and named so, not "*"."""
    operations = {
        **dict.fromkeys(("PutRule", "DescribeRule", "DeleteRule"), "Name"),
        **dict.fromkeys(("PutTargets", "RemoveTargets", "ListTargetsByRule"), "Rule"),
    }
    for operation, parameter in operations.items():
        calls = named(
            request(
                "events",
                "POST",
                "/",
                headers={"x-amz-target": f"AWSEvents.{operation}"},
                body=json.dumps({parameter: "dbt-transform-failed"}).encode(),
            )
        )
        rule = "arn:aws:events:us-east-1:123456789012:rule/dbt-transform-failed"
        assert calls == [(f"events:{operation}", rule)]
