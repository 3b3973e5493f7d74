output "function_name" {
  description = "The monitor's function: python -m mlops monitor invokes it for an on-demand report."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the monitor's function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the monitor's execution role."
  value       = aws_iam_role.function.arn
}

output "schedule_arn" {
  description = "ARN of the EventBridge Scheduler schedule that runs the monitor."
  value       = aws_scheduler_schedule.this.arn
}

output "metric_namespace" {
  description = "The CloudWatch namespace of the monitor's figures (by EndpointName)."
  value       = var.metric_namespace
}

output "alarm_names" {
  description = "The drift, low-confidence and monitor-failure alarms, by kind."
  value       = { for kind, alarm in aws_cloudwatch_metric_alarm.this : kind => alarm.alarm_name }
}

output "alarm_arns" {
  description = "ARNs of the drift, low-confidence and monitor-failure alarms (for a dashboard's alarm widget)."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn]
}

output "window_seconds" {
  description = "The traffic each run measures, in seconds: one datapoint per window."
  value       = local.window_seconds
}
