output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}

output "sns_topic_arn" {
  description = "ARN of the alarm topic, or null when none was created."
  value       = local.create_topic ? aws_sns_topic.alarms[0].arn : null
}
