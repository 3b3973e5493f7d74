data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

data "aws_sagemaker_prebuilt_ecr_image" "pytorch_inference" {
  repository_name = "pytorch-inference"
  image_tag       = var.inference_image_tag
}

locals {
  serverless   = var.serverless != null
  asynchronous = var.async_inference != null
  serving_mode = local.serverless ? "serverless" : local.asynchronous ? "async" : "realtime"
  image_uri    = coalesce(var.inference_image_uri, data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_path)
  environment = merge({
    SAGEMAKER_PROGRAM          = "inference.py"
    SAGEMAKER_SUBMIT_DIRECTORY = "/opt/ml/model/code"
    SAGEMAKER_REGION           = data.aws_region.current.name
    # Isolated, the container cannot reach S3: the handler answers s3_uri requests with a
    # 400 at once instead of waiting for a connection that cannot happen.
    S3_INPUT_ENABLED = tostring(!var.network_isolation)
  }, local.server_environment, var.container_environment)
  # Models and endpoint configurations cannot change in place, and SageMaker refuses a second
  # one of the same name: everything that replaces one is in its name, so a replacement is
  # created under a new name before the old one goes (create_before_destroy).
  from_package = var.model_package_arn != null
  # The package carries its own image, model data and environment (mlops register writes them)
  # and model data; CreateModel's Environment beside ModelPackageName (as the SageMaker Python
  # SDK's ModelPackage sends it) adds the model server's settings for this instance type. It
  # restates the package's own variables too: whether SageMaker merges the two or takes the
  # model's alone is not documented, and either way the container gets them all.
  model_source = local.from_package ? jsonencode([var.model_package_arn, local.environment, var.network_isolation]) : jsonencode([var.model_data_url, local.image_uri, local.environment, var.network_isolation])
  model_hash   = substr(sha1(local.model_source), 0, 8)
  # What makes a new fleet: a new model, instance type or serverless sizing, or capture
  # settings. Each gets a new endpoint configuration, so an update never modifies a
  # configuration an endpoint is using.
  fleet_shape = jsonencode([local.model_hash, local.serverless ? null : var.instance_type, var.serverless, var.async_inference, var.shadow, var.data_capture, var.kms_key_arn])
  # The shadow's model: its package, with the model server's settings for the same type.
  # Named NAME-<hash> as the production model is (63 characters at most for a 54-character
  # name), the hash of other inputs keeping the two apart.
  shadow_hash         = var.shadow == null ? null : substr(sha1(jsonencode(["shadow", var.shadow.model_package_arn, local.environment, var.network_isolation])), 0, 8)
  config_hash         = substr(sha1(local.fleet_shape), 0, 8)
  variant_name        = "AllTraffic"
  shadow_variant_name = "Shadow"
  # The size a new fleet starts at: what auto scaling chose, kept within its range, and at
  # least 1 (InitialInstanceCount; an asynchronous endpoint scales to 0 once created).
  fleet_size = max(1, var.current_instance_count == null ? var.autoscaling.min_capacity : min(max(var.current_instance_count, var.autoscaling.min_capacity), var.autoscaling.max_capacity))
  # s3://bucket/key -> arn:aws:s3:::bucket/key; a prefix lets later models deploy with the same role.
  model_read_arn   = "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(coalesce(var.model_artifacts_s3_prefix, var.model_data_url, "s3://nowhere"), "s3://")}${var.model_artifacts_s3_prefix == null ? "" : "*"}"
  capture_arn      = var.data_capture == null ? null : "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(var.data_capture.destination_s3_uri, "s3://")}*"
  log_group_name   = "/aws/sagemaker/Endpoints/${var.name}"
  log_group_arn    = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"
  repository_arn   = "arn:${data.aws_partition.current.partition}:ecr:${data.aws_region.current.name}:${data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_id}:repository/pytorch-inference"
  scaling_resource = "endpoint/${aws_sagemaker_endpoint.this.name}/variant/${local.variant_name}"
  # The waits of one deployment: every traffic step's bake time, then the old fleet's wait.
  deployment_steps = {
    all_at_once = 1
    canary      = 2
    linear      = ceil(var.autoscaling.max_capacity / var.deployment.step_instances)
  }
  deployment_seconds = var.deployment.policy == "rolling" ? ceil(var.autoscaling.max_capacity / var.deployment.step_instances) * var.deployment.wait_seconds : local.deployment_steps[var.deployment.traffic] * var.deployment.wait_seconds + var.deployment.termination_wait_seconds
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
    sid = "WriteEndpointLogs"
    # The group is Terraform's (retention, metric filter); CreateLogGroup stays, on this group
    # only, because the execution role permissions of CreateModel list it.
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    resources = [local.log_group_arn, "${local.log_group_arn}:*"]
  }

  dynamic "statement" {
    for_each = local.asynchronous ? [local.async_arns.input] : []

    content {
      sid       = "ReadAsyncRequests"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.asynchronous ? [[local.async_arns.output, local.async_arns.failure]] : []

    content {
      sid = "WriteAsyncAnswers"
      # Answers may be large: SageMaker uploads them in parts, and abandons a failed upload.
      actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = local.asynchronous ? [[for topic in aws_sns_topic.async : topic.arn]] : []

    content {
      sid       = "NotifyAsyncOutcomes"
      actions   = ["sns:Publish"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = local.asynchronous ? [var.async_inference.topics_kms_key_arn] : []

    content {
      sid = "UseTopicsKey"
      # Publishing to a topic under a customer managed key takes both (SNS developer guide,
      # "Configuring KMS permissions for AWS services").
      actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.data_capture == null ? [] : [local.capture_arn]

    content {
      sid       = "WriteDataCapture"
      actions   = ["s3:PutObject"]
      resources = [statement.value]
    }
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
      sid = "UseBucketKey"
      # Decrypt reads the model (and asynchronous requests); GenerateDataKey writes captures
      # and asynchronous answers under the bucket's key.
      actions   = var.data_capture == null && !local.asynchronous ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:GenerateDataKey"]
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
  #checkov:skip=CKV_AWS_370:Isolated by default (network_isolation = true); only a serverless endpoint turns it off, because SageMaker Serverless Inference does not support network isolation.
  name                     = "${var.name}-${local.model_hash}"
  execution_role_arn       = aws_iam_role.execution.arn
  enable_network_isolation = var.network_isolation

  primary_container {
    image              = local.from_package ? null : local.image_uri
    model_data_url     = local.from_package ? null : var.model_data_url
    environment        = local.environment
    model_package_name = var.model_package_arn
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = (var.model_data_url == null) != (var.model_package_arn == null)
      error_message = "set exactly one of model_data_url and model_package_arn."
    }
    precondition {
      condition     = !local.from_package || var.model_artifacts_s3_prefix != null
      error_message = "model_package_arn needs model_artifacts_s3_prefix: the prefix the package's model data lies under, which the endpoint's role may read."
    }
    precondition {
      condition     = local.serverless || local.instance_kind != "accelerator"
      error_message = "instance_type ${var.instance_type} is an Inferentia or Trainium instance: serving there needs a Neuron image and a model compiled for NeuronCores (one worker per core), which this module does not build: use a CPU or GPU type."
    }
    precondition {
      condition     = local.serverless || local.instance_kind == "accelerator" || local.instance_kind == local.image_kind
      error_message = "instance_type ${var.instance_type} is a ${local.instance_kind} instance, which ${local.image_uri} cannot serve on: use ${lookup(local.image_for_kind, local.instance_kind, "")}, or an instance type for that image."
    }
    precondition {
      condition     = local.serverless || local.size_vcpus != null
      error_message = "instance_type ${var.instance_type}: its vCPUs are not known from its size (medium, large, xlarge or <N>xlarge), so the model server's workers cannot be chosen."
    }
    precondition {
      condition     = local.serverless || local.size_vcpus == null || local.server_workers * coalesce(local.server_threads, 1) <= coalesce(local.size_vcpus, 0)
      error_message = "model_server: ${local.server_workers} workers x ${coalesce(local.server_threads, 1)} threads is more than the ${coalesce(local.size_vcpus, 0)} vCPUs of ${var.instance_type}; oversubscribed cores collapse throughput (bench/README.md): lower workers or threads_per_worker."
    }
    precondition {
      # A GPU type's workers feed its GPUs: their CPU threads are not the measure there.
      condition     = local.serverless || local.instance_kind == "gpu" || local.size_vcpus == null || local.server_workers * coalesce(local.server_threads, 1) >= coalesce(local.size_vcpus, 0)
      error_message = "model_server: ${local.server_workers} workers x ${coalesce(local.server_threads, 1)} threads leaves ${coalesce(local.size_vcpus, 0) - local.server_workers * coalesce(local.server_threads, 1)} of the ${coalesce(local.size_vcpus, 0)} vCPUs of ${var.instance_type} idle, which serves fewer requests under load than one worker using them all (bench/README.md): make workers x threads_per_worker ${coalesce(local.size_vcpus, 0)}, e.g. { workers = 1, threads_per_worker = ${coalesce(local.size_vcpus, 0)} } where lone requests' latency matters most."
    }
    precondition {
      condition     = !local.serverless || (var.model_server.workers == null && var.model_server.threads_per_worker == null)
      error_message = "model_server has no effect on a serverless endpoint (it runs one worker, on vCPUs SageMaker sizes by memory): leave it unset."
    }
    precondition {
      condition     = !(local.serverless && var.network_isolation)
      error_message = "a serverless endpoint cannot run network-isolated (SageMaker Serverless Inference, feature exclusions): set network_isolation = false."
    }
  }
}

# The candidate of a shadow test ("Create a shadow test"): served beside the production model
# on instances of its own, answering copies of requests; SageMaker returns only production's.
resource "aws_sagemaker_model" "shadow" {
  #checkov:skip=CKV_AWS_370:Isolated as the production model is (network_isolation).
  count = var.shadow == null ? 0 : 1

  name                     = "${var.name}-${local.shadow_hash}"
  execution_role_arn       = aws_iam_role.execution.arn
  enable_network_isolation = var.network_isolation

  primary_container {
    environment        = local.environment
    model_package_name = var.shadow.model_package_arn
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.model_artifacts_s3_prefix != null
      error_message = "shadow needs model_artifacts_s3_prefix: the prefix the candidate's model data lies under, which the endpoint's role may read."
    }
  }
}

# A change of serving mode replaces the endpoint: SageMaker cannot turn an instance-based
# endpoint into a serverless one in place, nor remove an endpoint's AsyncInferenceConfig
# ("The AsyncInferenceConfig parameter cannot be removed from this endpoint").
resource "terraform_data" "serving_mode" {
  input = local.serving_mode
}

# The fleet's identity; a new one (new model, type, sizing or capture) gets a new
# configuration, and the fleet size below is read again only then.
resource "terraform_data" "fleet_shape" {
  input = local.fleet_shape
}

# UpdateEndpoint resets each variant to its configuration's InitialInstanceCount unless
# RetainAllVariantProperties is sent, which the provider never sends
# (hashicorp/terraform-provider-aws#48990). So a new configuration starts at the size auto
# scaling chose (current_instance_count), taken when the fleet shape changes and ignored
# otherwise, so that following auto scaling never causes a deployment by itself.
resource "terraform_data" "fleet_size" {
  input = local.fleet_size

  lifecycle {
    ignore_changes       = [input]
    replace_triggered_by = [terraform_data.fleet_shape]
  }
}

resource "aws_sagemaker_endpoint_configuration" "this" {
  name = "${var.name}-${local.config_hash}"
  # Serverless variants have no storage volume to encrypt.
  kms_key_arn = local.serverless ? null : var.kms_key_arn

  production_variants {
    variant_name           = local.variant_name
    model_name             = aws_sagemaker_model.this.name
    initial_instance_count = local.serverless ? null : terraform_data.fleet_size.output
    instance_type          = local.serverless ? null : var.instance_type

    dynamic "serverless_config" {
      for_each = local.serverless ? [var.serverless] : []

      content {
        memory_size_in_mb = serverless_config.value.memory_size_in_mb
        max_concurrency   = serverless_config.value.max_concurrency
      }
    }
  }

  dynamic "shadow_production_variants" {
    for_each = var.shadow == null ? [] : [var.shadow]

    content {
      variant_name           = local.shadow_variant_name
      model_name             = aws_sagemaker_model.shadow[0].name
      initial_instance_count = shadow_production_variants.value.instance_count
      instance_type          = var.instance_type
      # Against the production variant's 1: the share of requests copied to the shadow.
      initial_variant_weight = shadow_production_variants.value.traffic_percentage / 100
    }
  }

  dynamic "async_inference_config" {
    for_each = local.asynchronous ? [var.async_inference] : []

    content {
      dynamic "client_config" {
        for_each = async_inference_config.value.max_concurrent_invocations_per_instance == null ? [] : [async_inference_config.value.max_concurrent_invocations_per_instance]

        content {
          max_concurrent_invocations_per_instance = client_config.value
        }
      }

      output_config {
        s3_output_path  = async_inference_config.value.output_s3_uri
        s3_failure_path = async_inference_config.value.failure_s3_uri
        kms_key_id      = var.kms_key_arn

        notification_config {
          success_topic = aws_sns_topic.async["success"].arn
          error_topic   = aws_sns_topic.async["error"].arn
        }
      }
    }
  }

  dynamic "data_capture_config" {
    for_each = var.data_capture == null ? [] : [var.data_capture]

    content {
      enable_capture              = true
      initial_sampling_percentage = data_capture_config.value.sampling_percentage
      destination_s3_uri          = data_capture_config.value.destination_s3_uri
      kms_key_id                  = var.kms_key_arn

      capture_options {
        capture_mode = "Input"
      }
      capture_options {
        capture_mode = "Output"
      }

      capture_content_type_header {
        json_content_types = ["application/json"]
      }
    }
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = !(local.serverless && var.data_capture != null)
      error_message = "data_capture is not available on serverless endpoints (SageMaker Serverless Inference, feature exclusions): set it to null."
    }
    precondition {
      condition     = !(local.serverless && local.asynchronous)
      error_message = "set serverless or async_inference, not both: an endpoint serves one way."
    }
    precondition {
      # "Shadow tests", Exclusions: serverless and asynchronous inference endpoints.
      condition     = var.shadow == null || local.serving_mode == "realtime"
      error_message = "shadow is for real-time endpoints: SageMaker excludes serverless and asynchronous endpoints from shadow testing (Shadow tests, Exclusions)."
    }
    precondition {
      # SageMaker documents data capture for real-time endpoints and batch transform ("Data
      # capture"); an asynchronous endpoint keeps every request and answer in S3 already.
      condition     = !(local.asynchronous && var.data_capture != null)
      error_message = "data_capture is for real-time endpoints: an asynchronous endpoint's requests and answers are already kept under async_inference's input_s3_uri and output_s3_uri. Set data_capture to null."
    }
  }
}

resource "aws_cloudwatch_log_group" "endpoint" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sagemaker_endpoint" "this" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.this.name
  tags                 = var.tags

  deployment_config {
    dynamic "blue_green_update_policy" {
      for_each = var.deployment.policy == "blue_green" ? [var.deployment] : []

      content {
        termination_wait_in_seconds          = blue_green_update_policy.value.termination_wait_seconds
        maximum_execution_timeout_in_seconds = blue_green_update_policy.value.max_execution_seconds

        traffic_routing_configuration {
          type                     = upper(blue_green_update_policy.value.traffic)
          wait_interval_in_seconds = blue_green_update_policy.value.wait_seconds

          dynamic "canary_size" {
            for_each = blue_green_update_policy.value.traffic == "canary" ? [1] : []

            content {
              type  = "INSTANCE_COUNT"
              value = var.deployment.step_instances
            }
          }

          dynamic "linear_step_size" {
            for_each = blue_green_update_policy.value.traffic == "linear" ? [1] : []

            content {
              type  = "INSTANCE_COUNT"
              value = var.deployment.step_instances
            }
          }
        }
      }
    }

    dynamic "rolling_update_policy" {
      for_each = var.deployment.policy == "rolling" ? [var.deployment] : []

      content {
        wait_interval_in_seconds             = rolling_update_policy.value.wait_seconds
        maximum_execution_timeout_in_seconds = rolling_update_policy.value.max_execution_seconds

        maximum_batch_size {
          type  = "INSTANCE_COUNT"
          value = rolling_update_policy.value.step_instances
        }
      }
    }

    auto_rollback_configuration {
      dynamic "alarms" {
        for_each = aws_cloudwatch_metric_alarm.rollback

        content {
          alarm_name = alarms.value.alarm_name
        }
      }
    }
  }

  lifecycle {
    replace_triggered_by = [terraform_data.serving_mode]

    # The rules of the DeploymentConfig API reference and the deployment guardrails
    # exclusions page, for a fleet anywhere between min and max capacity.
    precondition {
      condition     = !(local.serverless && (var.deployment.policy == "rolling" || var.deployment.traffic != "all_at_once"))
      error_message = "a serverless endpoint deploys blue_green with all_at_once traffic: rolling updates exclude serverless endpoints (deployment guardrails, Exclusions), and canary and linear steps here count instances, which it has none of."
    }
    precondition {
      condition     = !(var.deployment.policy == "rolling" && var.deployment.traffic != "all_at_once")
      error_message = "deployment.traffic applies to blue_green only; rolling replaces step_instances at a time."
    }
    precondition {
      condition     = local.serverless || var.deployment.policy != "blue_green" || var.deployment.traffic != "canary" || var.deployment.step_instances * 2 <= var.autoscaling.min_capacity
      error_message = "a canary may be at most 50% of the fleet (CanarySize): step_instances * 2 must not exceed min_capacity, so canaries need at least 2 instances."
    }
    precondition {
      condition     = local.serverless || var.deployment.policy != "blue_green" || var.deployment.traffic != "linear" || (var.deployment.step_instances * 2 <= var.autoscaling.min_capacity && var.deployment.step_instances * 10 >= var.autoscaling.max_capacity)
      error_message = "a linear step must be 10% to 50% of the fleet (LinearStepSize) at every size between min_capacity and max_capacity."
    }
    precondition {
      condition     = local.serverless || var.deployment.policy != "rolling" || (var.deployment.step_instances * 2 <= var.autoscaling.min_capacity && var.deployment.step_instances * 20 >= var.autoscaling.max_capacity)
      error_message = "a rolling batch must be 5% to 50% of the fleet (RollingUpdatePolicy MaximumBatchSize) at every size between min_capacity and max_capacity, so rolling updates need at least 2 instances."
    }
    precondition {
      # Deployment guardrails, Exclusions: rolling deployments exclude multi-variant endpoints;
      # whether a shadow variant makes one is not documented, so it is not risked.
      condition     = var.shadow == null || var.deployment.policy != "rolling"
      error_message = "a shadow variant deploys blue_green: rolling deployments exclude endpoints with more than one variant (deployment guardrails, Exclusions)."
    }
    precondition {
      condition     = var.deployment.max_execution_seconds > local.deployment_seconds
      error_message = "deployment.max_execution_seconds must exceed the deployment's own waits (every step's wait_seconds plus termination_wait_seconds)."
    }
  }
}

resource "aws_appautoscaling_target" "this" {
  count = local.serverless ? 0 : 1

  service_namespace  = "sagemaker"
  resource_id        = local.scaling_resource
  scalable_dimension = "sagemaker:variant:DesiredInstanceCount"
  min_capacity       = var.autoscaling.min_capacity
  max_capacity       = var.autoscaling.max_capacity
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = var.autoscaling.min_capacity >= 1 || local.asynchronous
      error_message = "autoscaling.min_capacity 0 is for asynchronous endpoints only (async_inference): a real-time endpoint with no instance cannot answer."
    }
    precondition {
      condition     = !(local.asynchronous && var.off_hours != null)
      error_message = "off_hours is for real-time endpoints: an asynchronous endpoint with min_capacity 0 already scales to zero when its queue is empty (and off_hours would hold it at one instance)."
    }

    # SageMaker refuses to change the instance type of a variant registered for auto scaling
    # ("Update endpoints that use auto scaling"). Replacing the target on a type change
    # orders the apply: deregister, update the endpoint, register again.
    replace_triggered_by = [terraform_data.instance_type]
  }
}

resource "terraform_data" "instance_type" {
  input = local.serverless ? null : var.instance_type
}

# Real-time only: asynchronous endpoints do not publish InvocationsPerInstance ("Monitor
# asynchronous endpoint"), and scale on their backlog instead (async.tf).
resource "aws_appautoscaling_policy" "invocations" {
  count = local.serving_mode == "realtime" ? 1 : 0

  name               = "${var.name}-invocations-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.invocations_per_instance
    scale_in_cooldown  = var.autoscaling.scale_in_cooldown
    scale_out_cooldown = var.autoscaling.scale_out_cooldown

    predefined_metric_specification {
      predefined_metric_type = "SageMakerVariantInvocationsPerInstance"
    }
  }

  lifecycle {
    # Deregistering the target deletes its policies; the new target needs them again.
    replace_triggered_by = [terraform_data.instance_type]
  }
}

resource "aws_appautoscaling_scheduled_action" "off_hours" {
  for_each = local.serverless || var.off_hours == null ? {} : {
    scale_down = { schedule = var.off_hours.scale_down, min = 1, max = 1 }
    scale_up   = { schedule = var.off_hours.scale_up, min = var.autoscaling.min_capacity, max = var.autoscaling.max_capacity }
  }

  name               = "${var.name}-${replace(each.key, "_", "-")}"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  schedule           = each.value.schedule
  timezone           = var.off_hours.timezone

  scalable_target_action {
    min_capacity = each.value.min
    max_capacity = each.value.max
  }

  lifecycle {
    replace_triggered_by = [terraform_data.instance_type]
  }
}
