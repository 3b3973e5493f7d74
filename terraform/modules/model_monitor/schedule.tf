# EventBridge Scheduler runs the monitor: a role it assumes, allowed to invoke the function
# alone ("Invoke a Lambda function on a schedule": Scheduler calls with this role, so the
# function needs no resource-based permission). Trusted for this account's default schedule
# group only ("Confused deputy prevention in EventBridge Scheduler": aws:SourceAccount, and
# aws:SourceArn as the schedule group's ARN, never one schedule's).
data "aws_iam_policy_document" "assume_scheduler" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule-group/default"]
    }
  }
}

resource "aws_iam_role" "schedule" {
  name               = "${var.name}-schedule"
  assume_role_policy = data.aws_iam_policy_document.assume_scheduler.json
  tags               = var.tags
}

data "aws_iam_policy_document" "schedule" {
  statement {
    sid       = "RunTheMonitor"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this.arn]
  }
}

resource "aws_iam_role_policy" "schedule" {
  name   = "run-model-monitor"
  role   = aws_iam_role.schedule.id
  policy = data.aws_iam_policy_document.schedule.json
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The schedule's only data is its target input, the empty event "{}": a customer managed key would protect nothing and add a key policy for Scheduler.
  name                = var.name
  description         = "Runs the model monitor of ${var.endpoint_name} over the last ${var.window_minutes} minutes of captured traffic."
  schedule_expression = var.schedule_expression

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.this.arn
    role_arn = aws_iam_role.schedule.arn
    input    = "{}"

    # Scheduler invokes the function asynchronously: this retries an invocation it could not
    # deliver (throttled, the function unavailable) within the window; a run that fails is
    # retried by Lambda's asynchronous invocation (twice, by default).
    retry_policy {
      maximum_event_age_in_seconds = local.window_seconds
      maximum_retry_attempts       = 2
    }
  }

  depends_on = [aws_iam_role_policy.schedule]
}
