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

run "email_creates_an_encrypted_topic" {
  command = plan

  variables {
    alarm_email = "oncall@example.com"
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == "alias/aws/sns" && aws_sns_topic_subscription.email[0].endpoint == "oncall@example.com"
    error_message = "an email must get an encrypted topic and a subscription"
  }
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
