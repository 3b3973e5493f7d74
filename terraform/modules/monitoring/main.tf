data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  create_topic     = var.alarm_email != null || var.create_sns_topic
  create_key       = local.create_topic && var.kms_key_arn == null
  account_id       = data.aws_caller_identity.current.account_id
  alarm_arn_prefix = "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${local.account_id}:alarm:"
  alarm_arn_any    = "${local.alarm_arn_prefix}${var.name}-*"
  alarm_actions    = concat(local.create_topic ? [aws_sns_topic.alarms[0].arn] : [], var.alarm_action_arns)
  # A failed transform job reaches the topic as its own event (job and reason), not as an
  # alarm: the transform-failures alarm then notifies only the other actions.
  transform_rule_name       = "${var.name}-transform-failed"
  transform_rule_arn        = "arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.name}:${local.account_id}:rule/${local.transform_rule_name}"
  notify_transform_failures = var.transform_job_prefix != null && local.create_topic
  endpoint_dimensions = {
    EndpointName = var.endpoint_name
    VariantName  = var.variant_name
  }
  serverless_alarms = {
    endpoint-cold-starts = {
      namespace  = "AWS/SageMaker"
      metric     = "OverheadLatency"
      statistic  = "Average"
      threshold  = var.serverless_overhead_threshold_ms * 1000 # microseconds
      dimensions = local.endpoint_dimensions
      about      = "Serverless cold starts make callers wait: raise memory or max concurrency."
    }
  }
  # "Monitor asynchronous endpoint": the backlog metrics by EndpointName, the outcomes by
  # EndpointName and VariantName.
  async_alarms = {
    async-backlog = {
      namespace  = "AWS/SageMaker"
      metric     = "ApproximateBacklogSize"
      statistic  = "Average"
      threshold  = var.async_backlog_threshold
      dimensions = { EndpointName = var.endpoint_name }
      about      = "Asynchronous requests pile up faster than the endpoint answers them: raise autoscaling max_capacity or the instance type."
    }
    async-oldest-request = {
      namespace  = "AWS/SageMaker"
      metric     = "ApproximateAgeOfOldestRequest"
      statistic  = "Maximum"
      threshold  = var.async_oldest_request_seconds
      dimensions = { EndpointName = var.endpoint_name }
      about      = "An asynchronous request has waited long in the queue: its caller is still polling for the answer."
    }
    async-failures = {
      namespace  = "AWS/SageMaker"
      metric     = "InvocationFailures"
      statistic  = "Sum"
      threshold  = var.async_failures_threshold
      dimensions = local.endpoint_dimensions
      about      = "Asynchronous requests failed: each reason is in the failure path's <inference id>-error.out and the error topic's message."
    }
  }
  transform_alarms = var.transform_job_prefix == null ? {} : {
    transform-failures = {
      namespace  = "AWS/Events"
      metric     = "TriggeredRules"
      statistic  = "Sum"
      threshold  = 0
      dimensions = { RuleName = local.transform_rule_name }
      about      = "A batch transform job ended Failed: python -m mlops transform names the photos that failed, and the job's data log (/aws/sagemaker/TransformJobs) says why."
      # One failed job is one datapoint: it alarms at once, not after M of N periods.
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      actions             = local.notify_transform_failures ? var.alarm_action_arns : local.alarm_actions
    }
  }
  alarms = merge(var.endpoint_mode == "serverless" ? local.serverless_alarms : {}, var.endpoint_mode == "async" ? local.async_alarms : {}, local.transform_alarms, {
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
  })
}

# CloudWatch alarms cannot publish to a topic encrypted with the AWS managed alias/aws/sns
# key, whose policy no one can edit (AWS re:Post, "How do I configure a CloudWatch alarm with an
# encrypted SNS topic?"). This key lets the account administer it and CloudWatch use it for
# this stack's alarms only (SNS developer guide, "Enable compatibility between event sources
# from AWS services and encrypted topics").
data "aws_iam_policy_document" "alarm_key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is this key alone; the account root administers its own key, as every KMS key policy must allow.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is this key alone; CloudWatch's use is limited by aws:SourceAccount and aws:SourceArn.
  #checkov:skip=CKV_AWS_356:In a key policy "*" means this key; no other resource can be named there.
  count = local.create_key ? 1 : 0

  statement {
    sid       = "AccountAdministersTheKey"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_any]
    }
  }

  dynamic "statement" {
    for_each = var.transform_job_prefix == null ? [] : [local.transform_rule_arn]

    content {
      sid       = "FailedTransformJobsPublish"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
      resources = ["*"] # in a key policy, "*" is this key

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [statement.value]
      }
    }
  }
}

resource "aws_kms_key" "alarms" {
  count = local.create_key ? 1 : 0

  description         = "Encrypts the ${var.name} alarm topic; CloudWatch alarms and the failed-transform rule may use it."
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alarm_key[0].json
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.datapoints_to_alarm <= var.evaluation_periods
      error_message = "datapoints_to_alarm cannot exceed evaluation_periods."
    }
  }
}

resource "aws_kms_alias" "alarms" {
  count = local.create_key ? 1 : 0

  name          = "alias/${var.name}-alarms"
  target_key_id = aws_kms_key.alarms[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = local.create_topic ? 1 : 0

  name              = "${var.name}-alarms"
  kms_master_key_id = local.create_key ? aws_kms_key.alarms[0].arn : var.kms_key_arn
  tags              = var.tags
}

# Who may publish to the topic, once EventBridge does too (a topic policy replaces SNS's
# default one): this stack's alarms and its failed-transform rule, each by its ARN (SNS
# developer guide, "Amazon SNS security best practices": aws:SourceArn and aws:SourceAccount),
# and the account, which administers it.
data "aws_iam_policy_document" "alarm_topic" {
  count = local.notify_transform_failures ? 1 : 0

  statement {
    sid       = "AccountAdministersTheTopic"
    actions   = ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission", "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic", "sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.alarm_arn_any]
    }
  }

  statement {
    sid       = "FailedTransformJobsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.transform_rule_arn]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.notify_transform_failures ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarm_topic[0].json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email != null ? 1 : 0

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Batch transform publishes no metric of its own for a failed job; SageMaker sends a "SageMaker
# Transform Job State Change" event for each status (SageMaker developer guide, "Events that
# Amazon SageMaker AI sends to Amazon EventBridge"). This rule matches this stack's jobs that
# end Failed and sends each to the alarm topic; the transform-failures alarm charts how often
# it matches (TriggeredRules, EventBridge user guide, "Monitoring Amazon EventBridge": metrics
# are best effort, the event's delivery is retried, so the event is the notification).
resource "aws_cloudwatch_event_rule" "transform_failed" {
  count = var.transform_job_prefix == null ? 0 : 1

  name        = local.transform_rule_name
  description = "Batch transform jobs named ${var.transform_job_prefix}* that end Failed."
  event_pattern = jsonencode({
    source        = ["aws.sagemaker"]
    "detail-type" = ["SageMaker Transform Job State Change"]
    detail = {
      TransformJobStatus = ["Failed"]
      TransformJobName   = [{ prefix = var.transform_job_prefix }]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "transform_failed" {
  count = local.notify_transform_failures ? 1 : 0

  rule      = aws_cloudwatch_event_rule.transform_failed[0].name
  target_id = "alarm-topic"
  arn       = aws_sns_topic.alarms[0].arn

  input_transformer {
    input_paths = {
      job    = "$.detail.TransformJobName"
      reason = "$.detail.FailureReason"
    }
    input_template = "\"Batch transform job <job> failed: <reason>. python -m mlops transform names the photos that failed; the job's data log is in /aws/sagemaker/TransformJobs.\""
  }

  depends_on = [aws_sns_topic_policy.alarms]
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
  evaluation_periods  = try(each.value.evaluation_periods, var.evaluation_periods)
  datapoints_to_alarm = try(each.value.datapoints_to_alarm, var.datapoints_to_alarm)
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = try(each.value.actions, local.alarm_actions)
  ok_actions          = try(each.value.actions, local.alarm_actions)
  tags                = var.tags

  lifecycle {
    precondition {
      condition     = var.datapoints_to_alarm <= var.evaluation_periods
      error_message = "datapoints_to_alarm cannot exceed evaluation_periods."
    }
  }
}
