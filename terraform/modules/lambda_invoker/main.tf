data "aws_partition" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.name}"
  input_enabled  = var.input_s3 != null
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeTheEndpoint"
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = [var.endpoint_arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = local.input_enabled ? [var.input_s3] : []

    content {
      sid       = "ReadInferenceInput"
      actions   = ["s3:GetObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}/${statement.value.prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = local.input_enabled && var.kms_key_arn != null ? [var.kms_key_arn] : []

    content {
      sid       = "DecryptInferenceInput"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "invoke-endpoint"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously (API, function URL, alias); a DLQ only receives failed asynchronous events.
  #checkov:skip=CKV_AWS_117:Calls only the SageMaker runtime and S3 public endpoints; a VPC would add NAT or VPC endpoints and cold-start latency for no isolation gain.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly from this repository and pinned by source_code_hash; code signing needs an AWS Signer profile outside this stack.
  #checkov:skip=CKV_AWS_173:Environment variables hold no secrets (endpoint name, prefixes, allowlist); Lambda encrypts them at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_50:Single-hop function with JSON logs carrying the request id and duration; X-Ray would add a wildcard-resource permission for little insight.
  function_name                  = var.name
  description                    = "Classifies dog breeds by invoking SageMaker endpoint ${var.endpoint_name}."
  role                           = aws_iam_role.this.arn
  filename                       = var.package_path
  source_code_hash               = filebase64sha256(var.package_path)
  handler                        = "lambda_function.lambda_handler"
  runtime                        = "python3.12"
  architectures                  = ["arm64"]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  publish                        = true
  reserved_concurrent_executions = var.reserved_concurrency

  environment {
    variables = {
      ENDPOINT_NAME          = var.endpoint_name
      MODEL_VERSION          = var.model_version
      INPUT_BUCKET           = local.input_enabled ? var.input_s3.bucket : ""
      INPUT_PREFIX           = local.input_enabled ? var.input_s3.prefix : ""
      URL_ALLOWLIST          = join(",", var.url_allowlist)
      CORS_ALLOW_ORIGIN      = var.cors_allow_origin
      INVOKE_TIMEOUT_SECONDS = tostring(var.timeout - 5)
    }
  }

  tags = var.tags

  # The log group exists (with its retention) before the function can create it unmanaged.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The published version that serves traffic."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count = var.provisioned_concurrency > 0 ? 1 : 0

  function_name                     = aws_lambda_alias.live.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = var.provisioned_concurrency

  lifecycle {
    precondition {
      condition     = var.provisioned_concurrency <= var.reserved_concurrency
      error_message = "provisioned_concurrency cannot exceed reserved_concurrency."
    }
  }
}
