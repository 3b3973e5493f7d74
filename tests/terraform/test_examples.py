"""The examples a platform team copies (terraform/examples/), each applied to the emulator as
its README says, checked through boto3, and destroyed with nothing left behind.

They run from one scratch copy of terraform/ (``make_workspace``, which also builds the Lambda
zip the serverless example reads at ../../../build/lambda.zip), applied and destroyed side by
side: most of an apply is the provider waiting (the data bucket's lifecycle configuration
alone takes about a minute on the emulator), which leaves the cores idle. What the emulator
cannot do is switched off as terraform/emulator.tfvars does for the root module: here only
the invoker's provisioned concurrency (moto has no PutProvisionedConcurrencyConfig), which the
serverless example defaults to 0 anyway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_stack.demo.terraform import Terraform, make_workspace
from local_stack.emulator import client, client_factory
from tests.stack import delete_state_bucket

pytestmark = [pytest.mark.terraform, pytest.mark.integration]

# The moto gaps the examples' applies meet (local_stack/emulator/shims.py).
NEEDS = {
    "scaling_tags",
    "s3_tls_only_policy",
    "sagemaker_model_description",
    "sagemaker_unique_names",
    "sagemaker_deployment_config",
}
ACCOUNT = "123456789012"  # moto's
REPOSITORY = "example-org/dog-breeds"
STACK_STATE_KEY = "dog-breeds/terraform.tfstate"
TEAM_STATE_KEY = "team/ci-roles.tfstate"


@dataclass
class Example:
    """One example applied to the emulator: its working directory, the variables it was
    applied with, and its outputs."""

    terraform: Terraform
    name: str
    variables: dict
    outputs: dict | None = None


def minimal(name: str) -> dict:
    return {
        "name": name,
        "model_data_url": f"s3://{name}-{ACCOUNT}/models/run-1/model.tar.gz",
        "tags": {"Team": "ml-platform"},
    }


def serverless_http_api(name: str) -> dict:
    return {
        "name": name,
        "model_data_url": f"s3://models-{ACCOUNT}/models/run-1/model.tar.gz",
        # Its default already; said here because the emulator cannot take anything else.
        "lambda_provisioned_concurrency": 0,
    }


def team_setup(name: str) -> dict:
    return {"stack_name": name, "repository": REPOSITORY, "state_bucket": f"tfstate-{name}"}


EXAMPLES: dict[str, Callable[[str], dict]] = {
    "minimal": minimal,
    "serverless_http_api": serverless_http_api,
    "team_setup": team_setup,
}


def prepare(workspace: Path, emulator, example: str) -> Example:
    name = f"ex-{uuid.uuid4().hex[:6]}"
    variables = EXAMPLES[example](name)
    state = None
    if example == "team_setup":
        # What terraform/bootstrap makes (tests/stack.py applies it, test_remote_state.py
        # checks it), reduced to what the example needs: a versioned bucket.
        s3 = client("s3", emulator)
        s3.create_bucket(Bucket=variables["state_bucket"])
        s3.put_bucket_versioning(
            Bucket=variables["state_bucket"], VersioningConfiguration={"Status": "Enabled"}
        )
        # The bootstrap's backend_config names the stack's key; the README gives this
        # configuration its own with a second -backend-config.
        state = (variables["state_bucket"], STACK_STATE_KEY)
    terraform = Terraform(workspace / "examples" / example)
    terraform.use_emulator(emulator, state=state)
    if state is not None:
        terraform.init_args.append(f"-backend-config=key={TEAM_STATE_KEY}")
    return Example(terraform, name, variables)


def apply(example: Example) -> Example:
    example.terraform.init()
    example.terraform.apply(example.variables)
    example.outputs = example.terraform.outputs()
    return example


def destroy(example: Example) -> None:
    """Whatever an apply made, even one that failed half-way."""
    if (example.terraform.workdir / ".terraform").exists():
        example.terraform.destroy(example.variables)
        assert example.terraform.state_resources() == []


@pytest.fixture(scope="module")
def examples(tmp_path_factory, emulator, terraform_binary) -> dict[str, Future]:
    """Every example applied, side by side; destroyed at the end, and checked gone."""
    emulator.require(NEEDS, "the examples' terraform apply", client_factory(emulator))
    workspace = make_workspace(tmp_path_factory.mktemp("tf-examples"))
    prepared = {example: prepare(workspace, emulator, example) for example in EXAMPLES}
    with ThreadPoolExecutor(max_workers=len(EXAMPLES)) as pool:
        yield {example: pool.submit(apply, prepared[example]) for example in EXAMPLES}
    # The pool has waited for every apply; a failed one was reported by its test.
    with ThreadPoolExecutor(max_workers=len(EXAMPLES)) as pool:
        for destroyed in [pool.submit(destroy, example) for example in prepared.values()]:
            destroyed.result()
    for example in prepared.values():
        assert_nothing_left(emulator, example)


def assert_nothing_left(emulator, example: Example) -> None:
    name = example.name
    iam, s3 = client("iam", emulator), client("s3", emulator)
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(name)]
    assert not [b for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(name)]
    sagemaker = client("sagemaker", emulator)
    assert not [e for e in sagemaker.list_endpoints()["Endpoints"] if e["EndpointName"] == name]
    assert not client("application-autoscaling", emulator).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{name}/variant/AllTraffic"]
    )["ScalableTargets"]
    functions = client("lambda", emulator).list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith(name)]
    apis = client("apigatewayv2", emulator).get_apis()["Items"]
    assert not [a for a in apis if a["Name"].startswith(name)]
    if "state_bucket" in example.variables:
        assert not iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        delete_state_bucket(s3, example.variables["state_bucket"])


def test_every_example_is_tested():
    folders = Path(__file__).parents[2] / "terraform" / "examples"
    assert sorted(p.name for p in folders.iterdir() if p.is_dir()) == sorted(EXAMPLES)


def test_minimal_trains_into_its_bucket_and_serves_a_model_url(examples, emulator):
    example = examples["minimal"].result()
    name, outputs = example.name, example.outputs
    s3, iam, sagemaker = (client(s, emulator) for s in ("s3", "iam", "sagemaker"))
    bucket = outputs["bucket_name"]
    assert bucket == f"{name}-{ACCOUNT}"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"Project": name, "ManagedBy": "terraform", "Team": "ml-platform"}
    role = outputs["sagemaker_training_role_arn"].rsplit("/", 1)[1]
    assert role == f"{name}-training"
    assert iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert "/pytorch-training:" in outputs["training_image_uri"]
    endpoint = sagemaker.describe_endpoint(EndpointName=outputs["endpoint_name"])
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelDataUrl"] == example.variables["model_data_url"]
    assert client("application-autoscaling", emulator).describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{name}/variant/AllTraffic"]
    )["ScalableTargets"]


def test_serverless_http_api_fronts_a_serverless_endpoint(examples, emulator):
    example = examples["serverless_http_api"].result()
    name, outputs = example.name, example.outputs
    sagemaker, gateway = client("sagemaker", emulator), client("apigatewayv2", emulator)
    endpoint = sagemaker.describe_endpoint(EndpointName=outputs["endpoint_name"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 5}
    function = client("lambda", emulator).get_function(
        FunctionName=outputs["function_name"], Qualifier="live"
    )
    assert function["Configuration"]["Environment"]["Variables"]["ENDPOINT_NAME"] == name
    (api,) = [a for a in gateway.get_apis()["Items"] if a["Name"] == f"{name}-api"]
    routes = gateway.get_routes(ApiId=api["ApiId"])["Items"]
    assert [r["RouteKey"] for r in routes] == ["POST /classify"]
    assert api["ApiId"] in outputs["classify_url"]
    assert outputs["classify_url"].endswith("/classify")


def test_team_setup_keeps_its_state_in_the_state_bucket_and_makes_the_ci_roles(examples, emulator):
    example = examples["team_setup"].result()
    name, outputs, bucket = example.name, example.outputs, example.variables["state_bucket"]
    s3, iam = client("s3", emulator), client("iam", emulator)
    state = json.loads(s3.get_object(Bucket=bucket, Key=TEAM_STATE_KEY)["Body"].read())
    assert state["resources"]
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=STACK_STATE_KEY).get("Contents")
    assert not (example.terraform.workdir / "terraform.tfstate").exists()
    for role in ("deployer", "planner"):
        assert outputs[f"ci_{role}_role_arn"].endswith(f":role/{name}-ci-{role}")
        trust = iam.get_role(RoleName=f"{name}-ci-{role}")["Role"]["AssumeRolePolicyDocument"]
        assert f"repo:{REPOSITORY}:" in json.dumps(trust)
    attached = iam.list_attached_role_policies(RoleName=f"{name}-ci-deployer")
    text = "".join(
        json.dumps(policy_document(iam, policy["PolicyArn"]))
        for policy in attached["AttachedPolicies"]
    )
    # The deployer writes the stack's state and its lock file there; this state is no job's.
    assert f"arn:aws:s3:::{bucket}/{STACK_STATE_KEY}.tflock" in text
    assert TEAM_STATE_KEY not in text


def policy_document(iam, arn: str) -> dict:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
