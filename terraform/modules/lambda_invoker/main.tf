data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.name}"
  input_enabled  = var.input_s3 != null
  asynchronous   = var.async_inference != null
  async_objects  = local.asynchronous ? "arn:${data.aws_partition.current.partition}:s3:::${var.async_inference.bucket}" : null
  # The longest a request can take (lambda/invoker/config.py, Config.problems): reading s3_uri
  # or url input (7 s), every endpoint attempt (2 s to connect + invoke_timeout), 1 s to answer.
  worst_case_seconds = 7 + var.invoke_attempts * (2 + var.invoke_timeout) + 1
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# Confused-deputy guard (Lambda developer guide, "Working with AWS managed policies in the
# execution role": aws:SourceAccount in the role trust policy). Lambda documents no source ARN
# for assuming an execution role, so the account is the narrowest documented condition.
data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
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
    actions   = [local.asynchronous ? "sagemaker:InvokeEndpointAsync" : "sagemaker:InvokeEndpoint"]
    resources = [var.endpoint_arn]
  }

  dynamic "statement" {
    for_each = local.asynchronous ? [var.async_inference] : []

    content {
      sid       = "QueueAsyncRequests"
      actions   = ["s3:PutObject"]
      resources = ["${local.async_objects}/${statement.value.input_prefix}*"]
    }
  }

  # The status route reads the answer, the failure, or (neither yet) the request itself.
  dynamic "statement" {
    for_each = local.asynchronous ? [var.async_inference] : []

    content {
      sid       = "ReadAsyncOutcomes"
      actions   = ["s3:GetObject"]
      resources = [for prefix in [statement.value.input_prefix, statement.value.output_prefix, statement.value.failure_prefix] : "${local.async_objects}/${prefix}*"]
    }
  }

  # Without s3:ListBucket a missing answer is a 403, not a 404 (S3 API reference, GetObject):
  # "pending" could not be told from "denied".
  dynamic "statement" {
    for_each = local.asynchronous ? [var.async_inference] : []

    content {
      sid       = "ListAsyncOutcomes"
      actions   = ["s3:ListBucket"]
      resources = [local.async_objects]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [for prefix in [statement.value.input_prefix, statement.value.output_prefix, statement.value.failure_prefix] : "${prefix}*"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.asynchronous && var.kms_key_arn != null ? [var.kms_key_arn] : []

    content {
      sid       = "UseBucketKeyForAsync"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
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

  # Without s3:ListBucket, S3 answers 403 for a missing key (S3 API reference, GetObject):
  # listing the input prefix, and nothing else, lets "not found" be told apart.
  dynamic "statement" {
    for_each = local.input_enabled ? [var.input_s3] : []

    content {
      sid       = "ListInferenceInput"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}"]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${statement.value.prefix}*"]
      }
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
      ENDPOINT_NAME            = var.endpoint_name
      MODEL_VERSION            = var.model_version
      INPUT_BUCKET             = local.input_enabled ? var.input_s3.bucket : ""
      INPUT_PREFIX             = local.input_enabled ? var.input_s3.prefix : ""
      URL_ALLOWLIST            = join(",", var.url_allowlist)
      CORS_ALLOW_ORIGIN        = var.cors_allow_origin
      FUNCTION_TIMEOUT_SECONDS = tostring(var.timeout)
      INVOKE_TIMEOUT_SECONDS   = tostring(var.invoke_timeout)
      INVOKE_ATTEMPTS          = tostring(var.invoke_attempts)
      MAX_IMAGE_BYTES          = tostring(var.max_image_bytes)
      ASYNC_BUCKET             = local.asynchronous ? var.async_inference.bucket : ""
      ASYNC_INPUT_PREFIX       = local.asynchronous ? var.async_inference.input_prefix : ""
      ASYNC_OUTPUT_PREFIX      = local.asynchronous ? var.async_inference.output_prefix : ""
      ASYNC_FAILURE_PREFIX     = local.asynchronous ? var.async_inference.failure_prefix : ""
      METRIC_NAMESPACE         = var.metric_namespace == null ? "" : var.metric_namespace
    }
  }

  tags = var.tags

  # The log group exists (with its retention) before the function can create it unmanaged.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]

  lifecycle {
    precondition {
      condition     = local.worst_case_seconds <= var.timeout
      error_message = "invoke_attempts x (2 s connect + invoke_timeout) + 7 s of input reading + 1 s must fit the function timeout; lower invoke_timeout or invoke_attempts, or raise timeout."
    }
  }
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
