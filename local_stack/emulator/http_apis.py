"""Local mode's HTTP APIs: a request to ``<emulator>/_aws/execute-api/<api-id>/<path>`` (the
address LocalStack users know; ``/_aws/execute-api/<api-id>/<stage>/<path>`` for a stage other
than ``$default``) goes through the API as API Gateway runs it: CORS, the route's throttling,
its JWT authorizer, then its Lambda proxy integration with a payload-format-2.0 event
(``local_stack.http_api``), the function run by local mode.

What API Gateway does, as its developer guide says it (HTTP APIs):
- routes (http-api-develop-routes.html): ``METHOD /path`` with ``{name}`` and ``{proxy+}``
  parameters, ``ANY``, the ``$default`` route; the most specific match wins; none: 404.
- CORS (http-api-cors.html): a preflight (OPTIONS with Origin and
  Access-Control-Request-Method) is answered by the API itself; other answers get the
  configuration's headers for an allowed origin, replacing the function's.
- throttling (http-api-throttling.html): a token bucket per route of the stage, the route's
  settings or the stage's default (rate per second, burst); over it: 429.
- JWT authorizers (http-api-jwt-authorizer.html): the token from the identity source ("Bearer "
  stripped), its signature checked with the issuer's keys (``/.well-known/openid-configuration``
  -> ``jwks_uri``, RSA algorithms), ``iss``, ``aud`` (else ``client_id``), ``exp``, ``nbf``,
  ``iat``: anything wrong is a 401; a token without one of the route's scopes a 403. The
  claims reach the function.
- the integration: the function's resource policy must let API Gateway invoke it from this
  route (``lambda:InvokeFunction`` for ``apigateway.amazonaws.com`` with a matching
  ``AWS:SourceArn``), else 500, as API Gateway answers; a function error is a 500, an
  integration that does not answer within its timeout a 503.
- the integration's payload format: 2.0 only (a 1.0 integration answers 500, said in the log).
What differs: the API's access log is not written; HTTPS is not served; no custom domains; a
stage routes the API's routes as they are (no deployments).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from local_stack.http_api import (
    MAX_HTTP_API_BYTES,
    HttpAnswer,
    Route,
    http_answer,
    http_api_event,
    internal_server_error,
    message,
)

logger = logging.getLogger(__name__)

PREFIX = "/_aws/execute-api/"
DEFAULT_STAGE = "$default"
JWKS_CACHE_S = 300.0


class ApiGatewayAnswer(Exception):  # noqa: N818 (an answer, not an error)
    """API Gateway answers the request itself."""

    def __init__(self, answer: HttpAnswer):
        super().__init__(answer.status)
        self.answer = answer


def unauthorized(description: str) -> ApiGatewayAnswer:
    challenge = f'Bearer scope="" error="invalid_token" error_description="{description}"'
    return ApiGatewayAnswer(message(401, "Unauthorized", [("www-authenticate", challenge)]))


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens = float(self.burst)
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def route_pattern(path: str) -> tuple[re.Pattern, list[str], int]:
    """A route path as a regex, its parameters' names (group ``pN`` is the Nth: a name need
    not be a Python identifier) and its specificity (literal segments count most)."""
    parts, names, literal = [], [], 0
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        greedy = segment.startswith("{") and segment.endswith("+}")
        if greedy or (segment.startswith("{") and segment.endswith("}")):
            names.append(segment[1:-2] if greedy else segment[1:-1])
            parts.append(f"(?P<p{len(names) - 1}>{'.+' if greedy else '[^/]+'})")
        else:
            parts.append(re.escape(segment))
            literal += 1
    return re.compile("/" + "/".join(parts) + "/?"), names, literal


def match_route(routes, method: str, path: str):
    """The route a request goes to, and its path parameters; None when none matches."""
    best = None
    for route in routes:
        if route.route_key == "$default":
            continue
        route_method, _, route_path = route.route_key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        pattern, names, literal = route_pattern(route_path)
        found = pattern.fullmatch(path)
        if found is None:
            continue
        rank = (literal, route_method != "ANY", "+}" not in route_path)
        if best is None or rank > best[0]:
            best = (rank, route, dict(zip(names, found.groups(), strict=True)))
    if best is not None:
        return best[1], best[2]
    default = next((r for r in routes if r.route_key == "$default"), None)
    return (default, {}) if default is not None else None


def cors_headers(cors: dict | None, origin: str | None, preflight: bool) -> list[tuple[str, str]]:
    """The CORS headers the API adds for ``origin`` (none for an origin it does not allow)."""
    if not cors or not origin:
        return []
    allowed = cors.get("AllowOrigins") or cors.get("allowOrigins") or []
    if "*" not in allowed and origin not in allowed:
        return []
    headers = [("access-control-allow-origin", "*" if "*" in allowed else origin)]
    if cors.get("AllowCredentials") or cors.get("allowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    if preflight:
        methods = cors.get("AllowMethods") or cors.get("allowMethods") or []
        allow_headers = cors.get("AllowHeaders") or cors.get("allowHeaders") or []
        max_age = cors.get("MaxAge") or cors.get("maxAge")
        if methods:
            headers.append(("access-control-allow-methods", ",".join(methods)))
        if allow_headers:
            headers.append(("access-control-allow-headers", ",".join(allow_headers)))
        if max_age:
            headers.append(("access-control-max-age", str(max_age)))
    elif expose := cors.get("ExposeHeaders") or cors.get("exposeHeaders"):
        headers.append(("access-control-expose-headers", ",".join(expose)))
    return headers


def claim_text(value) -> str:
    """A claim as API Gateway passes it to the function: arrays as ``[a b]``."""
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


class Issuers:
    """The JSON Web Key Sets of the issuers authorizers name, fetched as API Gateway does and
    kept a while."""

    def __init__(self):
        self._keys: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def key_set(self, issuer: str):
        from joserfc.jwk import KeySet

        with self._lock:
            cached = self._keys.get(issuer)
        if cached is not None and time.monotonic() - cached[0] < JWKS_CACHE_S:
            return cached[1]
        try:
            discovery = fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            keys = KeySet.import_key_set(fetch_json(discovery["jwks_uri"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("HTTP API: the keys of issuer %s cannot be read: %s", issuer, error)
            raise unauthorized("the issuer's keys cannot be read") from None
        with self._lock:
            self._keys[issuer] = (time.monotonic(), keys)
        return keys


def fetch_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


def verify_jwt(token: str, config: dict, scopes: list[str], issuers: Issuers) -> dict:
    """The token's ``{"claims", "scopes"}`` for the request context; a 401 answer for a token
    API Gateway would not accept."""
    from joserfc import jwt
    from joserfc.errors import JoseError

    issuer = config.get("Issuer") or config.get("issuer") or ""
    audience = config.get("Audience") or config.get("audience") or []
    try:
        token_data = jwt.decode(
            token,
            issuers.key_set(issuer),
            algorithms=["RS256", "RS384", "RS512"],
        )
    except (JoseError, ValueError) as error:
        raise unauthorized(f"the token is not valid: {error}") from None
    claims = token_data.claims
    now = time.time()
    if claims.get("iss") != issuer:
        raise unauthorized("the token has an unexpected issuer")
    audiences = claims.get("aud", claims.get("client_id"))
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not set(audiences) & set(audience):
        raise unauthorized("the token does not have a valid audience")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now:
        raise unauthorized("the token has expired")
    for name in ("nbf", "iat"):
        if isinstance(claims.get(name), int | float) and claims[name] > now + 1:
            raise unauthorized(f"the token's {name} is in the future")
    granted = claims.get("scope", claims.get("scp", ""))
    granted = [str(g) for g in granted] if isinstance(granted, list) else str(granted).split()
    if scopes and not set(scopes) & set(granted):
        raise ApiGatewayAnswer(message(403, "Forbidden"))
    return {
        "jwt": {
            "claims": {name: claim_text(value) for name, value in claims.items()},
            "scopes": granted or None,
        }
    }


def source_arn_allows(policy: str | None, execution_arn: str) -> bool:
    """Whether a function's resource policy lets API Gateway invoke it for ``execution_arn``
    (``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH``)."""
    if not policy:
        return False
    for statement in json.loads(policy).get("Statement", []):
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        actions = statement.get("Action")
        if "lambda:InvokeFunction" not in (actions if isinstance(actions, list) else [actions]):
            continue
        condition = statement.get("Condition", {})
        source = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get(
            "ArnEquals", {}
        ).get("AWS:SourceArn")
        if source is None or fnmatch.fnmatchcase(execution_arn, source):
            return True
    return False


def function_of(uri: str) -> tuple[str, str, str, str | None]:
    """The function an integration URI names: region, account, name and qualifier; the URI is
    a Lambda ARN, or API Gateway's form of one
    (``arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations``)."""
    if ":apigateway:" in uri:
        uri = uri.split("/functions/", 1)[1].removesuffix("/invocations")
    parts = uri.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise ApiGatewayAnswer(internal_server_error())
    return parts[3], parts[4], parts[6], parts[7] if len(parts) > 7 else None


@dataclass
class HttpApis:
    """The HTTP APIs of the emulator's apigatewayv2 backend, answering at their local address."""

    enabled: Callable[[], bool]
    _buckets: dict[tuple[str, str, str], TokenBucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    issuers: Issuers = field(default_factory=Issuers)

    def answer(self, method: str, path: str, query: str, headers, body: bytes, ip: str):
        """The API's answer to one request; ``headers`` a case-insensitive mapping (werkzeug's
        request headers)."""
        try:
            return self._answer(method, path, query, headers, body, ip)
        except ApiGatewayAnswer as refused:
            return refused.answer
        except Exception:  # the emulator's own failure: API Gateway's 500, the reason logged
            logger.exception("HTTP API: %s %s failed in the emulator", method, path)
            return internal_server_error()

    def _answer(self, method, path, query, headers, body, ip) -> HttpAnswer:
        from moto.apigatewayv2.models import apigatewayv2_backends

        api_id, _, rest = path.removeprefix(PREFIX).partition("/")
        backend, api = find_api(apigatewayv2_backends, api_id)
        if api is None or api.protocol_type != "HTTP":
            return message(404, "Not Found")
        stage_name, request_path = stage_and_path(api, "/" + rest)
        stage = api.stages.get(stage_name)
        if stage is None:
            return message(404, "Not Found")
        origin = headers.get("Origin")
        cors = api.cors_configuration
        if cors and method == "OPTIONS" and headers.get("Access-Control-Request-Method"):
            return HttpAnswer(204, cors_headers(cors, origin, preflight=True), b"")
        matched = match_route(api.routes.values(), method, request_path)
        if matched is None:
            return message(404, "Not Found")
        route, parameters = matched
        if len(body) > MAX_HTTP_API_BYTES:
            return message(413, "Request Entity Too Large")
        self._throttle(api, stage, route.route_key)
        authorizer = self._authorize(api, route, headers)
        integration = proxy_integration(api, route)
        context = Route(
            route.route_key,
            stage_name,
            api.api_id,
            backend.account_id,
            backend.region_name,
            parameters,
            dict(stage.stage_variables or {}),
            authorizer,
        )
        event = http_api_event(
            request_path, method, list(headers.items()), query, body, context, ip
        )
        if stage_name != DEFAULT_STAGE:
            event["rawPath"] = f"/{stage_name}{request_path}"
        execution_arn = (
            f"arn:aws:execute-api:{backend.region_name}:{backend.account_id}:{api.api_id}/"
            f"{stage_name}/{route_resource(route.route_key)}"
        )
        answer = invoke(integration, event, execution_arn)
        if cors:
            kept = [
                (k, v) for k, v in answer.headers if not k.lower().startswith("access-control-")
            ]
            answer = HttpAnswer(
                answer.status, kept + cors_headers(cors, origin, preflight=False), answer.body
            )
        return answer

    def _throttle(self, api, stage, route_key: str) -> None:
        settings = dict(stage.default_route_settings or {})
        settings.update((stage.route_settings or {}).get(route_key) or {})
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is None and burst is None:
            return
        key = (api.api_id, stage.name, route_key)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or (bucket.rate, bucket.burst) != (float(rate or 0), int(burst or 0)):
                bucket = self._buckets[key] = TokenBucket(float(rate or 0), int(burst or 0))
            allowed = bucket.take()
        if not allowed:
            raise ApiGatewayAnswer(message(429, "Too Many Requests"))

    def _authorize(self, api, route, headers) -> dict | None:
        if (route.authorization_type or "NONE") != "JWT":
            return None
        authorizer = api.authorizers.get(route.authorizer_id)
        if authorizer is None:
            raise ApiGatewayAnswer(internal_server_error())
        source = (authorizer.identity_source or ["$request.header.Authorization"])[0]
        token = headers.get(source.removeprefix("$request.header.")) or ""
        token = token[len("Bearer ") :] if token.lower().startswith("bearer ") else token
        if not token:
            raise unauthorized("the token is missing")
        scopes = list(route.authorization_scopes or [])
        return verify_jwt(token.strip(), authorizer.jwt_config or {}, scopes, self.issuers)


def local_address(endpoint_url: str, api_id: str, stage: str = DEFAULT_STAGE) -> str:
    """Where the emulator at ``endpoint_url`` answers for the HTTP API ``api_id``."""
    base = f"{endpoint_url.rstrip('/')}{PREFIX}{api_id}"
    return base if stage == DEFAULT_STAGE else f"{base}/{stage}"


def proxy_integration(api, route):
    """The route's Lambda proxy integration on payload format 2.0, the one this emulator runs
    (AWS_PROXY's default is 1.0); anything else is API Gateway's 500, the reason logged."""
    integration = api.integrations.get((route.target or "").removeprefix("integrations/"))
    if integration is None or integration.integration_type != "AWS_PROXY":
        logger.warning("HTTP API %s: route %s has no Lambda proxy", api.api_id, route.route_key)
        raise ApiGatewayAnswer(internal_server_error())
    if integration.payload_format_version != "2.0":
        logger.warning(
            "HTTP API %s: route %s sends payload format %s; the emulator builds 2.0 only",
            api.api_id,
            route.route_key,
            integration.payload_format_version or "1.0 (the default)",
        )
        raise ApiGatewayAnswer(internal_server_error())
    return integration


def route_resource(route_key: str) -> str:
    """The route's part of its execution ARN: ``GET/dogs/{id}`` for ``GET /dogs/{id}``,
    ``$default`` for the default route (API Gateway developer guide, http-api-access-control:
    ``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/ROUTE``)."""
    method, _, path = route_key.partition(" ")
    return route_key if not path else f"{'*' if method == 'ANY' else method}{path}"


def find_api(backends, api_id: str):
    for account in backends:
        for backend in backends[account].values():
            if api_id in getattr(backend, "apis", {}):
                return backend, backend.apis[api_id]
    return None, None


def stage_and_path(api, path: str) -> tuple[str, str]:
    """``/<stage>/<path>`` for a named stage of the API; otherwise ``$default`` and the path."""
    first, _, rest = path.lstrip("/").partition("/")
    if first and first != DEFAULT_STAGE and first in api.stages:
        return first, "/" + rest
    return DEFAULT_STAGE, path


def invoke(integration, event: dict, execution_arn: str) -> HttpAnswer:
    """The integration's function run on ``event`` through the emulator's Lambda (local mode
    runs its code), within the integration's timeout."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.utils import get_backend

    region, account, name, qualifier = function_of(integration.integration_uri or "")
    backend = get_backend(account, region)
    try:  # GetPolicy's answer: {"Policy": "<the policy document>", "RevisionId": ...}
        policy = json.loads(backend.get_policy(name, qualifier))["Policy"]
    except LambdaClientError:  # no policy at all
        policy = None
    if not source_arn_allows(policy, execution_arn):
        logger.warning(
            "HTTP API: API Gateway may not invoke %s for %s (its resource policy: %s)",
            name if qualifier is None else f"{name}:{qualifier}",
            execution_arn,
            policy,
        )
        return internal_server_error()
    outcome: dict = {}

    def run() -> None:
        response_headers: dict[str, str] = {}
        try:
            payload = backend.invoke(
                name,
                qualifier,
                json.dumps(event).encode(),
                {"X-Amz-Invocation-Type": "RequestResponse"},
                response_headers,
            )
            outcome["answer"] = (
                internal_server_error()
                if "x-amz-function-error" in response_headers
                else http_answer(payload if isinstance(payload, bytes) else payload.encode())
            )
        except Exception:  # the integration failed: API Gateway's 500, the reason logged
            logger.exception("HTTP API: invoking %s failed", name)
            outcome["answer"] = internal_server_error()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join((integration.timeout_in_millis or 30000) / 1000)
    if worker.is_alive():
        return message(503, "Service Unavailable")
    return outcome["answer"]


class HttpApiRouter:
    """WSGI: requests under ``/_aws/execute-api/`` to the HTTP APIs while local mode is on; the
    rest to the emulator's own application."""

    def __init__(self, app, apis: HttpApis):
        self.app, self.apis = app, apis

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        if not self.apis.enabled():
            answer = message(
                503, "local mode is off: the emulator routes HTTP APIs only in local mode"
            )
        else:
            from werkzeug.wrappers import Request

            request = Request(environ)
            answer = self.apis.answer(
                request.method,
                path,
                environ.get("QUERY_STRING", ""),
                request.headers,
                request.get_data(),
                request.remote_addr or "127.0.0.1",
            )
        start_response(f"{answer.status} {status_phrase(answer.status)}", answer.headers)
        return [answer.body]


def status_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
