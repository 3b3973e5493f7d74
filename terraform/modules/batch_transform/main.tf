data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  bucket_arn    = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/sagemaker/TransformJobs"
  image_repository_arns = [
    for repository in var.image_repositories :
    "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${var.image_registry_id}:repository/${repository}"
  ]
}

# Confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
# prevention"): a transform job runs as its model's role, and for models the page gives this
# account-wide pattern ("the asterisk ... does not stand for wildcard").
data "aws_iam_policy_document" "assume_sagemaker" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:sagemaker:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-transform"
  assume_role_policy = data.aws_iam_policy_document.assume_sagemaker.json
  tags               = var.tags
}

# What a transform job's model role needs (SageMaker developer guide, "How to use SageMaker AI
# execution roles", CreateTransformJob API: Execution Role Permissions), each on the paths of
# this bucket the job uses and nothing else.
data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ListInputs"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.input_prefix}*"]
    }
  }

  statement {
    sid       = "ReadModelsAndInputs"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.models_prefix}*", "${local.bucket_arn}/${var.input_prefix}*"]
  }

  statement {
    sid = "WriteOutputs"
    # An answer over the multipart threshold is uploaded in parts; a failed upload is aborted.
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${var.output_prefix}*"]
  }

  statement {
    sid       = "PullInferenceImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = local.image_repository_arns
  }

  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
  }

  statement {
    sid = "PublishMetrics"
    # PutMetricData has no resource-level permissions; the namespace condition narrows it.
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/TransformJobs", "AWS/SageMaker"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid = "UseBucketKey"
      # Decrypt reads the model and the inputs; GenerateDataKey writes the answers.
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "transform-job-access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json

  lifecycle {
    precondition {
      # A job reading its own answers, or writing over its inputs, is never what was meant.
      condition     = !startswith(var.output_prefix, var.input_prefix) && !startswith(var.input_prefix, var.output_prefix)
      error_message = "input_prefix ${var.input_prefix} and output_prefix ${var.output_prefix} overlap: the role would read its own answers or write over its inputs; choose two separate folders."
    }
  }
}
