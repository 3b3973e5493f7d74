# The monitor's alarms, on what it publishes (by EndpointName) and on its own failures: each
# window is one datapoint, so an alarm's period is the window.
locals {
  alarms = {
    "model-drift" = {
      description = "The breeds the model answers are further from its training mix than sampling explains (PredictionDriftScore over ${var.drift_score_threshold} for ${var.alarm_evaluation_periods} windows): the photos it receives are not what it was trained on."
      namespace   = var.metric_namespace
      metric_name = "PredictionDriftScore"
      dimensions  = { EndpointName = var.endpoint_name }
      threshold   = var.drift_score_threshold
    }
    "model-low-confidence" = {
      description = "More than ${var.low_confidence_share_threshold * 100} % of the model's answers are less confident than nine in ten of its test answers, for ${var.alarm_evaluation_periods} windows."
      namespace   = var.metric_namespace
      metric_name = "LowConfidenceShare"
      dimensions  = { EndpointName = var.endpoint_name }
      threshold   = var.low_confidence_share_threshold
    }
    "model-monitor-failures" = {
      description = "The model monitor's function failed: its figures are missing."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = aws_lambda_function.this.function_name }
      threshold   = 0
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${trimprefix(each.key, "model-")}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = "Maximum"
  period              = local.window_seconds
  evaluation_periods  = each.key == "model-monitor-failures" ? 1 : var.alarm_evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  # No traffic, no figures: a quiet hour is not an alarm. (A monitor whose runs fail sets off
  # the failures alarm; one that is not run at all, a schedule disabled by hand, publishes
  # nothing and sets off none.)
  treat_missing_data = "notBreaching"
  alarm_actions      = compact([var.alarm_topic_arn])
  ok_actions         = compact([var.alarm_topic_arn])
  tags               = var.tags

  lifecycle {
    precondition {
      # PutMetricAlarm, Period: Period x EvaluationPeriods is at most 7 days, and at most one
      # day for periods under an hour.
      condition     = local.window_seconds * var.alarm_evaluation_periods <= (local.window_seconds < 3600 ? 86400 : 604800)
      error_message = "window_minutes x alarm_evaluation_periods must be at most 1 day for windows under an hour, 7 days otherwise (CloudWatch PutMetricAlarm, Period)."
    }
  }
}
