"""AWS rules the emulator does not enforce, asserted on what the apply created.

moto accepts configurations AWS would let fail quietly: alarms that can never notify, a role
any account's service could assume, a Lambda whose retries outlive it. Each test names the
AWS documentation page that states its rule; the plan-level `terraform test` files assert the
same rules on each module.
"""

from __future__ import annotations

import json

import pytest

from local_stack.emulator import client

pytestmark = [pytest.mark.terraform, pytest.mark.integration, pytest.mark.slow]


def stack_roles(emulator, name: str) -> dict[str, dict]:
    iam = client("iam", emulator)
    return {
        role["RoleName"]: role
        for role in iam.list_roles()["Roles"]
        if role["RoleName"].startswith(name)
    }


def trust_conditions(role: dict) -> dict:
    document = role["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    (statement,) = document["Statement"]
    return statement.get("Condition", {})


def test_alarm_topic_uses_a_key_cloudwatch_may_use(applied_stack, emulator):
    """SNS developer guide, "Enable compatibility between event sources from AWS services and
    encrypted topics"; AWS re:Post, "How do I configure a CloudWatch alarm with an encrypted SNS
    topic?": not the AWS managed alias/aws/sns key, and a key policy for cloudwatch."""
    sns = client("sns", emulator)
    topic = applied_stack["outputs"]["alarm_topic_arn"]
    key = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"]
    assert "alias/aws/" not in key
    policy = json.loads(
        client("kms", emulator).get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    )
    (statement,) = [
        s
        for s in policy["Statement"]
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    ]
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"]


def test_alarms_fire_on_m_out_of_n_periods(applied_stack, emulator):
    """CloudWatch user guide, "Evaluating an alarm": DatapointsToAlarm below EvaluationPeriods
    fires without waiting for every period to breach (an event counted once, a failed
    transform job, fires on its one datapoint). The rollback alarms are SageMaker's, not
    a person's: no actions, and strict on purpose (deployment guardrails, "Auto-Rollback
    Configuration and Monitoring"): one bad minute of a bake rolls back, which costs a retry
    of the deployment, never an outage."""
    outputs = applied_stack["outputs"]
    cloudwatch = client("cloudwatch", emulator)
    alarms = cloudwatch.describe_alarms(AlarmNames=outputs["alarm_names"])["MetricAlarms"]
    assert len(alarms) == len(outputs["alarm_names"]) >= 4
    # A failed transform job is one event, one datapoint: its alarm fires on that one.
    (transform,) = [a for a in alarms if a["MetricName"] == "TriggeredRules"]
    assert transform["DatapointsToAlarm"] == transform["EvaluationPeriods"] == 1
    serving = [a for a in alarms if a is not transform]
    assert all(a["DatapointsToAlarm"] < a["EvaluationPeriods"] for a in serving)
    assert all(a["AlarmActions"] == [outputs["alarm_topic_arn"]] for a in serving)
    assert transform["AlarmActions"] == []  # the topic gets the failed job's own event
    rollback = cloudwatch.describe_alarms(AlarmNames=outputs["endpoint_rollback_alarm_names"])
    assert len(rollback["MetricAlarms"]) == 3
    assert all(a["AlarmActions"] == [] for a in rollback["MetricAlarms"])
    assert all(a["DatapointsToAlarm"] == a["EvaluationPeriods"] for a in rollback["MetricAlarms"])


def test_service_roles_carry_the_confused_deputy_guard(applied_stack, emulator):
    """SageMaker developer guide, "Cross-service confused deputy prevention" (SourceAccount and
    SourceArn); Lambda developer guide, "Working with AWS managed policies in the execution
    role" (SourceAccount)."""
    roles = stack_roles(emulator, applied_stack["name"])
    account = client("sts", emulator).get_caller_identity()["Account"]
    for name, role in roles.items():
        conditions = trust_conditions(role)
        principal = json.dumps(role["AssumeRolePolicyDocument"])
        if "ec2.amazonaws.com" in principal:
            continue  # EC2 assumes instance roles only for instances of this account
        assert conditions["StringEquals"]["aws:SourceAccount"] == account, name
        # The page documents source ARNs for training and inference, none for notebooks.
        if "sagemaker.amazonaws.com" in principal and not name.endswith("-notebook-execution"):
            assert "aws:SourceArn" in conditions["ArnLike"], name


def test_no_role_has_an_aws_managed_policy(applied_stack, emulator):
    """Systems Manager user guide, "Create a custom IAM role for Session Manager": the minimal
    permissions instead of AmazonSSMManagedInstanceCore (which grants ssm:GetParameter* on *)."""
    iam = client("iam", emulator)
    for name in stack_roles(emulator, applied_stack["name"]):
        assert iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"] == [], name


def test_the_lambdas_retries_fit_inside_its_timeout(applied_stack, emulator):
    """boto3 guide, "Retries" (total_max_attempts counts the first attempt); Lambda developer
    guide, quotas (a timed-out function answers nothing)."""
    function = client("lambda", emulator).get_function_configuration(
        FunctionName=applied_stack["outputs"]["lambda_function_name"]
    )
    env = function["Environment"]["Variables"]
    worst = 7 + int(env["INVOKE_ATTEMPTS"]) * (2 + float(env["INVOKE_TIMEOUT_SECONDS"])) + 1
    assert worst <= function["Timeout"] < 30
    assert float(env["FUNCTION_TIMEOUT_SECONDS"]) == function["Timeout"]


def test_missing_inputs_can_be_told_from_refusals(applied_stack, emulator):
    """S3 API reference, GetObject and HeadObject: without s3:ListBucket a missing key answers
    403, not 404. Roles that must tell "absent" from "refused" may list their prefixes."""
    iam = client("iam", emulator)
    for suffix, prefix in (("-invoker", "inference-input/"), ("-training-instance", "models/")):
        (name,) = [n for n in stack_roles(emulator, applied_stack["name"]) if n.endswith(suffix)]
        statements = [
            s
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
            for s in iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"][
                "Statement"
            ]
            if "s3:ListBucket" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        ]
        assert statements, f"{name} cannot list, so S3 hides missing keys behind 403"
        prefixes = statements[0]["Condition"]["StringLike"]["s3:prefix"]
        prefixes = prefixes if isinstance(prefixes, list) else [prefixes]
        assert any(p.startswith(prefix) for p in prefixes), (name, prefixes)


def test_answers_never_carry_the_account_id(applied_stack, emulator):
    """The bucket's name holds the account id; the Lambda reports a label instead."""
    function = client("lambda", emulator).get_function_configuration(
        FunctionName=applied_stack["outputs"]["lambda_function_name"]
    )
    version = function["Environment"]["Variables"]["MODEL_VERSION"]
    assert version == "models/run-1"
    assert applied_stack["outputs"]["bucket_name"] not in json.dumps(
        function["Environment"]["Variables"]["MODEL_VERSION"]
    )


def test_an_isolated_model_knows_s3_input_cannot_work(applied_stack, emulator):
    sagemaker = client("sagemaker", emulator)
    endpoint = sagemaker.describe_endpoint(EndpointName=applied_stack["outputs"]["endpoint_name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["EnableNetworkIsolation"] is True
    assert model["PrimaryContainer"]["Environment"]["S3_INPUT_ENABLED"] == "false"
