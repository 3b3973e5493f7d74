locals {
  route_key = "POST /classify"
  jwt       = var.authorization.type == "jwt"
  # The invoke permission covers this route of this API only (any stage).
  route_arn = "${aws_apigatewayv2_api.this.execution_arn}/*/POST/classify"
  # An asynchronous request's status: GET /classify/{id}, any id.
  status_route_key = "GET /classify/{id}"
  status_route_arn = "${aws_apigatewayv2_api.this.execution_arn}/*/GET/classify/*"
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "POST /classify in front of the dog-breed classifier's Lambda."
  tags          = var.tags

  dynamic "cors_configuration" {
    for_each = length(var.cors_allow_origins) > 0 ? [1] : []

    content {
      allow_origins = var.cors_allow_origins
      allow_methods = var.status_route ? ["GET", "POST", "OPTIONS"] : ["POST", "OPTIONS"]
      allow_headers = ["content-type", "authorization"]
      max_age       = 3600
    }
  }
}

resource "aws_apigatewayv2_integration" "lambda" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = var.function_alias_arn
  payload_format_version = "2.0"
  # The most an HTTP API waits; the function's own timeout ends earlier (function_timeout).
  timeout_milliseconds = 30000
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = local.jwt ? 1 : 0

  api_id           = aws_apigatewayv2_api.this.id
  name             = "${var.name}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.authorization.issuer
    audience = var.authorization.audience
  }
}

resource "aws_apigatewayv2_route" "classify" {
  #checkov:skip=CKV_AWS_309:authorization is a choice (none for throttled demos, jwt otherwise); none is documented with its cost and protection.
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = local.route_key
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = local.jwt ? "JWT" : "NONE"
  authorizer_id      = local.jwt ? aws_apigatewayv2_authorizer.jwt[0].id : null
}

resource "aws_apigatewayv2_route" "status" {
  #checkov:skip=CKV_AWS_309:authorization is a choice (none for throttled demos, jwt otherwise), the same as POST /classify's.
  count = var.status_route ? 1 : 0

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = local.status_route_key
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = local.jwt ? "JWT" : "NONE"
  authorizer_id      = local.jwt ? aws_apigatewayv2_authorizer.jwt[0].id : null
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_rate_limit  = var.throttling.rate_limit
    throttling_burst_limit = var.throttling.burst_limit
  }

  route_settings {
    route_key              = aws_apigatewayv2_route.classify.route_key
    throttling_rate_limit  = var.throttling.rate_limit
    throttling_burst_limit = var.throttling.burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      errorMessage       = "$context.error.message"
    })
  }
}

resource "aws_lambda_permission" "status" {
  count = var.status_route ? 1 : 0

  statement_id  = "${var.name}-status"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  qualifier     = element(split(":", var.function_alias_arn), 7)
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.status_route_arn
}

resource "aws_lambda_permission" "api" {
  statement_id  = "${var.name}-classify"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  qualifier     = element(split(":", var.function_alias_arn), 7)
  principal     = "apigateway.amazonaws.com"
  source_arn    = local.route_arn
}
