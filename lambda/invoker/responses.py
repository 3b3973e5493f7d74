"""The answer the caller gets: always JSON, with the configured CORS header."""

from __future__ import annotations

import json

from invoker.config import Config
from invoker.errors import ApiError


def response(status: int, body: dict, config: Config) -> dict:
    headers = {"Content-Type": "application/json"}
    if status == 202 and "status_path" in body:  # where a queued request's answer will be
        headers["Location"] = body["status_path"]
    if config.cors_allow_origin:
        headers["Access-Control-Allow-Origin"] = config.cors_allow_origin
        headers["Vary"] = "Origin"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body, allow_nan=False)}


def error_response(error: ApiError, config: Config) -> dict:
    return response(error.status, {"error": {"code": error.code, "message": error.message}}, config)
