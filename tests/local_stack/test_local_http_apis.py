"""Local mode routes HTTP APIs: ``<emulator>/_aws/execute-api/<api-id>/<path>`` goes through the
API as API Gateway runs it (developer guide, HTTP APIs: http-api-develop-routes.html,
http-api-cors.html, http-api-throttling.html, http-api-jwt-authorizer.html,
http-api-develop-integrations-lambda.html) to a function local mode runs.

Each test's API is made with plain boto3, as any client would; the JWT issuer is a loopback
server of the test's own, with a key it generates.
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import uuid

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from local_stack.emulator import client, local_address
from tests.local_stack.test_local_functions import zipped

pytestmark = [pytest.mark.integration]

ECHO = """
import base64, json

def handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("latin-1")
    if body == "raise":
        raise ValueError("no dog here")
    if body == "bare":
        return {"bare": True}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "access-control-allow-origin": "*"},
        "cookies": ["session=1"],
        "body": json.dumps({"event": event, "body": body}),
    }
"""
ORIGIN = "https://dogs.example.com"
AUDIENCE = "dog-page"


class Issuer:
    """An OpenID issuer on loopback: its discovery document and key set, and tokens signed
    with its key."""

    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        keys = json.dumps(KeySet([self.key]).as_dict(private=False)).encode()
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"})
                    self._send(body.encode())
                elif self.path == "/jwks":
                    self._send(keys)
                else:
                    self.send_error(404)

            def _send(self, body: bytes):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key=None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300}
        payload.update(claims)
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, payload, key or self.key)


@pytest.fixture(scope="module")
def issuer():
    running = Issuer()
    yield running
    running.server.shutdown()


@pytest.fixture(scope="module")
def role(emulator) -> str:
    from local_stack.emulator.probes import LAMBDA_TRUST_POLICY

    created = client("iam", emulator).create_role(
        RoleName=f"http-apis-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY),
    )
    return created["Role"]["Arn"]


def function(emulator, role: str) -> str:
    name = f"api-{uuid.uuid4().hex[:10]}"
    created = client("lambda", emulator).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zipped(ECHO)},
        Timeout=5,
    )
    return created["FunctionArn"]


def http_api(emulator, role, issuer, *, permitted=True, throttling=None) -> str:
    """An HTTP API in front of a new echo function: ``POST /classify`` (JWT when ``issuer``),
    ``GET /dogs/{id}``, CORS for ORIGIN; its local base URL."""
    apis = client("apigatewayv2", emulator)
    function_arn = function(emulator, role)
    api = apis.create_api(
        Name=f"dogs-{uuid.uuid4().hex[:6]}",
        ProtocolType="HTTP",
        CorsConfiguration={
            "AllowOrigins": [ORIGIN],
            "AllowMethods": ["POST", "OPTIONS"],
            "AllowHeaders": ["content-type", "authorization"],
            "MaxAge": 3600,
        },
    )
    api_id = api["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn,
        PayloadFormatVersion="2.0",
        TimeoutInMillis=30000,
    )["IntegrationId"]
    auth = {}
    if issuer is not None:
        authorizer = apis.create_authorizer(
            ApiId=api_id,
            AuthorizerType="JWT",
            Name="jwt",
            IdentitySource=["$request.header.Authorization"],
            JwtConfiguration={"Issuer": issuer.url, "Audience": [AUDIENCE]},
        )
        auth = {"AuthorizationType": "JWT", "AuthorizerId": authorizer["AuthorizerId"]}
    apis.create_route(
        ApiId=api_id, RouteKey="POST /classify", Target=f"integrations/{integration}", **auth
    )
    apis.create_route(ApiId=api_id, RouteKey="GET /dogs/{id}", Target=f"integrations/{integration}")
    stage = {"ApiId": api_id, "StageName": "$default", "AutoDeploy": True}
    if throttling:
        stage["DefaultRouteSettings"] = throttling
    apis.create_stage(**stage)
    if permitted:
        permit(emulator, function_arn, f"{api_id}/*/*")
    return local_address(emulator.endpoint_url, api_id)


def permit(emulator, function_arn: str, routes: str) -> None:
    """Let API Gateway invoke the function for ``routes`` (``API_ID/STAGE/ROUTE``, globs)."""
    client("lambda", emulator).add_permission(
        FunctionName=function_arn,
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{emulator.region}:123456789012:{routes}",
    )


@pytest.fixture(scope="module")
def api(emulator, role) -> str:
    return http_api(emulator, role, None)


def echoed(answer: requests.Response) -> dict:
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_request_reaches_the_function_as_a_payload_2_event(emulator, local_mode, api):
    answer = requests.post(
        f"{api}/classify?top_k=3&top_k=4",
        data=b'{"top_k": 2}',
        headers={"Content-Type": "application/json", "X-Tag": "a", "Cookie": "a=1; b=2"},
        timeout=30,
    )
    event = echoed(answer)["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /classify"
    assert event["rawPath"] == "/classify"
    assert event["rawQueryString"] == "top_k=3&top_k=4"
    assert event["queryStringParameters"] == {"top_k": "3,4"}
    assert event["headers"]["x-tag"] == "a"
    assert event["cookies"] == ["a=1", "b=2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"top_k": 2}', False)
    context = event["requestContext"]
    assert context["http"]["method"] == "POST"
    assert context["stage"] == "$default"
    assert context["apiId"] == api.rsplit("/", 1)[1]
    assert answer.headers["Set-Cookie"] == "session=1"


def test_a_binary_body_arrives_base64_encoded_and_path_parameters_are_named(
    emulator, local_mode, api
):
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256))
    event = echoed(
        requests.post(
            f"{api}/classify", data=jpeg, headers={"Content-Type": "image/jpeg"}, timeout=30
        )
    )["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == jpeg
    event = echoed(requests.get(f"{api}/dogs/beagle-7", timeout=30))["event"]
    assert event["pathParameters"] == {"id": "beagle-7"}
    assert event["routeKey"] == "GET /dogs/{id}"


def test_what_no_route_matches_is_404_and_a_function_error_is_500(emulator, local_mode, api):
    missing = requests.delete(f"{api}/classify", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    failed = requests.post(f"{api}/classify", data=b"raise", timeout=30)
    assert (failed.status_code, failed.json()) == (500, {"message": "Internal Server Error"})
    bare = requests.post(f"{api}/classify", data=b"bare", timeout=30)
    assert (bare.status_code, bare.json()) == (200, {"bare": True})
    assert bare.headers["Content-Type"] == "application/json"
    unknown = requests.post(
        f"{emulator.endpoint_url}/_aws/execute-api/nosuchapi/classify", timeout=30
    )
    assert unknown.status_code == 404


def test_cors_preflights_are_answered_by_the_api_and_its_headers_replace_the_functions(
    emulator, local_mode, api
):
    preflight = requests.options(
        f"{api}/classify",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "POST,OPTIONS"
    assert preflight.headers["access-control-max-age"] == "3600"
    stranger = requests.options(
        f"{api}/classify",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert "access-control-allow-origin" not in stranger.headers
    answer = requests.post(f"{api}/classify", data=b"{}", headers={"Origin": ORIGIN}, timeout=30)
    assert answer.headers["access-control-allow-origin"] == ORIGIN  # not the function's "*"


def test_a_route_over_its_burst_is_throttled(emulator, local_mode, role):
    api = http_api(
        emulator, role, None, throttling={"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.01}
    )
    statuses = [requests.get(f"{api}/dogs/1", timeout=30).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


def test_a_function_that_does_not_let_api_gateway_invoke_it_is_a_500(emulator, local_mode, role):
    api = http_api(emulator, role, None, permitted=False)
    answer = requests.get(f"{api}/dogs/1", timeout=30)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})


def test_the_jwt_authorizer_checks_the_token_against_the_issuers_keys(
    emulator, local_mode, role, issuer
):
    api = http_api(emulator, role, issuer)
    url = f"{api}/classify"

    def post(token: str | None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(url, data=b"{}", headers=headers, timeout=30)

    accepted = post(issuer.token(scope="dogs/read dogs/write"))
    authorizer = echoed(accepted)["event"]["requestContext"]["authorizer"]["jwt"]
    assert authorizer["claims"]["sub"] == "user-1"
    assert authorizer["claims"]["aud"] == AUDIENCE
    assert authorizer["scopes"] == ["dogs/read", "dogs/write"]
    impostor = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    for refused in (
        None,
        "not-a-jwt",
        issuer.token(aud="another-app"),
        issuer.token(exp=int(time.time()) - 10),
        issuer.token(nbf=int(time.time()) + 600),
        issuer.token(iss="https://elsewhere.example"),
        issuer.token(key=impostor),
    ):
        answer = post(refused)
        assert (answer.status_code, answer.json()) == (401, {"message": "Unauthorized"}), refused
    assert requests.get(f"{api}/dogs/1", timeout=30).status_code == 201  # no authorizer there


def test_local_mode_off_routes_nothing(emulator, api):
    answer = requests.post(f"{api}/classify", data=b"{}", timeout=30)
    assert answer.status_code == 503
    assert "local mode is off" in answer.json()["message"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"]),
    path=st.text(st.characters(codec="ascii", exclude_characters="?#"), max_size=40).map(
        lambda text: text.lstrip("/")
    ),
    headers=st.dictionaries(
        st.sampled_from(["Origin", "Authorization", "Content-Type", "Cookie", "X-Any"]),
        st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=60).map(
            str.strip  # what a client library sends at all
        ),
        max_size=4,
    ),
    body=st.binary(max_size=512),
)
def test_hostile_requests_get_an_answer_never_a_traceback(
    emulator, local_mode, api, method, path, headers, body
):
    """Whatever the request, the API answers with a status of its own (or the function's):
    the router never fails."""
    answer = requests.request(method, f"{api}/{path}", data=body, headers=headers, timeout=30)
    assert answer.status_code in (201, 200, 204, 400, 401, 404, 413, 429, 500), answer.text
    if answer.status_code == 500:
        assert answer.json() == {"message": "Internal Server Error"}


def test_the_most_specific_route_wins_and_named_stages_have_their_own_prefix(
    emulator, local_mode, role
):
    """http-api-develop-routes.html: a literal path before a parameter, a parameter before a
    greedy ``{proxy+}``, a method before ANY, and ``$default`` for what no route matches; a
    stage other than ``$default`` answers under its name."""
    apis = client("apigatewayv2", emulator)
    function_arn = function(emulator, role)
    api_id = apis.create_api(Name=f"routes-{uuid.uuid4().hex[:6]}", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    for key in ("GET /dogs/beagle", "GET /dogs/{dog-id}", "ANY /dogs/{proxy+}", "$default"):
        apis.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
    for stage in ("$default", "beta"):
        apis.create_stage(ApiId=api_id, StageName=stage)
    permit(emulator, function_arn, f"{api_id}/*")
    base = local_address(emulator.endpoint_url, api_id)

    def route_of(method: str, path: str, stage: str = "") -> tuple[str, dict]:
        url = f"{base}/{stage}{path}" if stage else f"{base}{path}"
        event = echoed(requests.request(method, url, timeout=30))["event"]
        return event["routeKey"], event.get("pathParameters", {})

    assert route_of("GET", "/dogs/beagle") == ("GET /dogs/beagle", {})
    assert route_of("GET", "/dogs/akita") == ("GET /dogs/{dog-id}", {"dog-id": "akita"})
    assert route_of("POST", "/dogs/akita") == ("ANY /dogs/{proxy+}", {"proxy": "akita"})
    assert route_of("GET", "/dogs/a/b") == ("ANY /dogs/{proxy+}", {"proxy": "a/b"})
    assert route_of("GET", "/cats") == ("$default", {})
    answer = requests.get(f"{base}/beta/dogs/beagle", timeout=30)
    context = echoed(answer)["event"]["requestContext"]
    assert (context["stage"], context["routeKey"]) == ("beta", "GET /dogs/beagle")
    assert echoed(answer)["event"]["rawPath"] == "/beta/dogs/beagle"


def test_an_integration_on_payload_format_1_is_refused_not_fed_2(emulator, local_mode, role):
    """AWS_PROXY integrations default to payload format 1.0: the emulator builds 2.0 events
    only, and answers 500 rather than hand a 1.0 function a 2.0 event."""
    apis = client("apigatewayv2", emulator)
    function_arn = function(emulator, role)
    api_id = apis.create_api(Name=f"v1-{uuid.uuid4().hex[:6]}", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn
    )["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey="GET /dogs", Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api_id, StageName="$default")
    answer = requests.get(f"{local_address(emulator.endpoint_url, api_id)}/dogs", timeout=30)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})


def test_a_token_without_the_routes_scope_is_forbidden(emulator, local_mode, role, issuer):
    api = http_api(emulator, role, issuer)
    api_id = api.rsplit("/", 1)[1]
    apis = client("apigatewayv2", emulator)
    (route,) = [
        r for r in apis.get_routes(ApiId=api_id)["Items"] if r["RouteKey"] == "POST /classify"
    ]
    apis.update_route(ApiId=api_id, RouteId=route["RouteId"], AuthorizationScopes=["dogs/write"])

    def post(scope) -> int:
        token = issuer.token(scope=scope) if isinstance(scope, str) else issuer.token(scp=scope)
        headers = {"Authorization": f"Bearer {token}"}
        return requests.post(f"{api}/classify", data=b"{}", headers=headers, timeout=30)

    assert post("dogs/read").status_code == 403
    assert post("dogs/read dogs/write").status_code == 201
    assert post(["dogs/write"]).status_code == 201  # scp as a list (Okta's form)
