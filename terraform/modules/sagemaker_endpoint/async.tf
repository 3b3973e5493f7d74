# Asynchronous inference (async_inference): the outcome topics, and auto scaling on the
# backlog, down to zero instances when the queue is empty and back up when work arrives
# (developer guide, "Autoscale an asynchronous endpoint").

locals {
  # s3://bucket/prefix/ -> arn:aws:s3:::bucket/prefix/*
  async_arns = { for role, uri in local.asynchronous ? {
    input   = var.async_inference.input_s3_uri
    output  = var.async_inference.output_s3_uri
    failure = var.async_inference.failure_s3_uri
  } : {} : role => "arn:${data.aws_partition.current.partition}:s3:::${trimprefix(uri, "s3://")}*" }
  async_metric_dimensions = { EndpointName = var.name }
}

resource "aws_sns_topic" "async" {
  for_each = local.asynchronous ? toset(["success", "error"]) : toset([])

  name              = "${var.name}-async-${each.key}"
  kms_master_key_id = var.async_inference.topics_kms_key_arn
  tags              = var.tags
}

# Target tracking on the queue per instance: more instances while requests wait, fewer (to
# min_capacity, 0 by default at the root) when it empties. The guide's metric is published
# by EndpointName only, hence a customized metric.
resource "aws_appautoscaling_policy" "backlog" {
  count = local.asynchronous ? 1 : 0

  name               = "${var.name}-backlog-per-instance"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.backlog_per_instance
    scale_in_cooldown  = var.autoscaling.scale_in_cooldown
    scale_out_cooldown = var.autoscaling.scale_out_cooldown

    customized_metric_specification {
      metric_name = "ApproximateBacklogSizePerInstance"
      namespace   = "AWS/SageMaker"
      statistic   = "Average"

      dimensions {
        name  = "EndpointName"
        value = var.name
      }
    }
  }

  lifecycle {
    replace_triggered_by = [terraform_data.instance_type]
  }
}

# At zero instances target tracking has no per-instance backlog to act on until it exceeds
# the target; this step adds the first instance as soon as one request waits with none.
resource "aws_appautoscaling_policy" "from_zero" {
  count = local.asynchronous ? 1 : 0

  name               = "${var.name}-has-backlog-without-capacity"
  policy_type        = "StepScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  resource_id        = aws_appautoscaling_target.this[0].resource_id
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = var.autoscaling.scale_out_cooldown
    metric_aggregation_type = "Average"

    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = 1
    }
  }

  lifecycle {
    replace_triggered_by = [terraform_data.instance_type]
  }
}

resource "aws_cloudwatch_metric_alarm" "backlog_without_capacity" {
  count = local.asynchronous ? 1 : 0

  alarm_name          = "${var.name}-has-backlog-without-capacity"
  alarm_description   = "Requests wait and the endpoint has no instance: adds one (the scaling policy ${var.name}-has-backlog-without-capacity)."
  namespace           = "AWS/SageMaker"
  metric_name         = "HasBacklogWithoutCapacity"
  dimensions          = local.async_metric_dimensions
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  # No datapoint is no evidence of waiting work: the alarm keeps its state.
  treat_missing_data = "missing"
  alarm_actions      = [aws_appautoscaling_policy.from_zero[0].arn]
  tags               = var.tags
}
