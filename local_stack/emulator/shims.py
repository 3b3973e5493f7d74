"""Patches for the moto 5.2.5 gaps this project meets, in one place, each with its reason.

- Application Auto Scaling has no ListTagsForResource/TagResource/UntagResource; the AWS
  provider retries them until it times out, so ``terraform apply`` hangs. The shim keeps the
  tags in a dict by ARN (also those RegisterScalableTarget carries), so applies finish and a
  re-plan sees the tags it set.
- EC2 MonitorInstances/UnmonitorInstances (detailed monitoring) raise NotImplementedError, and
  the provider retries them; the shim sets the instance's monitoring state.
- S3 bucket policies are enforced without their conditions, so a TLS-only policy (Deny when
  aws:SecureTransport is false) denies every request. The emulator speaks plain HTTP on
  loopback where AWS would see HTTPS, so the shim leaves exactly those statements out.
- S3 fails with a server error deleting a version of a key that has a delete marker once the
  bucket's versioning is suspended (a delete marker lacks the ``dispose`` its key store calls);
  terraform destroy suspends versioning before emptying a force_destroy bucket and retries the
  deletes for ever. The shim gives delete markers the no-op a marker needs (it holds no data).
- Lambda's Invoke reads the version or alias to run from a ``qualifier`` parameter where
  clients send ``Qualifier``, so it runs $LATEST whatever is asked (an alias the stack deploys,
  a version that does not exist); its Docker-free backend answers even for a function that
  does not exist; and a payload that is not UTF-8 gets a server error, one that is not JSON
  an echo. The shim passes the Qualifier on, looks the function up first, and takes the
  payload as bytes: ResourceNotFoundException and InvalidRequestContentException (400), as
  AWS answers (API_Invoke).
- SageMaker:
  - CreateModel drops EnableNetworkIsolation (DescribeModel always says false); the shim keeps it.
    And DescribeModel reports an empty VpcConfig for a model created without one (AWS leaves it
    out), so the provider plans to replace every model; the shim leaves it out.
  - CreateModel and CreateEndpointConfig overwrite an existing one of the same name, where
    SageMaker refuses ("Cannot create already existing ..."); a replacement under the same
    name would then pass here and fail in AWS. The shim refuses as SageMaker does.
  - CreateTrainingJob replaces the caller's MetricDefinitions with a canned one and reports a
    canned ``train:progress`` metric; the shim keeps the definitions and reports no metrics.
  - CreateHyperParameterTuningJob runs no trials and describes a canned best job that does not
    exist. With local mode on, its trials run for real (``tuning``); off, the shim records
    the search the way the service reports it: one completed training job per allowed trial,
    the strategy's candidates, objective values from ``TRIAL_OBJECTIVES``, and the best trial
    chosen by the objective's direction. ListTrainingJobsForHyperParameterTuningJob, missing
    in moto, lists them.
  - InvokeEndpointAsync answers for any endpoint, at a canned location in a bucket of its own;
    the shim checks the call and answers where the endpoint's AsyncInferenceConfig puts the
    answer, and local mode serves the queue (``async_inference``). InvokeEndpoint on an
    asynchronous endpoint is refused, as the guide says it takes asynchronous calls only.
  - CreateEndpointConfig drops ShadowProductionVariants (a candidate model that receives a
    copy of the traffic), so the provider plans to replace a configuration with one every time;
    the shim keeps them, describes them, refuses more than one shadow or production variant
    beside it ("Create a shadow test"), and DescribeEndpoint summarises them as AWS does.
  - UpdateEndpoint is missing; the shim moves the endpoint to the new configuration at once
    (real endpoints pass through ``Updating``), keeping instance counts when asked to, and
    refuses, as SageMaker does, to change the instance type of (or remove) a variant that is
    registered with Application Auto Scaling ("Update endpoints that use auto scaling").
  - DescribeEndpointConfig reports an empty DataCaptureConfig for a configuration created
    without one (AWS leaves it out), and the provider plans to replace the configuration (a
    serverless one: they cannot capture); the shim leaves it out.
  - CreateEndpoint and UpdateEndpoint drop DeploymentConfig, so DescribeEndpoint has no
    LastDeploymentConfig and the provider plans to replace every endpoint with deployment
    guardrails; the shim keeps it.
  - Model registry: UpdateModelPackage clears what it is not given (the approval status, the
    metadata), where AWS changes only what it is given; DeleteModelPackage and
    DeleteModelPackageGroup are missing, so `terraform destroy` of the group fails. The shim
    updates only the given fields, deletes versions, and deletes a group only when it holds
    none (AWS answers ConflictException otherwise).
  - InvokeEndpoint (sagemaker-runtime) fails with a server error for a body that is not
    UTF-8 (an image, as every client sends one), and answers canned data for an endpoint that
    does not exist. The shim takes the body as bytes and refuses an unknown endpoint with
    SageMaker's ValidationError; local mode (``endpoints``) answers with the endpoint's model.
  - ListTags/AddTags/DeleteTags fail on a notebook instance lifecycle configuration's ARN
    (moto's ARN lookup does not know that kind), and the provider retries for minutes; and
    CreateNotebookInstanceLifecycleConfig drops its Tags. The shim keeps them on the
    configuration.

- EventBridge's TestEventPattern answers nothing; the shim answers with moto's own pattern
  matcher (the one its rules use), and refuses an event without the fields AWS requires (id,
  account, source, time, region, resources, detail-type).

Every shim has a probe in ``probes`` that tells whether an emulator behaves as AWS
does there; ``tests/local_stack/test_emulator_shims.py`` runs each against an unpatched moto,
so the shim whose gap a moto upgrade closes fails its test and gets removed. The patches
reach into moto's internals, so they refuse any moto but the version they were written for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from local_stack.emulator import probes

# The moto release these patches were written against (requirements.txt pins it).
MOTO_VERSION = "5.2.5"

# Objective values of a tuning job's trials, in trial order (cycled): the best of the six is
# the third whichever way the objective points, so a client that takes the first or last
# trial instead of the reported best is caught.
TRIAL_OBJECTIVES = (0.92, 0.61, 0.37, 0.75, 0.48, 0.83)

# Tags of Application Auto Scaling resources, by ARN (the shim's own store).
_SCALING_TAGS: dict[str, dict[str, str]] = {}

_applied = False


class MotoVersionError(RuntimeError):
    """The installed moto is not the release the shims patch."""


def check_moto_version(installed: str | None = None) -> None:
    if installed is None:
        import moto

        installed = moto.__version__
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"the emulator's shims (local_stack/emulator/shims.py) patch moto {MOTO_VERSION}, "
            f"but moto {installed} is installed: install moto[server]=={MOTO_VERSION} "
            "(make setup does), or port the shims to the new release and run "
            "tests/local_stack/test_emulator_shims.py to see which gaps remain"
        )


def apply_moto_shims() -> None:
    """Patch moto's gaps listed in this module's docstring (once per process)."""
    global _applied
    if _applied:
        return
    check_moto_version()
    for shim in SHIMS:
        shim.patch()
    _applied = True


def _shim_scaling_tags() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    def list_tags_for_resource(self) -> str:
        arn = json.loads(self.body)["ResourceARN"]
        return json.dumps({"Tags": _SCALING_TAGS.get(arn, {})})

    def tag_resource(self) -> str:
        request = json.loads(self.body)
        _SCALING_TAGS.setdefault(request["ResourceARN"], {}).update(request["Tags"])
        return json.dumps({})

    def untag_resource(self) -> str:
        request = json.loads(self.body)
        for key in request["TagKeys"]:
            _SCALING_TAGS.get(request["ResourceARN"], {}).pop(key, None)
        return json.dumps({})

    register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self) -> str:
        # The provider sends tags with RegisterScalableTarget; moto drops them.
        answer = register(self)
        if tags := json.loads(self.body).get("Tags"):
            _SCALING_TAGS.setdefault(json.loads(answer)["ScalableTargetARN"], {}).update(tags)
        return answer

    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target
    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource


def _shim_ec2_monitoring() -> None:
    from moto.ec2.responses.monitoring import Monitoring

    def set_monitoring(state: str):
        def handler(self) -> str:
            items = []
            for instance_id in self._get_param("InstanceIds", []):
                self.ec2_backend.get_instance(instance_id).monitoring_state = state
                items.append(
                    f"<item><instanceId>{instance_id}</instanceId><monitoring><state>"
                    f"{state}</state></monitoring></item>"
                )
            action = "MonitorInstances" if state == "enabled" else "UnmonitorInstances"
            return (
                f'<{action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                f"<requestId>shim</requestId><instancesSet>{''.join(items)}</instancesSet>"
                f"</{action}Response>"
            )

        return handler

    Monitoring.monitor_instances = set_monitoring("enabled")
    Monitoring.unmonitor_instances = set_monitoring("disabled")


def _shim_s3_tls_only_policies() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action: str, resource: str):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy.get("Statement", [])
        statements = [
            s
            for s in (statements if isinstance(statements, list) else [statements])
            if not _denies_insecure_transport(s)
        ]
        if not statements:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": statements})).is_action_permitted(
            action, resource
        )

    FakeBucket.get_permission = get_permission


def _shim_s3_suspended_versioning_delete() -> None:
    from moto.s3.models import FakeDeleteMarker

    def dispose(self, garbage: bool = False) -> None:
        """A delete marker holds no data: nothing to free."""

    FakeDeleteMarker.dispose = dispose


def _shim_lambda_invoke_qualifier() -> None:
    from moto.awslambda.responses import LambdaResponse

    invoke = LambdaResponse.invoke

    def invoke_the_qualified_version(self):
        qualifier = (self.querystring.get("Qualifier") or [None])[0]
        if qualifier is None:
            return invoke(self)
        get_param = self._get_param
        self._get_param = lambda name, if_none=None: (
            qualifier if name == "qualifier" else get_param(name, if_none)
        )
        try:
            return invoke(self)
        finally:
            del self._get_param  # one response object per request; be tidy anyway

    LambdaResponse.invoke = invoke_the_qualified_version

    setup = LambdaResponse.setup_class

    def setup_with_the_payload_as_bytes(self, request, full_url, headers, use_raw_body=False):
        raw = use_raw_body or "/invocations" in full_url
        return setup(self, request, full_url, headers, use_raw_body=raw)

    LambdaResponse.setup_class = setup_with_the_payload_as_bytes

    from moto.awslambda_simple.models import LambdaSimpleBackend

    echo = LambdaSimpleBackend.invoke

    from local_stack.emulator.functions import invocation_payload

    def invoke_an_existing_version(self, function_name, qualifier, body, *args):
        self.get_function(function_name, qualifier)  # ResourceNotFoundException otherwise
        return echo(self, function_name, qualifier, invocation_payload(body).decode(), *args)

    LambdaSimpleBackend.invoke = invoke_an_existing_version


def _shim_sagemaker_invoke_endpoint() -> None:
    from moto.sagemaker.models import sagemaker_backends
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    from local_stack.emulator.endpoints import refused_if_asynchronous, unknown_endpoint
    from local_stack.emulator.model_servers import InvokeEndpointError

    setup = SageMakerRuntimeResponse.setup_class

    def setup_with_the_body_as_bytes(self, request, full_url, headers, use_raw_body=False):
        return setup(self, request, full_url, headers, use_raw_body=True)

    invoke = SageMakerRuntimeResponse.invoke_endpoint

    def invoke_an_existing_endpoint(self):
        backend = sagemaker_backends[self.current_account][self.region]
        name = self.path.split("/")[2]
        if name not in backend.endpoints:
            return unknown_endpoint(name, self.current_account).answer()
        try:
            refused_if_asynchronous(backend, name)
        except InvokeEndpointError as error:
            return error.answer()
        if isinstance(self.body, bytes):  # moto keys its canned answers by the body, as text
            self.body = self.body.decode("latin-1")
        return invoke(self)

    SageMakerRuntimeResponse.setup_class = setup_with_the_body_as_bytes
    SageMakerRuntimeResponse.invoke_endpoint = invoke_an_existing_endpoint


def _shim_sagemaker_invoke_endpoint_async() -> None:
    from moto.sagemaker.models import sagemaker_backends
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

    from local_stack.emulator import async_inference
    from local_stack.emulator.model_servers import InvokeEndpointError

    def invoke_endpoint_async(self):
        from local_stack.emulator.local_mode import async_request_received

        backend = sagemaker_backends[self.current_account][self.region]
        name = self.path.split("/")[2]
        try:
            request = async_inference.request_of(backend, name, self.headers, self.current_account)
            async_request_received(backend, request)
        except InvokeEndpointError as error:
            return error.answer()
        return async_inference.accepted(request)

    SageMakerRuntimeResponse.invoke_endpoint_async = invoke_endpoint_async


def _shim_sagemaker_shadow_variants() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    create_config = SageMakerResponse.create_endpoint_config

    def create_endpoint_config(self):
        shadows = self._get_param("ShadowProductionVariants") or []
        if shadows and (len(shadows) > 1 or len(self._get_param("ProductionVariants")) != 1):
            raise ValidationError(
                message="An endpoint configuration with ShadowProductionVariants may have one "
                "production variant and one shadow variant."
            )
        answer = create_config(self)
        if shadows:
            config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
            config.shadow_production_variants = shadows  # described as ShadowProductionVariants
        return answer

    def summarised(change):
        def changed(self):
            answer = change(self)
            backend = self.sagemaker_backend
            endpoint = backend.endpoints[self._get_param("EndpointName")]
            config = backend.endpoint_configs.get(endpoint.endpoint_config_name)
            shadows = getattr(config, "shadow_production_variants", None)
            if shadows:
                endpoint.shadow_production_variants = endpoint._process_production_variants(shadows)
            elif hasattr(endpoint, "shadow_production_variants"):
                del endpoint.shadow_production_variants
            return answer

        return changed

    SageMakerResponse.create_endpoint_config = create_endpoint_config
    SageMakerResponse.create_endpoint = summarised(SageMakerResponse.create_endpoint)
    SageMakerResponse.update_endpoint = summarised(SageMakerResponse.update_endpoint)


# The fields TestEventPattern requires of an event (EventBridge API reference,
# TestEventPattern: "Event").
EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def _shim_events_test_event_pattern() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.events.models import EventPattern
    from moto.events.responses import EventsHandler

    def test_event_pattern(self):
        try:
            event = json.loads(self._get_param("Event") or "")
        except json.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or any(field not in event for field in EVENT_FIELDS):
            raise JsonRESTError(
                "InvalidEventPatternException",
                f"Event must be a JSON object with the fields {', '.join(EVENT_FIELDS)}.",
            )
        pattern = EventPattern.load(self._get_param("EventPattern"))
        return json.dumps({"Result": pattern.matches_event(event)}), self.response_headers

    EventsHandler.test_event_pattern = test_event_pattern


def _denies_insecure_transport(statement: dict) -> bool:
    """A TLS-only statement: Deny when aws:SecureTransport is false."""
    condition = statement.get("Condition", {})
    value = condition.get("Bool", {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and set(condition) == {"Bool"}
        and value in ("false", ["false"])
    )


def _shim_sagemaker_model_description() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    create = SageMakerResponse.create_model

    def create_model(self):
        answer = create(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        return answer

    def describe_model(self):
        answer = dict(
            self.sagemaker_backend.describe_model(self._get_param("ModelName")).response_object
        )
        if not answer.get("VpcConfig"):
            answer.pop("VpcConfig", None)
        return ActionResult(answer)

    SageMakerResponse.create_model = create_model
    SageMakerResponse.describe_model = describe_model


def _shim_sagemaker_unique_names() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    def refusing_duplicates(create, store: str, kind: str):
        def guarded(self, *args, **kwargs):
            name = kwargs.get("model_name") or kwargs.get("endpoint_config_name")
            existing = getattr(self, store).get(name)
            if existing is not None:
                arn = getattr(existing, "endpoint_config_arn", None) or existing.arn
                raise ValidationError(message=f'Cannot create already existing {kind} "{arn}".')
            return create(self, *args, **kwargs)

        return guarded

    SageMakerModelBackend.create_model = refusing_duplicates(
        SageMakerModelBackend.create_model, "_models", "model"
    )
    SageMakerModelBackend.create_endpoint_config = refusing_duplicates(
        SageMakerModelBackend.create_endpoint_config,
        "endpoint_configs",
        "endpoint configuration",
    )


def _shim_sagemaker_training_jobs() -> None:
    from moto.sagemaker.models import FakeTrainingJob

    moto_init = FakeTrainingJob.__init__

    def init(self, *args, **kwargs) -> None:
        specification = dict(kwargs["algorithm_specification"])
        kwargs["algorithm_specification"] = specification
        definitions = specification.get("MetricDefinitions")
        moto_init(self, *args, **kwargs)
        if definitions is None:
            self.algorithm_specification.pop("MetricDefinitions")
        else:
            self.algorithm_specification["MetricDefinitions"] = definitions
        self.final_metric_data_list = []

    FakeTrainingJob.__init__ = init


def _run_trials(backend, tuning_job) -> None:
    """Record the trial training jobs of ``tuning_job`` as completed at once, with objective
    values from TRIAL_OBJECTIVES, and the best one (local mode runs them for real instead)."""
    from moto.core.utils import utcnow

    from local_stack.emulator.tuning import (
        best_of,
        candidates,
        counters,
        create_trial_job,
        record_outcome,
        trial_summary,
    )

    config = tuning_job.hyper_parameter_tuning_job_config
    objective = config["HyperParameterTuningJobObjective"]
    tuning_job.trials = []
    for number, tuned in enumerate(candidates(config, tuning_job.arn), start=1):
        job = create_trial_job(backend, tuning_job, number, tuned)
        value = TRIAL_OBJECTIVES[(number - 1) % len(TRIAL_OBJECTIVES)]
        job.final_metric_data_list = [
            {"MetricName": objective["MetricName"], "Value": value, "Timestamp": utcnow()}
        ]
        summary = trial_summary(tuning_job, job, tuned)
        record_outcome(summary, job, objective)
        tuning_job.trials.append(summary)
    best = best_of(tuning_job.trials, objective)
    tuning_job.best_training_job = tuning_job.OverallBestTrainingJob = best
    tuning_job.training_job_status_counters, tuning_job.objective_status_counters = counters(
        tuning_job.trials
    )


def _shim_sagemaker_tuning_jobs() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound
    from moto.sagemaker.responses import SageMakerResponse

    create = SageMakerResponse.create_hyper_parameter_tuning_job

    def create_hyper_parameter_tuning_job(self):
        from local_stack.emulator.local_mode import tuning_job_created

        answer = create(self)
        backend = self.sagemaker_backend
        job = backend.hyper_parameter_tuning_jobs[self._get_param("HyperParameterTuningJobName")]
        if not tuning_job_created(backend, job):  # local mode runs it for real
            _run_trials(backend, job)
        return answer

    def list_training_jobs_for_hyper_parameter_tuning_job(self):
        name = self._get_param("HyperParameterTuningJobName")
        tuning_job = self.sagemaker_backend.hyper_parameter_tuning_jobs.get(name)
        if tuning_job is None:
            raise ResourceNotFound(message=f"Amazon SageMaker can't find a tuning job named {name}")
        trials = list(tuning_job.trials)
        sort_by = self._get_param("SortBy", "Name")
        keys = {
            "Name": lambda t: t["TrainingJobName"],
            "CreationTime": lambda t: t["CreationTime"],
            "Status": lambda t: t["TrainingJobStatus"],
            "FinalObjectiveMetricValue": lambda t: t.get(
                "FinalHyperParameterTuningJobObjectiveMetric", {"Value": math.inf}
            )["Value"],
        }
        trials.sort(key=keys[sort_by], reverse=self._get_param("SortOrder") == "Descending")
        return ActionResult({"TrainingJobSummaries": trials})

    SageMakerResponse.create_hyper_parameter_tuning_job = create_hyper_parameter_tuning_job
    SageMakerResponse.list_training_jobs_for_hyper_parameter_tuning_job = (
        list_training_jobs_for_hyper_parameter_tuning_job
    )


def _shim_sagemaker_update_endpoint() -> None:
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def update_endpoint(self):
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            raise ValidationError(message=f'Could not find endpoint "{name}".')
        config = backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
        if endpoint.endpoint_status != "InService":
            raise ValidationError(message=f'Cannot update in-progress endpoint "{endpoint.arn}".')
        _refuse_changing_autoscaled_variants(backend, endpoint, config)
        variants = endpoint._process_production_variants(config["ProductionVariants"])
        if self._get_param("RetainAllVariantProperties", False):
            current = {v["VariantName"]: v for v in endpoint.production_variants}
            for variant in variants:
                for key in ("CurrentInstanceCount", "DesiredInstanceCount"):
                    if key in current.get(variant["VariantName"], {}):
                        variant[key] = current[variant["VariantName"]][key]
        endpoint.endpoint_config_name = config["EndpointConfigName"]
        endpoint.production_variants = variants
        if deployment := self._get_param("DeploymentConfig"):
            endpoint.last_deployment_config = deployment
        endpoint.last_modified_time = utcnow()
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerResponse.update_endpoint = update_endpoint


def _refuse_changing_autoscaled_variants(backend, endpoint, new_config: dict) -> None:
    """SageMaker's rule: an update may not change the instance type of a variant registered
    as a scalable target, nor remove one; deregister it first."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends
    from moto.sagemaker.exceptions import ValidationError

    scaling = applicationautoscaling_backends[backend.account_id][backend.region_name]
    registered = scaling.targets.get("sagemaker:variant:DesiredInstanceCount", {})
    try:
        old_config = backend.describe_endpoint_config(endpoint.endpoint_config_name)
    except ValidationError:
        return  # the configuration in use was deleted: nothing left to compare with
    old_types = {v["VariantName"]: v.get("InstanceType") for v in old_config["ProductionVariants"]}
    new_types = {v["VariantName"]: v.get("InstanceType") for v in new_config["ProductionVariants"]}
    for variant, instance_type in old_types.items():
        resource_id = f"endpoint/{endpoint.endpoint_name}/variant/{variant}"
        if resource_id in registered and new_types.get(variant, "removed") != instance_type:
            raise ValidationError(
                message=f"The variant {variant} of endpoint {endpoint.endpoint_name} is "
                "registered for automatic scaling: deregister it before changing its instance "
                "type or removing it."
            )


def _shim_sagemaker_deployment_config() -> None:
    from moto.sagemaker.responses import SageMakerResponse

    create = SageMakerResponse.create_endpoint

    def create_endpoint(self):
        answer = create(self)
        if deployment := self._get_param("DeploymentConfig"):
            name = self._get_param("EndpointName")
            self.sagemaker_backend.endpoints[name].last_deployment_config = deployment
        return answer

    SageMakerResponse.create_endpoint = create_endpoint


def _shim_sagemaker_empty_data_capture() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    def describe_endpoint_config(self):
        answer = dict(
            self.sagemaker_backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
        )
        if not answer.get("DataCaptureConfig"):
            answer.pop("DataCaptureConfig", None)
        return ActionResult(answer)

    SageMakerResponse.describe_endpoint_config = describe_endpoint_config


def _shim_sagemaker_model_registry() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.responses import SageMakerResponse

    def package_of(backend, name_or_arn: str):
        arn = backend.model_package_name_mapping.get(name_or_arn, name_or_arn)
        package = backend.model_packages.get(arn)
        if package is None:
            raise ValidationError(message=f"Model package {name_or_arn} not found")
        return package

    def update_model_package(self):
        package = package_of(self.sagemaker_backend, self._get_param("ModelPackageArn"))
        if (status := self._get_param("ModelApprovalStatus")) is not None:
            package.set_model_approval_status(status)
        if (note := self._get_param("ApprovalDescription")) is not None:
            package.approval_description = note
        if properties := self._get_param("CustomerMetadataProperties"):
            package.customer_metadata_properties = {
                **(package.customer_metadata_properties or {}),
                **properties,
            }
        for key in self._get_param("CustomerMetadataPropertiesToRemove") or []:
            (package.customer_metadata_properties or {}).pop(key, None)
        package.modifications_done()
        return ActionResult({"ModelPackageArn": package.arn})

    def delete_model_package(self):
        backend = self.sagemaker_backend
        package = package_of(backend, self._get_param("ModelPackageName"))
        del backend.model_packages[package.arn]
        for name in [n for n, a in backend.model_package_name_mapping.items() if a == package.arn]:
            del backend.model_package_name_mapping[name]
        return EmptyResult()

    def delete_model_package_group(self):
        from moto.sagemaker.exceptions import ConflictException

        backend = self.sagemaker_backend
        name = self._get_param("ModelPackageGroupName").rsplit("/", 1)[-1]
        if name not in backend.model_package_groups:
            raise ValidationError(message=f"Model Package Group {name} does not exist.")
        if any(p.model_package_group_name == name for p in backend.model_packages.values()):
            raise ConflictException(
                message=f"Model Package Group {name} still holds model packages: delete them first"
            )
        del backend.model_package_groups[name]
        return EmptyResult()

    SageMakerResponse.update_model_package = update_model_package
    SageMakerResponse.delete_model_package = delete_model_package
    SageMakerResponse.delete_model_package_group = delete_model_package_group


def _shim_sagemaker_lifecycle_config_tags() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    create = SageMakerResponse.create_notebook_instance_lifecycle_config

    def create_lifecycle_config(self):
        answer = create(self)
        name = self._get_param("NotebookInstanceLifecycleConfigName")
        config = self.sagemaker_backend.notebook_instance_lifecycle_configurations[name]
        config.tags = list(self._get_param("Tags") or [])
        return answer

    SageMakerResponse.create_notebook_instance_lifecycle_config = create_lifecycle_config

    lookup = SageMakerModelBackend._get_resource_from_arn

    def get_resource_from_arn(self, arn: str):
        kind, _, name = arn.split(":")[-1].partition("/")
        if kind != "notebook-instance-lifecycle-config":
            return lookup(self, arn)
        config = self.notebook_instance_lifecycle_configurations.get(name)
        if config is None:
            raise ValidationError(message=f"Could not find {kind} with name {name}")
        if not hasattr(config, "tags"):
            config.tags = []
        return config

    SageMakerModelBackend._get_resource_from_arn = get_resource_from_arn


@dataclass(frozen=True)
class Shim:
    """One gap: the patch that fills it in moto, and the probe that shows whether an
    emulator has it filled."""

    name: str
    patch: Callable[[], None]
    probe: Callable[[probes.Clients], bool]


SHIMS = (
    Shim("scaling_tags", _shim_scaling_tags, probes.scaling_tags),
    Shim("ec2_monitoring", _shim_ec2_monitoring, probes.ec2_monitoring),
    Shim("s3_tls_only_policy", _shim_s3_tls_only_policies, probes.s3_tls_only_policy),
    Shim(
        "s3_suspended_versioning_delete",
        _shim_s3_suspended_versioning_delete,
        probes.s3_suspended_versioning_delete,
    ),
    Shim("lambda_invoke_qualifier", _shim_lambda_invoke_qualifier, probes.lambda_invoke_qualifier),
    Shim(
        "sagemaker_model_description",
        _shim_sagemaker_model_description,
        probes.sagemaker_model_description,
    ),
    Shim(
        "sagemaker_unique_names",
        _shim_sagemaker_unique_names,
        probes.sagemaker_unique_names,
    ),
    Shim(
        "sagemaker_training_metrics",
        _shim_sagemaker_training_jobs,
        probes.sagemaker_training_metrics,
    ),
    Shim(
        "sagemaker_tuning_trials",
        _shim_sagemaker_tuning_jobs,
        probes.sagemaker_tuning_trials,
    ),
    Shim(
        "sagemaker_update_endpoint",
        _shim_sagemaker_update_endpoint,
        probes.sagemaker_update_endpoint,
    ),
    Shim(
        "sagemaker_empty_data_capture",
        _shim_sagemaker_empty_data_capture,
        probes.sagemaker_empty_data_capture,
    ),
    Shim(
        "sagemaker_deployment_config",
        _shim_sagemaker_deployment_config,
        probes.sagemaker_deployment_config,
    ),
    Shim(
        "sagemaker_model_registry",
        _shim_sagemaker_model_registry,
        probes.sagemaker_model_registry,
    ),
    Shim(
        "sagemaker_invoke_endpoint",
        _shim_sagemaker_invoke_endpoint,
        probes.sagemaker_invoke_endpoint,
    ),
    Shim(
        "sagemaker_invoke_endpoint_async",
        _shim_sagemaker_invoke_endpoint_async,
        probes.sagemaker_invoke_endpoint_async,
    ),
    Shim(
        "sagemaker_shadow_variants",
        _shim_sagemaker_shadow_variants,
        probes.sagemaker_shadow_variants,
    ),
    Shim(
        "events_test_event_pattern",
        _shim_events_test_event_pattern,
        probes.events_test_event_pattern,
    ),
    Shim(
        "sagemaker_lifecycle_config_tags",
        _shim_sagemaker_lifecycle_config_tags,
        probes.sagemaker_lifecycle_config_tags,
    ),
)
SHIM_NAMES = frozenset(shim.name for shim in SHIMS)
