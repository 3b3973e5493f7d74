data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_sagemaker_prebuilt_ecr_image" "pytorch_inference" {
  repository_name = "pytorch-inference"
  image_tag       = var.inference_image_tag
}

locals {
  image_uri  = coalesce(var.inference_image_uri, data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_path)
  model_hash = substr(sha1(jsonencode([var.model_data_url, local.image_uri, var.container_environment])), 0, 8)
  # A new model or instance choice gets a new endpoint configuration, so updates never
  # modify a configuration an endpoint is using.
  config_hash  = substr(sha1(jsonencode([local.model_hash, var.instance_type, var.initial_instance_count])), 0, 8)
  variant_name = "AllTraffic"
  # s3://bucket/key -> arn:aws:s3:::bucket/key; a prefix lets later models deploy with the same role.
  model_read_arn   = "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(coalesce(var.model_artifacts_s3_prefix, var.model_data_url), "s3://")}${var.model_artifacts_s3_prefix == null ? "" : "*"}"
  log_group_arn    = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/sagemaker/Endpoints/${var.name}"
  repository_arn   = "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_id}:repository/pytorch-inference"
  scaling_resource = "endpoint/${aws_sagemaker_endpoint.this.name}/variant/${local.variant_name}"
}

# Confused-deputy guard (SageMaker developer guide, "Cross-service confused deputy
# prevention"): for inference the source ARN must be this exact pattern; the page warns not to
# narrow it to one model or endpoint ("the asterisk ... does not stand for wildcard").
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

resource "aws_iam_role" "execution" {
  name               = "${var.name}-endpoint"
  assume_role_policy = data.aws_iam_policy_document.assume_sagemaker.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ReadModelArtifact"
    actions   = ["s3:GetObject"]
    resources = [local.model_read_arn]
  }

  statement {
    sid       = "PullInferenceImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [local.repository_arn]
  }

  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteEndpointLogs"
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
      values   = ["/aws/sagemaker/Endpoints", "AWS/SageMaker"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptModelArtifact"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "endpoint-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

resource "aws_sagemaker_model" "this" {
  name                     = "${var.name}-${local.model_hash}"
  execution_role_arn       = aws_iam_role.execution.arn
  enable_network_isolation = var.network_isolation

  primary_container {
    image          = local.image_uri
    model_data_url = var.model_data_url
    environment = merge({
      SAGEMAKER_PROGRAM          = "inference.py"
      SAGEMAKER_SUBMIT_DIRECTORY = "/opt/ml/model/code"
      SAGEMAKER_REGION           = data.aws_region.current.name
      # Isolated, the container cannot reach S3: the handler answers s3_uri requests with a
      # 400 at once instead of waiting for a connection that cannot happen.
      S3_INPUT_ENABLED = tostring(!var.network_isolation)
    }, var.container_environment)
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name        = "${var.name}-${local.config_hash}"
  kms_key_arn = var.kms_key_arn

  production_variants {
    variant_name           = local.variant_name
    model_name             = aws_sagemaker_model.this.name
    initial_instance_count = var.initial_instance_count
    instance_type          = var.instance_type
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
  tags                 = var.tags
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "sagemaker"
  resource_id        = local.scaling_resource
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = var.autoscaling.min_capacity
  max_capacity       = var.autoscaling.max_capacity
  tags               = var.tags
}

resource "aws_appautoscaling_policy" "invocations" {
  name               = "${var.name}-invocations-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.invocations_per_instance
    scale_in_cooldown  = var.autoscaling.scale_in_cooldown
    scale_out_cooldown = var.autoscaling.scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = "SageMakerVariantInvocationsPerInstance"
    }
  }
}
