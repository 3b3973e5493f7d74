"""The function's configuration, read from its environment once per container, and the
limits every request must fit: the endpoint's body size, and the time budget."""

from __future__ import annotations

from dataclasses import dataclass

# InvokeEndpoint accepts bodies up to 6291456 bytes; the image travels base64-encoded in JSON
# (4/3 of its size plus a few bytes), so 4.5 MB is the largest image that fits.
MAX_INVOKE_BODY_BYTES = 6291456
DEFAULT_MAX_IMAGE_BYTES = 4_500_000
# Reading s3_uri or url input: one attempt, connect included, must be done within
# INPUT_DEADLINE_SECONDS (checked between reads, see images.read_within), and no socket read
# waits more than INPUT_READ_TIMEOUT_SECONDS, so it overruns the deadline by one read at most.
INPUT_CONNECT_TIMEOUT_SECONDS = 2
INPUT_READ_TIMEOUT_SECONDS = 2
INPUT_DEADLINE_SECONDS = 5
INPUT_FETCH_SECONDS = INPUT_DEADLINE_SECONDS + INPUT_READ_TIMEOUT_SECONDS
# What the function keeps for itself after the endpoint call.
SAFETY_MARGIN_SECONDS = 1


@dataclass(frozen=True)
class Config:
    endpoint_name: str
    model_version: str = ""
    input_bucket: str = ""
    input_prefix: str = ""
    url_allowlist: frozenset[str] = frozenset()
    cors_allow_origin: str = ""
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    function_timeout_seconds: float = 29
    invoke_timeout_seconds: float = 8
    invoke_attempts: int = 2
    connect_timeout_seconds: float = 2
    # An asynchronous endpoint: where requests go and answers land, in one bucket.
    async_bucket: str = ""
    async_input_prefix: str = ""
    async_output_prefix: str = ""
    async_failure_prefix: str = ""
    # Where the per-request metrics go (invoker.metrics); empty: no metrics.
    metric_namespace: str = ""

    @property
    def asynchronous(self) -> bool:
        return bool(self.async_bucket)

    @classmethod
    def from_env(cls, env) -> Config:
        hosts = {h.strip().lower() for h in env.get("URL_ALLOWLIST", "").split(",") if h.strip()}
        return cls(
            endpoint_name=env.get("ENDPOINT_NAME", ""),
            model_version=env.get("MODEL_VERSION", ""),
            input_bucket=env.get("INPUT_BUCKET", ""),
            input_prefix=env.get("INPUT_PREFIX", ""),
            url_allowlist=frozenset(hosts),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN", ""),
            max_image_bytes=int(env.get("MAX_IMAGE_BYTES", DEFAULT_MAX_IMAGE_BYTES)),
            function_timeout_seconds=float(env.get("FUNCTION_TIMEOUT_SECONDS", 29)),
            invoke_timeout_seconds=float(env.get("INVOKE_TIMEOUT_SECONDS", 8)),
            invoke_attempts=int(env.get("INVOKE_ATTEMPTS", 2)),
            async_bucket=env.get("ASYNC_BUCKET", ""),
            async_input_prefix=env.get("ASYNC_INPUT_PREFIX", ""),
            async_output_prefix=env.get("ASYNC_OUTPUT_PREFIX", ""),
            async_failure_prefix=env.get("ASYNC_FAILURE_PREFIX", ""),
            metric_namespace=env.get("METRIC_NAMESPACE", ""),
        )

    def problems(self) -> list[str]:
        """What makes this configuration unable to answer every request in time and size."""
        found = []
        if not self.endpoint_name:
            found.append("ENDPOINT_NAME is not set")
        if self.invoke_attempts < 1:
            found.append("INVOKE_ATTEMPTS must be at least 1")
        worst = (
            INPUT_FETCH_SECONDS
            + self.invoke_attempts * (self.connect_timeout_seconds + self.invoke_timeout_seconds)
            + SAFETY_MARGIN_SECONDS
        )
        if worst > self.function_timeout_seconds:
            found.append(
                f"the worst case takes {worst:g} s (input {INPUT_FETCH_SECONDS} s + "
                f"{self.invoke_attempts} attempts x ({self.connect_timeout_seconds:g} s connect + "
                f"{self.invoke_timeout_seconds:g} s read) + {SAFETY_MARGIN_SECONDS} s), more than "
                f"the function timeout of {self.function_timeout_seconds:g} s"
            )
        prefixes = (self.async_input_prefix, self.async_output_prefix, self.async_failure_prefix)
        if self.async_bucket and not all(prefix.endswith("/") for prefix in prefixes):
            found.append(
                "ASYNC_BUCKET needs ASYNC_INPUT_PREFIX, ASYNC_OUTPUT_PREFIX and "
                "ASYNC_FAILURE_PREFIX, each ending with a slash"
            )
        if self.max_image_bytes > DEFAULT_MAX_IMAGE_BYTES:
            found.append(
                f"MAX_IMAGE_BYTES {self.max_image_bytes} does not fit InvokeEndpoint's "
                f"{MAX_INVOKE_BODY_BYTES}-byte body once base64-encoded (at most "
                f"{DEFAULT_MAX_IMAGE_BYTES})"
            )
        return found
