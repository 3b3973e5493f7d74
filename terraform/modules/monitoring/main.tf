locals {
  create_topic  = var.alarm_email != null || var.create_sns_topic
  alarm_actions = concat(local.create_topic ? [aws_sns_topic.alarms[0].arn] : [], var.alarm_action_arns)
  endpoint_dimensions = {
    EndpointName = var.endpoint_name
    VariantName  = var.variant_name
  }
  alarms = {
    endpoint-5xx = {
      namespace  = "AWS/SageMaker"
      metric     = "Invocation5XXErrors"
      statistic  = "Sum"
      threshold  = var.endpoint_5xx_threshold
      dimensions = local.endpoint_dimensions
      about      = "The endpoint answered with server errors."
    }
    endpoint-model-latency = {
      namespace  = "AWS/SageMaker"
      metric     = "ModelLatency"
      statistic  = "Average"
      threshold  = var.model_latency_threshold_ms * 1000 # the metric is in microseconds
      dimensions = local.endpoint_dimensions
      about      = "The model is slow to answer."
    }
    lambda-errors = {
      namespace  = "AWS/Lambda"
      metric     = "Errors"
      statistic  = "Sum"
      threshold  = var.lambda_errors_threshold
      dimensions = { FunctionName = var.function_name }
      about      = "The invoker Lambda failed (unhandled errors)."
    }
    lambda-throttles = {
      namespace  = "AWS/Lambda"
      metric     = "Throttles"
      statistic  = "Sum"
      threshold  = var.lambda_throttles_threshold
      dimensions = { FunctionName = var.function_name }
      about      = "Requests were throttled by the Lambda's reserved concurrency."
    }
  }
}

resource "aws_sns_topic" "alarms" {
  count = local.create_topic ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.about
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = var.period_seconds
  evaluation_periods  = var.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
