output "instance_id" {
  description = "ID of the training instance (connect with aws ssm start-session --target <id>)."
  value       = aws_instance.this.id
}

output "role_arn" {
  description = "ARN of the instance role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the instance role."
  value       = aws_iam_role.this.name
}

output "instance_profile_name" {
  description = "Name of the instance profile."
  value       = aws_iam_instance_profile.this.name
}

output "ami_id" {
  description = "AMI the instance booted."
  value       = local.ami_id
}

output "model_s3_prefix" {
  description = "Where this run's model.tar.gz, its checksum and _SUCCESS land."
  value       = "s3://${var.bucket_name}/${var.prefixes.models}${var.run_id}/"
}

output "user_data" {
  description = "The rendered boot script (no secrets in it)."
  value       = local.user_data
}
