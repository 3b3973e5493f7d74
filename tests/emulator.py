"""The embedded AWS emulator: moto server plus the shims this project needs.

Used by the pytest session fixture, by `make emulator` (``python -m tests.emulator``) and by
the demo. If a LocalStack-compatible endpoint already answers at ``LOCALSTACK_ENDPOINT`` (or
http://127.0.0.1:4566) it is reused instead of starting a server.

Known moto 5.2.5 gaps are handled here, in one place, each with its reason:
- Application Auto Scaling has no ListTagsForResource/TagResource/UntagResource; the AWS
  provider retries them until it times out, so ``terraform apply`` hangs. The shim keeps the
  tags in a dict by ARN, so applies finish and a re-plan sees the tags it set.
- EC2 MonitorInstances/UnmonitorInstances (detailed monitoring) raise NotImplementedError, and
  the provider retries them; the shim sets the instance's monitoring state.
- S3 bucket policies are enforced without their conditions, so a TLS-only policy (Deny when
  aws:SecureTransport is false) denies every request. The emulator speaks plain HTTP on
  loopback where AWS would see HTTPS, so the shim leaves exactly those statements out.
- Lambda's Invoke tries to run Docker and reports a handled error that looks like success;
  ``use_docker: false`` turns that off (the tests call handlers in-process instead).
- AWS managed IAM policies exist only with ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566
DEFAULT_REGION = "us-east-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass
class Emulator:
    """A running emulator: where it answers and whether this process owns it."""

    endpoint_url: str
    region: str = DEFAULT_REGION
    server: object | None = None  # moto ThreadedMotoServer when we started it

    @property
    def owned(self) -> bool:
        return self.server is not None

    def environment(self) -> dict[str, str]:
        """The standard AWS variables that point every SDK and the AWS CLI at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            **TEST_CREDENTIALS,
        }

    def reset(self) -> None:
        """Forget every resource (moto only); a no-op against an external emulator."""
        if self.owned:
            _post_json(f"{self.endpoint_url}/moto-api/reset", {})

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


# Tags of Application Auto Scaling resources, by ARN (the shim's own store).
_SCALING_TAGS: dict[str, dict[str, str]] = {}


_shims_applied = False


def apply_moto_shims() -> None:
    """Patch moto's gaps listed in this module's docstring (once per process)."""
    global _shims_applied
    if _shims_applied:
        return
    _shims_applied = True
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


def _denies_insecure_transport(statement: dict) -> bool:
    """A TLS-only statement: Deny when aws:SecureTransport is false."""
    condition = statement.get("Condition", {})
    value = condition.get("Bool", {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny"
        and set(condition) == {"Bool"}
        and value in ("false", ["false"])
    )


def _post_json(url: str, payload: dict, timeout: float = 5.0) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _answers_like_aws(endpoint_url: str) -> bool:
    """True when something at the URL answers the LocalStack health route or moto's API."""
    for route in ("/_localstack/health", "/moto-api/data.json"):
        try:
            with urllib.request.urlopen(endpoint_url + route, timeout=1.0) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_moto(host: str = DEFAULT_HOST, port: int | None = None) -> Emulator:
    """Start moto server in this process on ``port`` (4566 unless taken, then a free one)."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    apply_moto_shims()
    if port is None:
        port = DEFAULT_PORT if _port_is_free(host, DEFAULT_PORT) else _free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    emulator = Emulator(endpoint_url=f"http://{host}:{port}", server=server)
    _post_json(f"{emulator.endpoint_url}/moto-api/config", {"lambda": {"use_docker": False}})
    logger.info("moto server listening on %s", emulator.endpoint_url)
    return emulator


def connect_or_start() -> Emulator:
    """Reuse a LocalStack-compatible endpoint that already answers, or start moto."""
    configured = os.environ.get("LOCALSTACK_ENDPOINT")
    candidate = configured or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    if _answers_like_aws(candidate):
        logger.info("using the AWS emulator already answering at %s", candidate)
        return Emulator(endpoint_url=candidate.rstrip("/"))
    if configured:
        raise RuntimeError(
            f"LOCALSTACK_ENDPOINT={configured} does not answer like LocalStack or moto; "
            "start it or unset the variable to use the embedded emulator"
        )
    return start_moto()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the embedded AWS emulator in the foreground.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to bind")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    emulator = start_moto(args.host, args.port)
    for name, value in emulator.environment().items():
        logger.info("export %s=%s", name, value)
    logger.info("Ctrl-C to stop")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
