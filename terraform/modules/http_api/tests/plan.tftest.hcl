mock_provider "aws" {
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "a1b2c3d4e5"
      execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/dog-breeds-api" }
  }
}

variables {
  name               = "dog-breeds-api"
  function_name      = "dog-breeds-invoker"
  function_alias_arn = "arn:aws:lambda:us-east-1:123456789012:function:dog-breeds-invoker:live"
  function_timeout   = 29
}

run "post_classify_throttled_logged_and_open_by_default" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_route.classify.route_key == "POST /classify" && aws_apigatewayv2_route.classify.authorization_type == "NONE"
    error_message = "the one route is POST /classify, open (throttled) by default"
  }
  assert {
    condition     = aws_apigatewayv2_integration.lambda.integration_type == "AWS_PROXY" && aws_apigatewayv2_integration.lambda.integration_uri == var.function_alias_arn && aws_apigatewayv2_integration.lambda.payload_format_version == "2.0"
    error_message = "the route must proxy to the live alias with payload format 2.0"
  }
  assert {
    condition     = aws_apigatewayv2_integration.lambda.timeout_milliseconds == 30000
    error_message = "the integration waits the HTTP API's most, 30 s; the function ends before"
  }
  assert {
    condition     = one(aws_apigatewayv2_stage.default.route_settings).throttling_rate_limit == 5 && one(aws_apigatewayv2_stage.default.route_settings).throttling_burst_limit == 10
    error_message = "POST /classify must be throttled (5 per second, bursts of 10, by default)"
  }
  assert {
    condition     = aws_cloudwatch_log_group.access.retention_in_days == 365 && one(aws_apigatewayv2_stage.default.access_log_settings).destination_arn == aws_cloudwatch_log_group.access.arn
    error_message = "access logs must go to a log group with a retention"
  }
  assert {
    condition     = aws_lambda_permission.api.source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/POST/classify" && aws_lambda_permission.api.qualifier == "live" && aws_lambda_permission.api.principal == "apigateway.amazonaws.com"
    error_message = "the invoke permission must be scoped to this API's POST /classify and the live alias"
  }
  assert {
    condition     = length(aws_apigatewayv2_api.this.cors_configuration) == 0 && length(aws_apigatewayv2_authorizer.jwt) == 0
    error_message = "no CORS origins and no authorizer unless asked for"
  }
  assert {
    condition     = output.classify_url == "${aws_apigatewayv2_stage.default.invoke_url}classify"
    error_message = "the output is the URL to POST to"
  }
}

run "jwt_and_cors_when_asked_for" {
  command = plan

  variables {
    cors_allow_origins = ["https://app.example.com"]
    authorization = {
      type     = "jwt"
      issuer   = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
      audience = ["dog-breeds-web"]
    }
  }

  assert {
    condition     = aws_apigatewayv2_route.classify.authorization_type == "JWT" && one(aws_apigatewayv2_authorizer.jwt[0].jwt_configuration).issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example"
    error_message = "jwt authorization must put a JWT authorizer on the route"
  }
  assert {
    condition     = one(aws_apigatewayv2_api.this.cors_configuration).allow_origins == toset(["https://app.example.com"])
    error_message = "CORS must allow the configured origins only"
  }
}

run "rejects_a_function_slower_than_the_integration" {
  command = plan
  variables {
    function_timeout = 30
  }
  expect_failures = [var.function_timeout]
}

run "rejects_unbounded_throttling" {
  command = plan
  variables {
    throttling = { rate_limit = 0 }
  }
  expect_failures = [var.throttling]
}

run "rejects_a_star_origin" {
  command = plan
  variables {
    cors_allow_origins = ["*"]
  }
  expect_failures = [var.cors_allow_origins]
}

run "rejects_unknown_authorization" {
  command = plan
  variables {
    authorization = { type = "iam" }
  }
  expect_failures = [var.authorization]
}

run "rejects_jwt_without_issuer" {
  command = plan
  variables {
    authorization = { type = "jwt", audience = ["web"] }
  }
  expect_failures = [var.authorization]
}

run "rejects_a_function_arn_without_alias" {
  command = plan
  variables {
    function_alias_arn = "arn:aws:lambda:us-east-1:123456789012:function:dog-breeds-invoker"
  }
  expect_failures = [var.function_alias_arn]
}

run "rejects_unsupported_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_a_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/aws/logs"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_function_name" {
  command = plan
  variables {
    function_name = "dog breeds"
  }
  expect_failures = [var.function_name]
}

run "a_status_route_for_asynchronous_requests_when_asked_for" {
  command = apply
  variables {
    status_route       = true
    cors_allow_origins = ["https://dogs.example.com"]
  }

  assert {
    condition     = aws_apigatewayv2_route.status[0].route_key == "GET /classify/{id}" && aws_apigatewayv2_route.status[0].target == aws_apigatewayv2_route.classify.target
    error_message = "GET /classify/{id} must reach the same function"
  }
  assert {
    condition     = aws_lambda_permission.status[0].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/GET/classify/*" && aws_lambda_permission.status[0].qualifier == "live"
    error_message = "the status route's permission must be scoped to GET /classify/* of this API"
  }
  assert {
    condition     = contains(one(aws_apigatewayv2_api.this.cors_configuration).allow_methods, "GET")
    error_message = "a browser polling the status needs GET in the CORS methods"
  }
}
