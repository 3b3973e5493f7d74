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
}

variables {
  name                     = "dogs-model-monitor"
  package_path             = "tests/fixtures/lambda.zip"
  endpoint_name            = "dogs"
  capture_s3_uri           = "s3://dogs-data/capture/"
  model_package_group_name = "dogs-models"
  baseline_s3_prefix       = "s3://dogs-data/registry/dogs-models/"
  metric_namespace         = "dogs/ModelMonitor"
  alarm_topic_arn          = "arn:aws:sns:us-east-1:123456789012:dogs-alarms"
}

run "hourly_schedule_runs_the_monitor_through_its_own_role" {
  command = plan

  assert {
    condition     = aws_scheduler_schedule.this.schedule_expression == "rate(1 hour)" && aws_scheduler_schedule.this.flexible_time_window[0].mode == "OFF"
    error_message = "the monitor must run every hour, on the hour it is due"
  }
  assert {
    condition     = aws_scheduler_schedule.this.target[0].input == "{}" && aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_event_age_in_seconds == 3600
    error_message = "the schedule sends the empty event, retried within its window only"
  }
  assert {
    condition     = data.aws_iam_policy_document.schedule.statement[0].actions == toset(["lambda:InvokeFunction"]) && length(data.aws_iam_policy_document.schedule.statement) == 1
    error_message = "the scheduler's role may invoke the function and nothing else"
  }
  assert {
    condition     = one(one(data.aws_iam_policy_document.assume_scheduler.statement).principals).identifiers == toset(["scheduler.amazonaws.com"])
    error_message = "only EventBridge Scheduler may assume the schedule's role"
  }
  assert {
    # "Confused deputy prevention in EventBridge Scheduler": the account, and the schedule
    # group's ARN (not one schedule's).
    condition = alltrue([
      { for c in one(data.aws_iam_policy_document.assume_scheduler.statement).condition : c.variable => toset(c.values) }["aws:SourceAccount"] == toset(["123456789012"]),
      { for c in one(data.aws_iam_policy_document.assume_scheduler.statement).condition : c.variable => toset(c.values) }["aws:SourceArn"] == toset(["arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"]),
    ])
    error_message = "the schedule's role must be guarded against a confused deputy"
  }
  assert {
    condition     = aws_lambda_function.this.handler == "monitor_function.handler" && aws_lambda_function.this.reserved_concurrent_executions == 1
    error_message = "the monitor's handler runs one at a time"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["WINDOW_MINUTES"] == "60" && aws_lambda_function.this.environment[0].variables["CAPTURE_S3_URI"] == "s3://dogs-data/capture/"
    error_message = "the function must read the last hour of the endpoint's captures"
  }
}

run "the_role_reads_captures_and_baselines_and_publishes_its_namespace_only" {
  command = plan

  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadCaptures"][0] == toset(["arn:aws:s3:::dogs-data/capture/dogs/AllTraffic/*"])
    error_message = "captures are read under the variant's prefix only"
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.function.statement : s.condition if s.sid == "ListCaptures"][0]).values) == toset(["capture/dogs/AllTraffic/*"])
    error_message = "listing is conditioned on the variant's prefix"
  }
  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.resources if s.sid == "ReadBaselines"][0] == toset(["arn:aws:s3:::dogs-data/registry/dogs-models/*"])
    error_message = "baselines are read under the group's registry prefix only"
  }
  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.function.statement : s.condition if s.sid == "PublishFigures"][0]).values) == toset(["dogs/ModelMonitor"])
    error_message = "PutMetricData must be held to the monitor's namespace"
  }
  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.function.statement : tolist(s.actions)]), "s3:PutObject")
    error_message = "the monitor writes nothing to S3"
  }
  assert {
    condition     = length([for s in data.aws_iam_policy_document.function.statement : s if s.sid == "DecryptCapturesAndBaselines"]) == 0
    error_message = "without a customer managed key there is no KMS permission"
  }
}

run "alarms_on_drift_confidence_and_failures_notify_the_topic" {
  command = plan

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["model-drift"].metric_name == "PredictionDriftScore" && aws_cloudwatch_metric_alarm.this["model-drift"].threshold == 2 && aws_cloudwatch_metric_alarm.this["model-drift"].period == 3600
    error_message = "the drift alarm watches PredictionDriftScore over 2, one window a period"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["model-low-confidence"].metric_name == "LowConfidenceShare" && aws_cloudwatch_metric_alarm.this["model-low-confidence"].threshold == 0.3
    error_message = "the confidence alarm watches LowConfidenceShare over 0.3"
  }
  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.treat_missing_data == "notBreaching" && alarm.alarm_actions == toset([var.alarm_topic_arn])])
    error_message = "every alarm notifies the topic, and a quiet window is not an alarm"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["model-drift"].dimensions["EndpointName"] == "dogs" && aws_cloudwatch_metric_alarm.this["model-drift"].namespace == "dogs/ModelMonitor"
    error_message = "the alarms watch what the monitor publishes for this endpoint"
  }
}

run "a_customer_managed_key_is_used_to_decrypt" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-000000000000"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.function.statement : s.actions if s.sid == "DecryptCapturesAndBaselines"][0] == toset(["kms:Decrypt"])
    error_message = "the key decrypts, and nothing more"
  }
}

run "reject_long_name" {
  command = plan
  variables {
    name = "a-name-that-is-far-too-long-for-the-role-the-scheduler-needs"
  }
  expect_failures = [var.name]
}

run "reject_package_not_zip" {
  command = plan
  variables {
    package_path = "build/lambda.tar.gz"
  }
  expect_failures = [var.package_path]
}

run "reject_endpoint_name" {
  command = plan
  variables {
    endpoint_name = "dogs_endpoint"
  }
  expect_failures = [var.endpoint_name]
}

run "reject_variant_name" {
  command = plan
  variables {
    variant_name = "-shadow"
  }
  expect_failures = [var.variant_name]
}

run "reject_capture_uri_without_prefix" {
  command = plan
  variables {
    capture_s3_uri = "s3://dogs-data"
  }
  expect_failures = [var.capture_s3_uri]
}

run "reject_group_name" {
  command = plan
  variables {
    model_package_group_name = "dogs models"
  }
  expect_failures = [var.model_package_group_name]
}

run "reject_baseline_prefix" {
  command = plan
  variables {
    baseline_s3_prefix = "dogs-data/registry/"
  }
  expect_failures = [var.baseline_s3_prefix]
}

run "reject_key_alias" {
  command = plan
  variables {
    kms_key_arn = "alias/dogs"
  }
  expect_failures = [var.kms_key_arn]
}

run "reject_aws_namespace" {
  command = plan
  variables {
    metric_namespace = "AWS/SageMaker"
  }
  expect_failures = [var.metric_namespace]
}

run "reject_schedule_expression" {
  command = plan
  variables {
    schedule_expression = "every hour"
  }
  expect_failures = [var.schedule_expression]
}

run "reject_window" {
  command = plan
  variables {
    window_minutes = 2
  }
  expect_failures = [var.window_minutes]
}

run "reject_min_requests" {
  command = plan
  variables {
    min_requests = 0
  }
  expect_failures = [var.min_requests]
}

run "reject_drift_threshold_under_noise" {
  command = plan
  variables {
    drift_score_threshold = 0.5
  }
  expect_failures = [var.drift_score_threshold]
}

run "reject_low_confidence_threshold" {
  command = plan
  variables {
    low_confidence_share_threshold = 0.05
  }
  expect_failures = [var.low_confidence_share_threshold]
}

run "reject_evaluation_periods" {
  command = plan
  variables {
    alarm_evaluation_periods = 0
  }
  expect_failures = [var.alarm_evaluation_periods]
}

run "reject_alarm_topic" {
  command = plan
  variables {
    alarm_topic_arn = "dogs-alarms"
  }
  expect_failures = [var.alarm_topic_arn]
}

run "reject_memory" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "reject_timeout" {
  command = plan
  variables {
    timeout = 1000
  }
  expect_failures = [var.timeout]
}

run "reject_log_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "reject_alarm_span_over_a_week" {
  command = plan
  variables {
    window_minutes           = 1440
    alarm_evaluation_periods = 8
  }
  expect_failures = [aws_cloudwatch_metric_alarm.this]
}
