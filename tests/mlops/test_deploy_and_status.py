"""``deploy`` (Terraform variable or direct UpdateEndpoint) and ``status`` against the emulator."""

from __future__ import annotations

import logging

import hcl2
import pytest

from local_stack.emulator import client
from tests.mlops.conftest import JobsStack

pytestmark = pytest.mark.integration


def model_url(stack: JobsStack, run: str) -> str:
    return f"s3://{stack.bucket}/models/{run}/model.tar.gz"


def test_deploy_prints_the_terraform_variable(serving_stack, capsys):
    url = model_url(serving_stack, "run-2")
    serving_stack.run("deploy", "--model-data", url)
    assert capsys.readouterr().out == f'model_data_url = "{url}"\n'


def test_deploy_writes_the_terraform_variable_into_tfvars(serving_stack, tmp_path):
    tfvars = tmp_path / "prod.tfvars"
    tfvars.write_text('name = "dog-breeds"\nmodel_data_url = "s3://old/models/a/model.tar.gz"\n')
    url = model_url(serving_stack, "run-2")
    serving_stack.run("deploy", "--model-data", url, "--tfvars", str(tfvars))
    assert hcl2.loads(tfvars.read_text()) == {
        "name": '"dog-breeds"',
        "model_data_url": f'"{url}"',
    }


def test_deploy_direct_moves_the_endpoint_to_a_new_configuration(serving_stack, emulator):
    sagemaker = client("sagemaker", emulator)
    endpoint = f"{serving_stack.prefix}-endpoint"
    # Auto scaling has grown the variant to 2 instances; the update must keep them.
    sagemaker.update_endpoint_weights_and_capacities(
        EndpointName=endpoint,
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}],
    )
    before = sagemaker.describe_endpoint(EndpointName=endpoint)
    url = model_url(serving_stack, "run-2")

    serving_stack.run("deploy", "--direct", "--model-data", url, "--poll-seconds", "1")

    after = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    assert after["EndpointConfigName"].startswith(f"{serving_stack.prefix}-config-")
    assert after["ProductionVariants"][0]["DesiredInstanceCount"] == 2
    config = sagemaker.describe_endpoint_config(EndpointConfigName=after["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["InstanceType"] == "ml.m5.large"
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    old_model = sagemaker.describe_model(ModelName=f"{endpoint}-model-1")
    assert model["PrimaryContainer"]["ModelDataUrl"] == url
    assert model["PrimaryContainer"]["Image"] == old_model["PrimaryContainer"]["Image"]
    assert model["PrimaryContainer"]["Environment"] == {"SAGEMAKER_PROGRAM": "inference.py"}
    assert model["ExecutionRoleArn"] == old_model["ExecutionRoleArn"]
    assert model["EnableNetworkIsolation"] is True
    assert sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"] == [
        {"Key": "Team", "Value": "ml-platform"}
    ]
    # The previous configuration stays, for a rollback.
    sagemaker.describe_endpoint_config(EndpointConfigName=before["EndpointConfigName"])


def test_deploy_from_a_training_job_serves_its_model(serving_stack, emulator, capsys):
    job = serving_stack.run("train")
    capsys.readouterr()
    artifact = f"models/{job}/output/model.tar.gz"
    client("s3", emulator).put_object(Bucket=serving_stack.bucket, Key=artifact, Body=b"tar")
    serving_stack.run("deploy", "--from-job", job)
    assert capsys.readouterr().out == f'model_data_url = "s3://{serving_stack.bucket}/{artifact}"\n'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model-data", "s3://{bucket}/models/run-9/model.tar.gz"), "does not exist"),
        (("--model-data", "s3://{bucket}/data/model.tar.gz"), "outside s3://{bucket}/models/"),
        (("--model-data", "https://example.com/model.tar.gz"), "must be an s3://bucket/key"),
        (("--model-data", "s3://{bucket}/models/run-1/"), "expected a model.tar.gz"),
        (("--from-job", "no-such-job"), "no such training job"),
        (("--model-data", "{run2}", "--poll-seconds", "0"), "need 1 <= --poll-seconds"),
        (
            ("--direct", "--endpoint-name", "missing", "--model-data", "{run2}"),
            "endpoint missing does not exist",
        ),
    ],
)
def test_bad_deployments_get_a_clear_error(serving_stack, caplog, args, message):
    fill = {"bucket": serving_stack.bucket, "run2": model_url(serving_stack, "run-2")}
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        serving_stack.run("deploy", *(arg.format(**fill) for arg in args))
    assert exit_info.value.code == 2
    assert message.format(**fill) in caplog.text


def test_status_shows_jobs_metrics_and_the_endpoint(serving_stack, capsys):
    tuning = serving_stack.run("tune", "--spot")
    training = serving_stack.run("train", "--instance-count", "2")
    capsys.readouterr()

    table = serving_stack.run("status")

    assert capsys.readouterr().out == table + "\n"
    lines = table.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "STATUS", "CREATED", "DETAIL"]
    rows = {line.split()[1]: line for line in lines[2:]}
    assert "6/6 trials done; best " in rows[tuning]
    assert "valid_loss=0.3700" in rows[tuning]
    assert "2 x ml.m5.xlarge" in rows[training]
    assert not [name for name in rows if name.startswith(f"{tuning}-")], "trials are summed up"
    endpoint_row = rows[f"{serving_stack.prefix}-endpoint"]
    assert "InService" in endpoint_row
    assert model_url(serving_stack, "run-1") in endpoint_row


def test_status_of_a_tuning_job_lists_trials_best_first(jobs_stack, capsys):
    tuning = jobs_stack.run("tune", "--max-jobs", "4", "--max-parallel-jobs", "2")
    capsys.readouterr()
    table = jobs_stack.run("status", "--tuning-job", tuning)
    lines = table.splitlines()
    assert lines[0] == f"{tuning}: Completed, minimize valid_loss"
    assert lines[1].split() == ["TRIAL", "STATUS", "VALID_LOSS", "HYPERPARAMETERS"]
    losses = [float(line.split()[2]) for line in lines[3:]]
    assert len(losses) == 4
    assert losses == sorted(losses)
    assert all("lr=" in line and "batch-size=" in line for line in lines[3:])


def test_status_refuses_a_limit_the_api_cannot_take(jobs_stack, caplog):
    with caplog.at_level(logging.ERROR, logger="mlops"), pytest.raises(SystemExit) as exit_info:
        jobs_stack.run("status", "--limit", "0")
    assert exit_info.value.code == 2
    assert "--limit must be between 1 and 100" in caplog.text
