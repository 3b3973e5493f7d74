data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  bucket_arn    = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  log_group_arn = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/sagemaker/TrainingJobs"
  image_repository_arns = [
    for repository in var.image_repositories :
    "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${var.image_registry_id}:repository/${repository}"
  ]
}

# Confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
# prevention"): SageMaker may assume the role only for this account's training jobs, tuning
# trials included.
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
      values = [
        "arn:${data.aws_partition.current.partition}:sagemaker:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:training-job/*",
        "arn:${data.aws_partition.current.partition}:sagemaker:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:hyper-parameter-tuning-job/*",
      ]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-training"
  assume_role_policy = data.aws_iam_policy_document.assume_sagemaker.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  # Adding the trained model to the registry: the registry's own rule (PendingManualApproval
  # versions of its group only), as the model_registry module states it.
  source_policy_documents = var.add_pending_versions_policy_json == null ? [] : [var.add_pending_versions_policy_json]

  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for prefix in values(var.prefixes) : "${prefix}*"]
    }
  }

  statement {
    sid     = "ReadDataCodeAndFeatures"
    actions = ["s3:GetObject"]
    resources = [
      "${local.bucket_arn}/${var.prefixes.data}*",
      "${local.bucket_arn}/${var.prefixes.code}*",
      "${local.bucket_arn}/${var.prefixes.checkpoints}*",
      "${local.bucket_arn}/${var.prefixes.features}*",
    ]
  }

  statement {
    sid     = "WriteModelsCheckpointsAndFeatures"
    actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = [
      "${local.bucket_arn}/${var.prefixes.models}*",
      "${local.bucket_arn}/${var.prefixes.checkpoints}*",
      "${local.bucket_arn}/${var.prefixes.features}*",
    ]
  }

  statement {
    sid = "SyncCheckpoints"
    # SageMaker mirrors /opt/ml/checkpoints, removing files the job removed.
    actions   = ["s3:DeleteObject"]
    resources = ["${local.bucket_arn}/${var.prefixes.checkpoints}*"]
  }

  statement {
    sid       = "PullTrainingImage"
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
      values   = ["/aws/sagemaker/TrainingJobs", "AWS/SageMaker"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseBucketKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "training-job-access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
