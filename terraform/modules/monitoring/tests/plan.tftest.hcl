mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:dog-breeds-alarms" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-12ab-34cd-56ef-1234567890ab" }
  }
}

variables {
  name          = "dog-breeds"
  endpoint_name = "dog-breeds"
  function_name = "dog-breeds-invoker"
}

run "four_alarms_on_endpoint_and_lambda" {
  command = plan

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["endpoint-5xx", "endpoint-model-latency", "lambda-errors", "lambda-throttles"])
    error_message = "alarms must cover endpoint 5XX, model latency, Lambda errors and throttles"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["endpoint-model-latency"].threshold == 1000000
    error_message = "ModelLatency is in microseconds: 1000 ms is 1e6"
  }
  assert {
    condition     = length(aws_sns_topic.alarms) == 0
    error_message = "no topic unless asked for"
  }
}

run "email_creates_a_topic_under_a_key_cloudwatch_may_use" {
  # AWS rule: CloudWatch alarms cannot publish to a topic under the AWS managed alias/aws/sns
  # key (AWS re:Post, "How do I configure a CloudWatch alarm with an encrypted SNS topic?");
  # the key policy must let cloudwatch.amazonaws.com use the key (SNS developer guide, "Enable
  # compatibility between event sources from AWS services and encrypted topics").
  command = apply

  variables {
    alarm_email = "oncall@example.com"
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.alarms[0].arn && aws_sns_topic_subscription.email[0].endpoint == "oncall@example.com"
    error_message = "an email must get a topic encrypted with the module's own key, and a subscription"
  }
  assert {
    condition     = aws_kms_key.alarms[0].enable_key_rotation
    error_message = "the alarm key must rotate"
  }
  assert {
    condition = anytrue([for statement in data.aws_iam_policy_document.alarm_key[0].statement :
      contains(flatten([for p in statement.principals : p.identifiers]), "cloudwatch.amazonaws.com")
      && toset(statement.actions) == toset(["kms:Decrypt", "kms:GenerateDataKey*"])
    ])
    error_message = "the key policy must let cloudwatch.amazonaws.com use the key"
  }
}

run "a_given_key_is_used_as_is" {
  command = plan

  variables {
    alarm_email = "oncall@example.com"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = length(aws_kms_key.alarms) == 0 && aws_sns_topic.alarms[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "a customer managed key passed in must encrypt the topic, and no key be created"
  }
}

run "alarms_fire_on_two_bad_periods_of_five" {
  command = plan

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.datapoints_to_alarm == 2 && alarm.evaluation_periods == 5])
    error_message = "an alarm must not wait for five bad minutes in a row: 2 out of 5"
  }
}

run "rejects_the_aws_managed_sns_key" {
  command = plan
  variables {
    alarm_email = "oncall@example.com"
    kms_key_arn = "alias/aws/sns"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_fractional_datapoints" {
  command = plan
  variables {
    datapoints_to_alarm = 1.5
  }
  expect_failures = [var.datapoints_to_alarm]
}

run "rejects_more_datapoints_than_periods" {
  command = plan
  variables {
    datapoints_to_alarm = 6
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "rejects_bad_email" {
  command = plan
  variables {
    alarm_email = "not-an-email"
  }
  expect_failures = [var.alarm_email]
}

run "rejects_bad_period" {
  command = plan
  variables {
    period_seconds = 45
  }
  expect_failures = [var.period_seconds]
}

run "rejects_zero_evaluation_periods" {
  command = plan
  variables {
    evaluation_periods = 0
  }
  expect_failures = [var.evaluation_periods]
}

run "rejects_negative_thresholds" {
  command = plan
  variables {
    endpoint_5xx_threshold     = -1
    lambda_errors_threshold    = -1
    lambda_throttles_threshold = -1
    model_latency_threshold_ms = 0
  }
  expect_failures = [var.endpoint_5xx_threshold, var.lambda_errors_threshold, var.lambda_throttles_threshold, var.model_latency_threshold_ms]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "the_dashboard_shows_the_endpoint_the_lambda_and_every_alarm" {
  command = plan
  variables {
    deployment_alarm_arns = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:dog-breeds-rollback-errors-5xx"]
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this.dashboard_name == "dog-breeds"
    error_message = "the dashboard must be named after the stack"
  }
  assert {
    condition = toset(flatten([
      for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : [
        for metric in try(widget.properties.metrics, []) : metric[1] if length(metric) > 1
      ]
    ])) == toset(["Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "OverheadLatency", "InvocationsPerInstance", "CPUUtilization", "MemoryUtilization", "Errors", "Throttles", "Duration"])
    error_message = "the dashboard must chart invocations, errors, latency, instances, CPU, memory and the Lambda"
  }
  assert {
    condition     = contains(one([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget.properties.alarms if widget.type == "alarm"]), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dog-breeds-rollback-errors-5xx")
    error_message = "the alarm widget must include the rollback alarms"
  }
  assert {
    condition     = length(aws_budgets_budget.monthly) == 0
    error_message = "no budget unless one is asked for"
  }
}

run "serverless_charts_cold_starts_and_alarms_on_them" {
  command = plan
  variables {
    endpoint_mode = "serverless"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["endpoint-cold-starts"].metric_name == "OverheadLatency" && aws_cloudwatch_metric_alarm.this["endpoint-cold-starts"].threshold == 10000000
    error_message = "serverless endpoints must alarm on overhead latency over 10 s"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ModelSetupTime") && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "CPUUtilization")
    error_message = "a serverless dashboard charts cold starts, not instance CPU"
  }
}

run "a_budget_mails_at_80_percent_forecast_and_100_percent_actual" {
  command = plan
  variables {
    monthly_budget = { limit_usd = 200, emails = ["ops@example.com"] }
  }

  assert {
    condition     = aws_budgets_budget.monthly[0].account_id == "123456789012" && aws_budgets_budget.monthly[0].limit_amount == "200" && aws_budgets_budget.monthly[0].time_unit == "MONTHLY"
    error_message = "a monthly USD budget in this account"
  }
  assert {
    condition     = toset([for n in aws_budgets_budget.monthly[0].notification : "${n.notification_type}:${n.threshold}"]) == toset(["FORECASTED:80", "ACTUAL:100"])
    error_message = "alerts at 80% forecast and 100% actual"
  }
  assert {
    condition     = one(aws_budgets_budget.monthly[0].cost_filter).values == tolist(["user:Project$dog-breeds"])
    error_message = "the budget counts this project's tagged resources"
  }
}

run "rejects_bad_endpoint_mode" {
  command = plan
  variables {
    endpoint_mode = "batch"
  }
  expect_failures = [var.endpoint_mode]
}

# "Monitor asynchronous endpoint": the backlog metrics by EndpointName, InvocationFailures by
# EndpointName and VariantName.
run "async_charts_the_queue_and_alarms_on_backlog_age_and_failures" {
  command = plan
  variables {
    endpoint_mode = "async"
    alarm_email   = "oncall@example.com"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["async-backlog"].metric_name == "ApproximateBacklogSize" && aws_cloudwatch_metric_alarm.this["async-backlog"].threshold == 100 && aws_cloudwatch_metric_alarm.this["async-backlog"].dimensions["EndpointName"] == "dog-breeds" && length(aws_cloudwatch_metric_alarm.this["async-backlog"].dimensions) == 1
    error_message = "an asynchronous endpoint must alarm on a backlog over 100, by endpoint"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["async-oldest-request"].metric_name == "ApproximateAgeOfOldestRequest" && aws_cloudwatch_metric_alarm.this["async-oldest-request"].statistic == "Maximum" && aws_cloudwatch_metric_alarm.this["async-oldest-request"].threshold == 900
    error_message = "an asynchronous endpoint must alarm on a request waiting over 15 minutes"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["async-failures"].metric_name == "InvocationFailures" && aws_cloudwatch_metric_alarm.this["async-failures"].threshold == 0 && aws_cloudwatch_metric_alarm.this["async-failures"].dimensions["VariantName"] == "AllTraffic"
    error_message = "an asynchronous endpoint must alarm on any failed request, by variant"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ApproximateAgeOfOldestRequest") && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "ModelSetupTime") && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "\"AWS/SageMaker\",\"Invocations\"") && !strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "OverheadLatency") && !contains(keys(aws_cloudwatch_metric_alarm.this), "endpoint-cold-starts")
    error_message = "an asynchronous dashboard charts the queue, not the metrics asynchronous endpoints do not publish"
  }
  assert {
    condition     = output.topic_kms_key_arn == aws_kms_key.alarms[0].arn
    error_message = "the alarm topic's key must be given out for the stack's other topics"
  }
}

run "realtime_has_no_async_alarms" {
  command = plan

  assert {
    condition     = length([for key in keys(aws_cloudwatch_metric_alarm.this) : key if startswith(key, "async-")]) == 0 && output.topic_kms_key_arn == null
    error_message = "a real-time endpoint has no queue to alarm on, and no topic without an email"
  }
}

run "rejects_zero_async_backlog_threshold" {
  command = plan
  variables {
    async_backlog_threshold = 0
  }
  expect_failures = [var.async_backlog_threshold]
}

run "rejects_zero_async_oldest_request_seconds" {
  command = plan
  variables {
    async_oldest_request_seconds = 0
  }
  expect_failures = [var.async_oldest_request_seconds]
}

run "rejects_negative_async_failures_threshold" {
  command = plan
  variables {
    async_failures_threshold = -1
  }
  expect_failures = [var.async_failures_threshold]
}

run "rejects_zero_overhead_threshold" {
  command = plan
  variables {
    serverless_overhead_threshold_ms = 0
  }
  expect_failures = [var.serverless_overhead_threshold_ms]
}

run "rejects_zero_budget" {
  command = plan
  variables {
    monthly_budget = { limit_usd = 0, emails = ["ops@example.com"] }
  }
  expect_failures = [var.monthly_budget]
}

run "rejects_budget_without_good_emails" {
  command = plan
  variables {
    monthly_budget = { limit_usd = 100, emails = ["not-an-email"] }
  }
  expect_failures = [var.monthly_budget]
}

run "a_failed_transform_job_of_this_stack_raises_an_alarm" {
  # AWS rule: SageMaker sends "SageMaker Transform Job State Change" events with
  # TransformJobStatus and TransformJobName in the detail (SageMaker developer guide, "Events
  # that Amazon SageMaker AI sends to Amazon EventBridge"); TriggeredRules counts a rule's
  # matches by RuleName (EventBridge user guide, "Monitoring Amazon EventBridge").
  command = plan
  variables {
    transform_job_prefix = "dog-breeds-transform-"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.transform_failed[0].event_pattern) == {
      source        = ["aws.sagemaker"]
      "detail-type" = ["SageMaker Transform Job State Change"]
      detail        = { TransformJobStatus = ["Failed"], TransformJobName = [{ prefix = "dog-breeds-transform-" }] }
    }
    error_message = "the rule must match this stack's transform jobs that end Failed, and nothing else"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["transform-failures"].namespace == "AWS/Events" && aws_cloudwatch_metric_alarm.this["transform-failures"].metric_name == "TriggeredRules" && aws_cloudwatch_metric_alarm.this["transform-failures"].dimensions.RuleName == "dog-breeds-transform-failed" && aws_cloudwatch_metric_alarm.this["transform-failures"].threshold == 0
    error_message = "the alarm fires on any match of the rule"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["transform-failures"].evaluation_periods == 1 && aws_cloudwatch_metric_alarm.this["transform-failures"].datapoints_to_alarm == 1
    error_message = "one failed job is one datapoint: the alarm must fire on it, not wait for 2 of 5 periods"
  }
  assert {
    condition     = contains([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : try(widget.properties.title, "")], "Batch transform jobs that failed")
    error_message = "the dashboard charts failed transform jobs"
  }
}

run "without_a_transform_prefix_no_transform_alarm" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_event_rule.transform_failed) == 0 && !contains(keys(aws_cloudwatch_metric_alarm.this), "transform-failures")
    error_message = "no prefix, no rule and no alarm"
  }
}

run "reject_bad_transform_job_prefix" {
  command = plan
  variables {
    transform_job_prefix = "dog breeds"
  }
  expect_failures = [var.transform_job_prefix]
}

run "with_a_topic_a_failed_transform_job_is_published_to_it" {
  # AWS rule: an EventBridge target on an SNS topic needs the topic's policy to let
  # events.amazonaws.com publish, and a KMS-encrypted topic needs the key to let it encrypt
  # (SNS developer guide, "Enable compatibility between event sources from AWS services and
  # encrypted topics"); a topic policy replaces SNS's default, so CloudWatch's alarms are named
  # in it too.
  command = plan
  variables {
    transform_job_prefix = "dog-breeds-transform-"
    alarm_email          = "ops@example.com"
  }

  assert {
    condition     = aws_cloudwatch_event_target.transform_failed[0].rule == "dog-breeds-transform-failed" && aws_cloudwatch_event_target.transform_failed[0].arn == "arn:aws:sns:us-east-1:123456789012:dog-breeds-alarms"
    error_message = "the rule sends each failed job to the alarm topic"
  }
  assert {
    condition     = toset([for statement in data.aws_iam_policy_document.alarm_topic[0].statement : statement.sid]) == toset(["AccountAdministersTheTopic", "CloudWatchAlarmsPublish", "FailedTransformJobsPublish"])
    error_message = "the topic policy lets the account, this stack's alarms and its failed-transform rule in, and no one else"
  }
  assert {
    condition     = one([for statement in data.aws_iam_policy_document.alarm_topic[0].statement : [for c in statement.condition : c.values if c.variable == "aws:SourceArn"] if statement.sid == "FailedTransformJobsPublish"])[0] == tolist(["arn:aws:events:us-east-1:123456789012:rule/dog-breeds-transform-failed"])
    error_message = "EventBridge may publish for this rule only"
  }
  assert {
    condition     = contains([for statement in data.aws_iam_policy_document.alarm_key[0].statement : statement.sid], "FailedTransformJobsPublish")
    error_message = "the topic's key must let EventBridge encrypt the rule's messages"
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this["transform-failures"].alarm_actions) == 0 && length(aws_cloudwatch_metric_alarm.this["endpoint-5xx"].alarm_actions) == 1
    error_message = "the topic gets the failed job's event, not the alarm too (one mail per failure)"
  }
}

run "the_model_monitor_gets_a_row_at_its_own_period_and_its_alarms_in_the_widget" {
  command = plan

  variables {
    model_monitor = {
      namespace      = "dog-breeds/ModelMonitor"
      period_seconds = 3600
      alarm_arns     = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:dog-breeds-model-monitor-drift"]
    }
  }

  assert {
    condition     = one([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget.properties.period if strcontains(try(widget.properties.title, ""), "Live model")]) == 3600
    error_message = "the monitor's figures are one datapoint a window: shown at the window's period"
  }
  assert {
    condition     = strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "PredictionDriftScore") && strcontains(aws_cloudwatch_dashboard.this.dashboard_body, "LowConfidenceShare")
    error_message = "the row shows the drift score and the low-confidence share"
  }
  assert {
    condition     = contains(one([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget.properties.alarms if widget.type == "alarm"]), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:dog-breeds-model-monitor-drift")
    error_message = "the monitor's alarms are in the alarm widget"
  }
}

run "reject_model_monitor_period_not_whole_minutes" {
  command = plan

  variables {
    model_monitor = {
      namespace      = "dog-breeds/ModelMonitor"
      period_seconds = 90
      alarm_arns     = []
    }
  }

  expect_failures = [var.model_monitor]
}
