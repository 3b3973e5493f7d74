# The alarms SageMaker watches while a deployment runs: any one in ALARM rolls traffic back to
# the old fleet (deployment guardrails, "Auto-Rollback Configuration and Monitoring"). They
# watch the whole endpoint, so they also fire outside deployments; notifications are the
# monitoring module's.

locals {
  endpoint_dimensions = {
    EndpointName = var.name
    VariantName  = local.variant_name
  }
  model_faults_namespace = "${var.name}/Endpoint"
  rollback_alarms = {
    errors-5xx = {
      about      = "The endpoint answered with server errors."
      namespace  = "AWS/SageMaker"
      metric     = "Invocation5XXErrors"
      dimensions = local.endpoint_dimensions
      statistic  = "Sum"
      extended   = null
      threshold  = var.rollback_alarms.errors_5xx_per_minute
      periods    = 1
    }
    p99-latency = {
      about      = "The model's p99 latency is over its threshold."
      namespace  = "AWS/SageMaker"
      metric     = "ModelLatency"
      dimensions = local.endpoint_dimensions
      statistic  = null
      extended   = "p99"
      threshold  = var.rollback_alarms.p99_latency_ms * 1000 # the metric is in microseconds
      periods    = 2
    }
    model-faults = {
      about      = "The inference handler failed on requests (its log says answering 500 internal)."
      namespace  = local.model_faults_namespace
      metric     = "ModelFaults"
      dimensions = {}
      statistic  = "Sum"
      extended   = null
      threshold  = var.rollback_alarms.model_faults
      periods    = 1
    }
  }
}

# ml/inference.py logs "answering 500 internal: ..." for every request it failed on.
resource "aws_cloudwatch_log_metric_filter" "model_faults" {
  name           = "${var.name}-model-faults"
  log_group_name = aws_cloudwatch_log_group.endpoint.name
  pattern        = "\"answering 500 internal\""

  metric_transformation {
    name          = "ModelFaults"
    namespace     = local.model_faults_namespace
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "rollback" {
  for_each = local.rollback_alarms

  alarm_name          = "${var.name}-rollback-${each.key}"
  alarm_description   = "${each.value.about} Rolls a running deployment back."
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.extended
  period              = 60
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  tags                = var.tags

  depends_on = [aws_cloudwatch_log_metric_filter.model_faults]
}
