"""API Gateway HTTP API's Lambda proxy integration, payload format 2.0: the event it sends the
function and what it makes of the function's answer (API Gateway developer guide,
http-api-develop-integrations-lambda.html). The emulator's HTTP API routing and the local
page's ``POST /classify`` both use it.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

# "Quotas for configuring and running an HTTP API": a request's payload is at most 10 MB.
MAX_HTTP_API_BYTES = 10 * 1024 * 1024
# Bodies the HTTP API passes as text; anything else arrives base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class Route:
    """Where a request went: its route key, stage and path parameters, and the API's."""

    route_key: str
    stage: str = "$default"
    api_id: str = "local"
    account_id: str = "123456789012"
    region: str = "us-east-1"
    path_parameters: dict[str, str] = field(default_factory=dict)
    stage_variables: dict[str, str] = field(default_factory=dict)
    authorizer: dict | None = None  # {"jwt": {"claims": ..., "scopes": ...}}


def http_api_event(
    path: str,
    method: str,
    headers: list[tuple[str, str]],
    query: str,
    body: bytes,
    route: Route | None = None,
    source_ip: str = "127.0.0.1",
) -> dict:
    """The event an HTTP API with a Lambda proxy integration (payload 2.0) sends: header names
    lower-cased, repeated headers and query parameters joined with commas, parameters
    URL-decoded, cookies apart, a body that is not text base64-encoded."""
    route = route or Route(f"{method} {path}")
    joined_headers, cookies = joined(headers)
    parameters: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    as_text = joined_headers.get("content-type", "").startswith(TEXT_TYPES)
    context = request_context(route, method, path, source_ip, joined_headers)
    if route.authorizer is not None:
        context["authorizer"] = route.authorizer
    event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined_headers,
        "requestContext": context,
        "isBase64Encoded": bool(body) and not as_text,
    }
    optional = {
        "cookies": cookies,
        "queryStringParameters": parameters,
        "pathParameters": route.path_parameters,
        "stageVariables": route.stage_variables,
    }
    event.update({key: value for key, value in optional.items() if value})
    if body:
        event["body"] = (
            body.decode("utf-8", errors="replace") if as_text else base64.b64encode(body).decode()
        )
    return event


def joined(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Header names lower-cased, repeated ones joined with commas; the cookies apart."""
    joined_headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined_headers[name] = (
            f"{joined_headers[name]},{value}" if name in joined_headers else value
        )
    return joined_headers, cookies


def request_context(
    route: Route, method: str, path: str, source_ip: str, headers: dict[str, str]
) -> dict:
    now = time.time()
    return {
        "accountId": route.account_id,
        "apiId": route.api_id,
        "domainName": f"{route.api_id}.execute-api.{route.region}.amazonaws.com",
        "domainPrefix": route.api_id,
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.route_key,
        "stage": route.stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer(payload: bytes) -> HttpAnswer:
    """What the HTTP API answers for the function's response (format 2.0): a JSON object with
    ``statusCode`` is the response (headers, cookies as Set-Cookie, a body base64-decoded when
    ``isBase64Encoded``); any other JSON is a 200 ``application/json`` body; a response that is
    not JSON, or malformed, is the 500 API Gateway gives."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return internal_server_error()
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return HttpAnswer(200, [("Content-Type", "application/json")], payload)
    try:
        status = int(answer["statusCode"])
        headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(cookie)) for cookie in answer.get("cookies") or []]
        body = answer.get("body") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        content = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    except (ValueError, TypeError, AttributeError):
        return internal_server_error()
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpAnswer(status, headers, content)


def message(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> HttpAnswer:
    """API Gateway's own answers: ``{"message": ...}``."""
    body = json.dumps({"message": text}).encode()
    return HttpAnswer(status, [("Content-Type", "application/json"), *(headers or [])], body)


def internal_server_error() -> HttpAnswer:
    return message(500, "Internal Server Error")
