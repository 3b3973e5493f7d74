"""Recorded requests (``local_stack.emulator.recorder``) as the IAM calls AWS would authorize.

A request becomes one ``IamCall`` per resource the action names: the operation from botocore's
service model (by X-Amz-Target, the query ``Action`` or the REST route), the
IAM action from the Service Authorization Reference (parliament's copy of it; the action is the
operation's name unless ``ACTIONS`` says otherwise), and the resource ARN from the reference's
ARN format filled in from the request's parameters. The dependent actions the reference lists
are added where the request triggers them: tagging when it carries tags, ``iam:PassRole`` for
the roles it hands to a service.

An action with no resource types in the reference is authorized on ``*``; a resource whose
identifier the request does not carry (an ID AWS has yet to assign) keeps ``*`` in its place.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from local_stack.emulator.recorder import KEPT_HEADERS, RecordedRequest

ACCOUNT_ID = "123456789012"  # moto's account
PARTITION = "aws"

# SigV4 signing name -> (botocore service, IAM prefix).
SERVICES = {
    "apigateway": ("apigatewayv2", "apigateway"),
    "application-autoscaling": ("application-autoscaling", "application-autoscaling"),
    "ec2": ("ec2", "ec2"),
    "events": ("events", "events"),
    "iam": ("iam", "iam"),
    "kms": ("kms", "kms"),
    "lambda": ("lambda", "lambda"),
    "logs": ("logs", "logs"),
    "monitoring": ("cloudwatch", "cloudwatch"),
    "s3": ("s3", "s3"),
    "sagemaker": ("sagemaker", "sagemaker"),
    "scheduler": ("scheduler", "scheduler"),
    "sns": ("sns", "sns"),
    "ssm": ("ssm", "ssm"),
    "sts": ("sts", "sts"),
}

# Operations whose IAM action has another name (Service Authorization Reference, each
# service's "Actions defined by" table). S3's list is that of "Amazon S3 API operations and
# required permissions" in the S3 User Guide.
ACTIONS = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "CopyObject"): "PutObject",  # and s3:GetObject on the source (COPY_SOURCE)
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "DeleteBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycle"): "GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "DeleteBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "GetBucketCors"): "GetBucketCORS",
    ("s3", "PutBucketCors"): "PutBucketCORS",
    ("s3", "DeleteBucketCors"): "PutBucketCORS",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "DeletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "GetBucketAccelerateConfiguration"): "GetAccelerateConfiguration",
    ("s3", "GetObjectLockConfiguration"): "GetBucketObjectLockConfiguration",
    ("s3", "DeleteBucketTagging"): "PutBucketTagging",
    ("s3", "DeleteBucketOwnershipControls"): "PutBucketOwnershipControls",
    ("s3", "GetBucketIntelligentTieringConfiguration"): "GetIntelligentTieringConfiguration",
    ("s3", "GetBucketAnalyticsConfiguration"): "GetAnalyticsConfiguration",
    ("s3", "GetBucketMetricsConfiguration"): "GetMetricsConfiguration",
    ("s3", "GetBucketInventoryConfiguration"): "GetInventoryConfiguration",
}
# Operations AWS authorizes without any permission (STS API Reference, GetCallerIdentity).
UNAUTHORIZED = {("sts", "GetCallerIdentity")}
# Operations a caller tries and does without when refused: the AWS provider looks its account
# up with iam:GetUser (of the caller itself) first, then sts:GetCallerIdentity, which needs no
# permission (aws-sdk-go-base, GetAwsAccountIDAndPartition). No policy needs to grant them.
TRIED_FIRST = {("iam", "GetUser")}
# Resource types an action needs beyond the reference's required ones: RunInstances always
# creates the root volume (EC2 User Guide, "Example policies for working with the EC2 API");
# EventBridge's rule actions take a rule on the default bus or on a custom one, so the
# reference marks neither required, and the stack's rules are on the default bus.
EXTRA_KINDS = {
    "ec2:RunInstances": ["volume"],
    **{
        f"events:{name}": ["rule-on-default-event-bus"]
        for name in (
            "PutRule",
            "DeleteRule",
            "DescribeRule",
            "PutTargets",
            "RemoveTargets",
            "ListTargetsByRule",
        )
    },
}
# S3 operations that act on one object version when given a versionId.
S3_VERSIONED = {"GetObject": "GetObjectVersion", "DeleteObject": "DeleteObjectVersion"}


class UnknownCallError(ValueError):
    """A recorded request this module cannot name as an IAM call; the message says which."""


@dataclass(frozen=True, order=True)
class IamCall:
    action: str  # "sagemaker:CreateEndpoint"
    resource: str  # an ARN, or "*"
    caller: str  # "terraform", "mlops/<command>" or "other", from the User-Agent
    app: str = ""  # the User-Agent's app/<id>: AWS_SDK_UA_APP_ID, or TF_APPEND_USER_AGENT


@dataclass(frozen=True)
class Operation:
    service: str  # botocore name
    prefix: str  # IAM prefix
    name: str
    params: dict[str, list[str]]  # top-level parameter -> its string values


def caller(user_agent: str) -> tuple[str, str]:
    """Who made a request, and the app it said it acts for (the ``app/<id>`` part)."""
    app = found[1] if (found := re.search(r"\bapp/([\w.-]+)", user_agent)) else ""
    if found := re.search(r"\bmlops/([a-z-]+)", user_agent):
        return f"mlops/{found[1]}", app
    if "Terraform/" in user_agent:
        return "terraform", app
    return "other", app


@functools.cache
def _botocore_session():
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def service_model(name: str):
    return _botocore_session().get_service_model(name)


@functools.cache
def definitions() -> dict[str, dict]:
    """IAM prefix -> {"privileges": name -> privilege, "resources": name -> ARN format,
    "resource_condition_keys": name -> condition keys}."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # parliament imports pkg_resources
        from parliament import iam_definition

    found: dict[str, dict] = {}
    for service in iam_definition:
        entry = found.setdefault(
            service["prefix"],
            {"privileges": {}, "resources": {}, "resource_condition_keys": {}},
        )
        for privilege in service["privileges"]:
            entry["privileges"].setdefault(privilege["privilege"], privilege)
        for resource in service["resources"]:
            entry["resources"].setdefault(resource["resource"], resource["arn"])
            entry["resource_condition_keys"].setdefault(
                resource["resource"], resource["condition_keys"]
            )
    return found


def privilege(action: str) -> dict | None:
    """The reference's entry for ``prefix:Name``, or None when it has none."""
    prefix, name = action.split(":", 1)
    return definitions().get(prefix, {}).get("privileges", {}).get(name)


def _flatten(value) -> list[str]:
    """A parameter's string values; structures kept as JSON (only their presence matters:
    a Tags list or map)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in value]
    if isinstance(value, dict) and value:
        return [json.dumps(value)]
    return []


def _query_params(form: dict[str, list[str]]) -> dict[str, list[str]]:
    """Query-protocol keys (``InstanceId.1``, ``AlarmNames.member.2``) by their top name,
    and tags (``Tags.member.1.Key``) as ``Tags``."""
    params: dict[str, list[str]] = {}
    for key, values in form.items():
        top = re.sub(r"^(Tags?)(\.member)?\.\d+\..+$", "Tags", key)
        top = re.sub(r"(\.member)?\.\d+$", "", top)
        params.setdefault(top, []).extend(values)
    return params


def _required_locations(operation_model) -> list[tuple[str, str]]:
    """The required query parameters and (recorded) headers that tell an operation from
    another on the same route: UploadPart from PutObject, CopyObject from PutObject."""
    shape = operation_model.input_shape
    if shape is None:
        return []
    found = []
    for member in shape.required_members:
        where = shape.members[member].serialization.get("location")
        key = shape.members[member].serialization.get("name", member)
        if where == "querystring" or (where == "header" and key.lower() in KEPT_HEADERS):
            found.append((where, key if where == "querystring" else key.lower()))
    return found


def _route_pattern(template: str) -> str:
    """A requestUri template as a regex: ``{Label}`` one path segment, ``{Key+}`` the rest."""
    parts = re.split(r"(\{\w+\+?\})", template.rstrip("/") or "/")
    return "".join(
        (f"(?P<{part[1:-2]}>.+)" if part.endswith("+}") else f"(?P<{part[1:-1]}>[^/]+)")
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )


def _route_path(path: str, template: str) -> str:
    """The path to match: a trailing slash belongs to a greedy label (an S3 key "a/")."""
    return path if "+}" in template else (path.rstrip("/") or "/")


def _rest_route(
    model, method: str, path: str, query: dict, headers: dict
) -> tuple[str, dict[str, str]]:
    """The REST operation whose route matches, the most specific first: most query literals
    and required query parameters or headers present, then the longest template. ``x-id``
    literals are optional (not every SDK sends them)."""
    best = None
    for name in model.operation_names:
        operation_model = model.operation_model(name)
        http = operation_model.http
        if http.get("method") != method:
            continue
        template, _, literal_query = http["requestUri"].partition("?")
        literals = [
            part.split("=", 1) if "=" in part else [part, None]
            for part in literal_query.split("&")
            if part and not part.startswith("x-id=")
        ]
        if not all(key in query and (want is None or want in query[key]) for key, want in literals):
            continue
        needed = _required_locations(operation_model)
        if not all(key in (query if where == "querystring" else headers) for where, key in needed):
            continue
        match = re.fullmatch(_route_pattern(template), _route_path(path, template))
        if match is None:
            continue
        rank = (len(literals) + len(needed), len(template))
        if best is None or rank > best[0]:
            best = (rank, name, match.groupdict())
    if best is None:
        raise UnknownCallError(f"no {model.service_name} operation answers {method} {path}")
    return best[1], best[2]


def _json_params(body: bytes, path: str) -> dict[str, list[str]]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnknownCallError(f"{path}: a JSON body that does not parse ({error})") from None
    if not isinstance(document, dict):
        raise UnknownCallError(f"{path}: a JSON body that is not an object")
    params = {str(key): _flatten(value) for key, value in document.items()}
    if nested := sorted(_nested_role_arns(document) - set(params.get("RoleArn", []))):
        params["NestedRoleArn"] = nested  # a tuning job's TrainingJobDefinition.RoleArn
    return params


def _nested_role_arns(value, top: bool = True) -> set[str]:
    """Role ARNs below the top level of a JSON body (the ones iam:PassRole also covers)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and str(key).endswith("RoleArn") and not top:
                found.add(item)
            found |= _nested_role_arns(item, top=False)
    elif isinstance(value, list):
        for item in value:
            found |= _nested_role_arns(item, top=False)
    return found


def operation(request: RecordedRequest) -> Operation:
    if request.service not in SERVICES:
        raise UnknownCallError(
            f"a request signed for {request.service!r}, a service not in SERVICES"
        )
    service, prefix = SERVICES[request.service]
    target = request.headers.get("x-amz-target")
    form = dict(request.query)
    content_type = request.headers.get("content-type", "")
    if "x-www-form-urlencoded" in content_type:
        try:
            form |= parse_qs(request.body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise UnknownCallError(f"{request.path}: a form body that is not UTF-8") from None
    if request.service == "sagemaker" and not target:
        service = "sagemaker-runtime"  # signed as sagemaker, but REST: InvokeEndpoint
    if target:
        name = target.rsplit(".", 1)[-1]
        params = _json_params(request.body or b"{}", request.path)
    elif re.fullmatch(r"/service/[^/]+/operation/\w+", request.path):
        raise UnknownCallError(f"{request.path}: the RPC v2 CBOR protocol has no decoder here")
    elif "Action" in form:
        name = form["Action"][0]
        params = _query_params(form)
    else:
        model = service_model(service)
        name, labels = _rest_route(
            model, request.method, request.path, request.query, request.headers
        )
        params = {key: [value] for key, value in labels.items()}
        params |= {key: values for key, values in request.query.items()}
        if request.body and "json" in content_type:
            params |= _json_params(request.body, request.path)
    return Operation(service, prefix, name, params)


# ARN variables no request parameter fills, by IAM prefix: the ID AWS assigns the resource
# (a scalable target's ARN ends in an ID, not in the ResourceId the requests carry).
ASSIGNED_IDS = {"application-autoscaling": {"ResourceId"}}


def _param(params: dict[str, list[str]], variable: str) -> list[str]:
    """The values of the parameter an ARN variable (``${RoleNameWithPath}``) stands for:
    the same name, or with ``Name``/``Id`` (``${TopicName}`` is ``Name`` too)."""
    stem = re.sub(r"(WithPath|Name|Id)$", "", variable).lower()
    names = {variable.lower(), stem, f"{stem}name", f"{stem}id", f"target{stem}id"}
    if variable.endswith("Name"):
        names.add("name")
    for key, values in params.items():
        if re.sub(r"s$", "", key.lower()) in names and values:
            return [v.removeprefix("alias/") if stem == "alias" else v for v in values]
    return []


def _fill(arn_format: str, params: dict, region: str, prefix: str) -> list[str]:
    """The ARN format filled in from the request, one ARN per value of a list parameter;
    variables the request does not carry become ``*``."""
    arns = [
        arn_format.replace("${Partition}", PARTITION)
        .replace("${Region}", region)
        .replace("${Account}", ACCOUNT_ID)
    ]
    for variable in re.findall(r"\$\{(\w+)\}", arns[0]):
        assigned = variable in ASSIGNED_IDS.get(prefix, ())
        values = (not assigned and _param(params, variable)) or ["*"]
        arns = [arn.replace(f"${{{variable}}}", value) for arn in arns for value in values]
    return arns


def kind_of(arn: str, formats: dict[str, str]) -> str | None:
    """The resource type whose ARN format an ARN has (``endpoint/...`` is ``endpoint``)."""
    tail = arn.split(":", 5)[-1]
    stems = {
        kind: arn_format.split(":", 5)[-1].split("$", 1)[0] for kind, arn_format in formats.items()
    }
    matching = [kind for kind, stem in stems.items() if stem and tail.startswith(stem)]
    # A format that is all variable (an SNS topic's) fits what no other format does.
    return (matching or [kind for kind, stem in stems.items() if not stem] or [None])[0]


def resources(op: Operation, action: str, region: str, kinds: list[str] | None = None) -> list[str]:
    """The ARNs IAM authorizes ``action`` on for this request: the ARNs it names, else the
    reference's ARN formats of the action's required resource types (``kinds`` instead, when
    given) filled in from its parameters."""
    entry = privilege(action)
    types = [t["resource_type"] for t in entry["resource_types"] if t["resource_type"]]
    if not types:
        return ["*"]
    formats = definitions()[op.prefix]["resources"]
    given = [
        value
        for values in op.params.values()
        for value in values
        if value.startswith(f"arn:{PARTITION}:{op.prefix}:")
    ]
    if kinds is None:
        kinds = [t.rstrip("*") for t in types if t.endswith("*")] + EXTRA_KINDS.get(action, [])
    if not kinds:
        return sorted(set(given)) or ["*"]
    found: set[str] = set()
    for kind in kinds:
        named = [arn for arn in given if kind_of(arn, formats) == kind]
        found.update(named or _fill(formats[kind], op.params, region, op.prefix))
    return sorted(found)


def _s3_resources(op: Operation, action: str) -> list[str]:
    bucket = op.params.get("Bucket", [""])[0]
    key = op.params.get("Key", [""])[0]
    if not bucket:
        return ["*"]
    if op.name == "DeleteObjects":  # the keys are in the body, which is not recorded
        return [f"arn:{PARTITION}:s3:::{bucket}/*"]
    kinds = {t["resource_type"].rstrip("*") for t in privilege(action)["resource_types"]}
    return [
        f"arn:{PARTITION}:s3:::{bucket}/{key}"
        if key and "object" in kinds
        else f"arn:{PARTITION}:s3:::{bucket}"
    ]


class Translator:
    """Requests to IAM calls, in order: some calls need what an earlier one said (the role in
    an instance profile, for iam:PassRole when an instance starts with it)."""

    def __init__(self) -> None:
        self.profile_roles: dict[str, str] = {}

    def calls(self, request: RecordedRequest) -> list[IamCall]:
        try:
            return self._calls(request)
        except UnknownCallError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise UnknownCallError(
                f"{request.service} {request.method} {request.path}: {error!r}"
            ) from error

    def _calls(self, request: RecordedRequest) -> list[IamCall]:
        op = operation(request)
        if (op.prefix, op.name) in UNAUTHORIZED:
            return []
        if (op.prefix, op.name) in TRIED_FIRST and not op.params.get("UserName"):
            return []
        action = f"{op.prefix}:{_action_name(op, request)}"
        entry = privilege(action)
        if entry is None:
            raise UnknownCallError(
                f"{action} (operation {op.service}.{op.name}) is not in the Service "
                "Authorization Reference: add its IAM name to ACTIONS"
            )
        found = [(action, arn) for arn in _main_resources(op, action, request)]
        if op.name == "CopyObject":
            source = unquote(request.headers["x-amz-copy-source"]).lstrip("/")
            key, _, version = source.partition("?versionId=")
            found.append(
                (
                    "s3:GetObjectVersion" if version else "s3:GetObject",
                    f"arn:{PARTITION}:s3:::{key}",
                )
            )
        found += self._passed_roles(op)
        found += _tagging(op, action, entry, request.region)
        who, app = caller(request.user_agent)
        return [IamCall(name, arn, who, app) for name, arn in found]

    def _passed_roles(self, op: Operation) -> list[tuple[str, str]]:
        """iam:PassRole of each role the request hands to a service, an instance profile's
        role included."""
        if op.name == "AddRoleToInstanceProfile" and op.prefix == "iam":
            profile, role = op.params.get("InstanceProfileName"), op.params.get("RoleName")
            if profile and role:
                self.profile_roles[profile[0]] = role[0]
        found = []
        for key, values in op.params.items():
            if key.lower() in ("role", "rolearn") or key.endswith("RoleArn"):
                found += [("iam:PassRole", v) for v in values if ":iam::" in v]
            if key == "IamInstanceProfile.Name":
                for profile in values:
                    role = self.profile_roles.get(profile, "*")
                    found.append(("iam:PassRole", f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{role}"))
        return found


def _action_name(op: Operation, request: RecordedRequest) -> str:
    if op.prefix == "apigateway":  # API Gateway authorizes the HTTP verb on the path
        return request.method
    name = ACTIONS.get((op.prefix, op.name), op.name)
    if op.prefix == "s3" and "versionId" in op.params:
        return S3_VERSIONED.get(name, name)
    return name


def _main_resources(op: Operation, action: str, request: RecordedRequest) -> list[str]:
    if op.prefix == "apigateway":
        return [f"arn:{PARTITION}:apigateway:{request.region}::{request.path.removeprefix('/v2')}"]
    if op.prefix == "s3":
        return _s3_resources(op, action)
    if action in NAMED_BY:
        return NAMED_BY[action](op.params, request.region)
    return resources(op, action, request.region)


# A create that carries tags needs the service's tagging permission too. EC2, SageMaker, KMS
# and Application Auto Scaling name theirs in the reference's dependent actions; for these,
# each service's guide says so (IAM User Guide, "Permissions required for tagging IAM
# resources"; the CreateTopic, CreateFunction, PutMetricAlarm and CreateLogGroup references).
TAG_ON_CREATE = {
    "iam:CreateRole": "iam:TagRole",
    "iam:CreateInstanceProfile": "iam:TagInstanceProfile",
    "iam:CreatePolicy": "iam:TagPolicy",
    "iam:CreateOpenIDConnectProvider": "iam:TagOpenIDConnectProvider",
    "sns:CreateTopic": "sns:TagResource",
    "lambda:CreateFunction": "lambda:TagResource",
    "cloudwatch:PutMetricAlarm": "cloudwatch:TagResource",
    "logs:CreateLogGroup": "logs:TagResource",
}


def _tagging(op: Operation, action: str, entry: dict, region: str) -> list[tuple[str, str]]:
    """The tagging actions a create that carries tags needs, on what it creates."""
    kinds = sorted(
        {
            value
            for key, values in op.params.items()
            if re.fullmatch(r"TagSpecification\.\d+\.ResourceType", key)
            for value in values
        }
    )
    if not kinds and not any(values for key, values in op.params.items() if key.lower() == "tags"):
        return []
    dependent = {a for t in entry["resource_types"] for a in t["dependent_actions"]}
    taggings = {a for a in dependent if "tag" in a.lower() and a.startswith(f"{op.prefix}:")}
    taggings |= {TAG_ON_CREATE[action]} if action in TAG_ON_CREATE else set()
    found = []
    for tagging in sorted(taggings):
        if kinds:  # EC2's TagSpecifications name the kinds of what is created
            arns = [f"arn:{PARTITION}:{op.prefix}:{region}:{ACCOUNT_ID}:{kind}/*" for kind in kinds]
        elif primary := [
            t["resource_type"].rstrip("*") for t in entry["resource_types"] if t["resource_type"]
        ][:1]:
            arns = resources(op, action, region, primary)
        else:  # a resource yet to get its ID (a key): the tagging action's own type
            arns = resources(op, tagging, region)
        found += [(tagging, arn) for arn in arns]
    return found


def _model_package(params: dict[str, list[str]], region: str) -> list[str]:
    """A version of a group is model-package/GROUP/N (SageMaker Developer Guide, "Model
    Registry" IAM examples); the group is named in the request."""
    base = f"arn:{PARTITION}:sagemaker:{region}:{ACCOUNT_ID}"
    group = (params.get("ModelPackageGroupName") or ["*"])[0]
    return [f"{base}:model-package/{group}/*", f"{base}:model-package-group/{group}"]


# Actions whose resources the reference leaves optional, though the request names them.
def _schedule(params: dict[str, list[str]], region: str) -> list[str]:
    """A schedule is schedule/GROUP/NAME (the reference's ARN format); a request that names no
    group is for the default one (EventBridge Scheduler API reference, CreateSchedule and
    GetSchedule: GroupName)."""
    base = f"arn:{PARTITION}:scheduler:{region}:{ACCOUNT_ID}"
    group = (params.get("GroupName") or params.get("groupName") or ["default"])[0]
    return [f"{base}:schedule/{group}/{(params.get('Name') or ['*'])[0]}"]


NAMED_BY = {
    "sagemaker:CreateModelPackage": _model_package,
    **{
        f"scheduler:{name}": _schedule
        for name in ("CreateSchedule", "GetSchedule", "UpdateSchedule", "DeleteSchedule")
    },
}


def iam_calls(requests: Iterable[RecordedRequest]) -> Iterator[IamCall]:
    """The IAM calls the requests make, in order (one request can make several)."""
    translator = Translator()
    for request in requests:
        yield from translator.calls(request)
