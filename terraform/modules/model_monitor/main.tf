data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name

  capture_bucket  = split("/", trimprefix(var.capture_s3_uri, "s3://"))[0]
  capture_prefix  = trimprefix(var.capture_s3_uri, "s3://${local.capture_bucket}/")
  records_prefix  = "${local.capture_prefix}${var.endpoint_name}/${var.variant_name}/"
  baseline_bucket = split("/", trimprefix(var.baseline_s3_prefix, "s3://"))[0]
  baseline_prefix = trimprefix(var.baseline_s3_prefix, "s3://${local.baseline_bucket}/")
  sagemaker_arn   = "arn:${local.partition}:sagemaker:${local.region}:${local.account}"
  log_group_name  = "/aws/lambda/${var.name}"
  window_seconds  = var.window_minutes * 60
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# Confused-deputy guard as for the invoker (lambda_invoker): the account is the narrowest
# condition Lambda documents for assuming an execution role.
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
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "function" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

# What the monitor reads and writes, and nothing else: the captures of one variant, the
# registry's baselines, the served model's description, its own metrics and logs.
data "aws_iam_policy_document" "function" {
  statement {
    sid       = "ReadCaptures"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.capture_bucket}/${local.records_prefix}*"]
  }

  statement {
    sid       = "ListCaptures"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.capture_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.records_prefix}*"]
    }
  }

  statement {
    sid       = "ReadBaselines"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.baseline_bucket}/${local.baseline_prefix}*"]
  }

  # DescribeEndpoint, its configuration, the model and its package: which version is served.
  # The endpoint module names configurations and models <endpoint>-<hash>.
  statement {
    sid     = "FindTheServedVersion"
    actions = ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel", "sagemaker:DescribeModelPackage"]
    resources = [
      "${local.sagemaker_arn}:endpoint/${lower(var.endpoint_name)}",
      "${local.sagemaker_arn}:endpoint-config/${lower(var.endpoint_name)}-*",
      "${local.sagemaker_arn}:model/${lower(var.endpoint_name)}-*",
      "${local.sagemaker_arn}:model-package/${lower(var.model_package_group_name)}/*",
    ]
  }

  # PutMetricData takes no resource; the namespace condition key keeps it to the monitor's own.
  statement {
    sid       = "PublishFigures"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metric_namespace]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptCapturesAndBaselines"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "model-monitor"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Invoked by its schedule, which retries and keeps no event worth a DLQ: the next run measures the next window.
  #checkov:skip=CKV_AWS_117:Calls only the S3, SageMaker and CloudWatch public endpoints; a VPC would add NAT or VPC endpoints for no isolation gain.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly from this repository and pinned by source_code_hash; code signing needs an AWS Signer profile outside this stack.
  #checkov:skip=CKV_AWS_173:Environment variables hold no secrets (names, prefixes, figures); Lambda encrypts them at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_50:One run an hour whose report is its log line; X-Ray would add a wildcard-resource permission for little insight.
  function_name    = var.name
  description      = "Measures the captured traffic of SageMaker endpoint ${var.endpoint_name} against the served model's baseline."
  role             = aws_iam_role.function.arn
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)
  handler          = "monitor_function.handler"
  runtime          = "python3.12"
  architectures    = ["arm64"]
  memory_size      = var.memory_size
  timeout          = var.timeout
  # One run at a time: two would publish the same window twice.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      ENDPOINT_NAME    = var.endpoint_name
      VARIANT_NAME     = var.variant_name
      CAPTURE_S3_URI   = var.capture_s3_uri
      METRIC_NAMESPACE = var.metric_namespace
      WINDOW_MINUTES   = tostring(var.window_minutes)
      MIN_REQUESTS     = tostring(var.min_requests)
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.function, aws_cloudwatch_log_group.this]
}
