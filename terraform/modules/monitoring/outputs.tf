output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}

output "sns_topic_arn" {
  description = "ARN of the alarm topic, or null when none was created."
  value       = local.create_topic ? aws_sns_topic.alarms[0].arn : null
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "budget_name" {
  description = "Name of the monthly budget, or null."
  value       = one(aws_budgets_budget.monthly[*].name)
}

output "transform_failed_rule_name" {
  description = "EventBridge rule matching this stack's batch transform jobs that end Failed, or null."
  value       = one(aws_cloudwatch_event_rule.transform_failed[*].name)
}

output "topic_kms_key_arn" {
  description = "The customer managed key the alarm topic is encrypted with (created here or given), for other topics of the stack; null without a topic."
  value       = local.create_topic ? (local.create_key ? aws_kms_key.alarms[0].arn : var.kms_key_arn) : null
}
