output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the function (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "alias_arn" {
  description = "ARN of the live alias: invoke this one."
  value       = aws_lambda_alias.live.arn
}

output "role_arn" {
  description = "ARN of the function's role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Log group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "timeout" {
  description = "The function's timeout in seconds (an HTTP API in front must wait longer)."
  value       = aws_lambda_function.this.timeout
}

output "model_version" {
  description = "The label answers give for the model (MODEL_VERSION)."
  value       = var.model_version
}

output "async_inference" {
  description = "Where the function queues requests for an asynchronous endpoint and reads their outcomes, or null."
  value       = var.async_inference
}
