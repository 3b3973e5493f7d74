data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  bucket_arn = "arn:${local.partition}:s3:::${var.bucket_name}"
  # SageMaker ARNs are lowercase whatever the case of the name.
  sagemaker_arn = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"
  notebook_arn  = "${local.sagemaker_arn}:notebook-instance/${lower(var.name)}"
  job_arns = [
    "${local.sagemaker_arn}:training-job/${lower(var.job_name_prefix)}-*",
    "${local.sagemaker_arn}:hyper-parameter-tuning-job/${lower(var.job_name_prefix)}-*",
  ]
  # What python -m mlops status and verify read: the project's endpoint, its configurations,
  # its models and its alarms (all named after the project).
  serving_arns = [
    "${local.sagemaker_arn}:endpoint/${lower(var.job_name_prefix)}",
    "${local.sagemaker_arn}:endpoint-config/${lower(var.job_name_prefix)}-*",
    "${local.sagemaker_arn}:model/${lower(var.job_name_prefix)}-*",
  ]
}

data "aws_iam_policy_document" "assume_sagemaker" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    # Confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
    # prevention"); the page documents no source ARN for notebook instances.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume_sagemaker.json
  tags               = var.tags
}

# What the team does from the notebook, and nothing more: read the dataset, keep work in the
# workspace prefix, launch and follow this project's jobs through the operator CLI (passing
# only the training role), invoke the endpoint, and stop the instance when idle.
data "aws_iam_policy_document" "this" {
  # The operator CLI registers versions waiting for approval: the registry's own rule
  # (PendingManualApproval versions of its group only), as the model_registry module states it.
  source_policy_documents = var.model_registry == null ? [] : [var.model_registry.add_pending_versions_policy_json]

  statement {
    sid       = "ListDataAndWorkspace"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.prefixes.data}*", "${var.prefixes.features}*", "${var.prefixes.workspace}*"]
    }
  }

  statement {
    sid = "ReadDataAndFeatures"
    # features/: tune --features-job checks that a features job's cache is complete.
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.prefixes.data}*", "${local.bucket_arn}/${var.prefixes.features}*"]
  }

  statement {
    sid       = "Workspace"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${local.bucket_arn}/${var.prefixes.workspace}*"]
  }

  statement {
    sid = "UploadJobCode"
    # GetObject: registering a model hashes the code bundle its job ran.
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${local.bucket_arn}/${var.prefixes.code}${var.job_name_prefix}-*"]
  }

  dynamic "statement" {
    for_each = var.model_registry == null ? [] : [var.model_registry.group_arn]

    content {
      sid       = "ReviewVersions"
      actions   = ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"]
      resources = ["${replace(statement.value, ":model-package-group/", ":model-package/")}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.model_registry == null ? [] : [var.model_registry.group_arn]

    content {
      sid       = "ListVersions"
      actions   = ["sagemaker:ListModelPackages", "sagemaker:DescribeModelPackageGroup"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.model_registry == null ? [] : [var.model_registry.group_arn]

    content {
      sid = "ReadTrainingMetrics"
      # What a training job wrote besides its model: ml/train.py's metrics.json.
      actions   = ["s3:GetObject"]
      resources = ["${local.bucket_arn}/${var.prefixes.models}${var.job_name_prefix}-*/output/output.tar.gz"]
    }
  }

  dynamic "statement" {
    for_each = var.model_registry == null ? [] : [var.model_registry.group_arn]

    content {
      sid       = "WriteRegistryDocuments"
      actions   = ["s3:GetObject", "s3:PutObject"]
      resources = ["${local.bucket_arn}/${var.prefixes.registry}*"]
    }
  }

  statement {
    sid = "LaunchAndFollowProjectJobs"
    actions = [
      "sagemaker:CreateTrainingJob",
      "sagemaker:CreateHyperParameterTuningJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:DescribeHyperParameterTuningJob",
      "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
      "sagemaker:StopTrainingJob",
      "sagemaker:StopHyperParameterTuningJob",
    ]
    resources = local.job_arns
  }

  statement {
    sid = "ListJobs"
    # List calls have no resource-level permissions (Service Authorization Reference).
    actions   = ["sagemaker:ListTrainingJobs", "sagemaker:ListHyperParameterTuningJobs"]
    resources = ["*"]
  }

  statement {
    sid       = "FollowTheEndpoint"
    actions   = ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"]
    resources = local.serving_arns
  }

  statement {
    sid       = "ReadProjectAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.job_name_prefix}-*"]
  }

  statement {
    sid       = "PassOnlyTheTrainingRole"
    actions   = ["iam:PassRole"]
    resources = [var.training_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "StopItselfWhenIdle"
    actions   = ["sagemaker:StopNotebookInstance", "sagemaker:DescribeNotebookInstance"]
    resources = [local.notebook_arn]
  }

  statement {
    sid       = "WriteNotebookLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/NotebookInstances*"]
  }

  dynamic "statement" {
    for_each = var.endpoint_arn == null ? [] : [var.endpoint_arn]

    content {
      sid       = "InvokeTheEndpoint"
      actions   = ["sagemaker:InvokeEndpoint"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseTheKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "notebook"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_sagemaker_notebook_instance_lifecycle_configuration" "this" {
  name = "${var.name}-autostop"
  on_start = base64encode(templatefile("${path.module}/templates/on_start.sh.tftpl", {
    autostop_py  = file("${path.module}/templates/autostop.py")
    idle_minutes = var.idle_minutes
  }))
  tags = var.tags
}

resource "aws_sagemaker_notebook_instance" "this" {
  #checkov:skip=CKV_AWS_122:Direct internet access is off by default (the variable's default); a team can turn it on knowingly.
  name                    = var.name
  role_arn                = aws_iam_role.this.arn
  instance_type           = var.instance_type
  volume_size             = var.volume_size
  platform_identifier     = var.platform_identifier
  kms_key_id              = var.kms_key_arn
  lifecycle_config_name   = aws_sagemaker_notebook_instance_lifecycle_configuration.this.name
  root_access             = var.root_access ? "Enabled" : "Disabled"
  direct_internet_access  = var.direct_internet_access ? "Enabled" : "Disabled"
  subnet_id               = var.subnet_id
  security_groups         = length(var.security_group_ids) > 0 ? var.security_group_ids : null
  default_code_repository = var.default_code_repository

  instance_metadata_service_configuration {
    minimum_instance_metadata_service_version = "2"
  }

  tags = var.tags

  # The role's policy exists before the instance starts and runs its lifecycle script.
  depends_on = [aws_iam_role_policy.this]

  lifecycle {
    precondition {
      # SageMaker API reference, CreateNotebookInstance (DirectInternetAccess): "If you set
      # this to Disabled this notebook instance is able to access resources only in your VPC".
      condition     = var.direct_internet_access || (var.subnet_id != null && length(var.security_group_ids) > 0)
      error_message = "direct_internet_access = false needs subnet_id and security_group_ids: without them the notebook has no network at all."
    }
  }
}
