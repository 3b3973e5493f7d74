output "role_arn" {
  description = "ARN of the role that training and tuning jobs run with."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of that role."
  value       = aws_iam_role.this.name
}
