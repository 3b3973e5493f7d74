output "role_arn" {
  description = "ARN of the role transform jobs' models run with (python -m mlops transform)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of that role."
  value       = aws_iam_role.this.name
}

output "input_s3_uri" {
  description = "Where transform jobs may read their input objects."
  value       = "s3://${var.bucket_name}/${var.input_prefix}"
}

output "output_s3_uri" {
  description = "Where transform jobs may write their answers."
  value       = "s3://${var.bucket_name}/${var.output_prefix}"
}
