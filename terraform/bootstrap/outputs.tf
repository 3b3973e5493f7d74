output "bucket_name" {
  description = "Name of the state bucket."
  value       = aws_s3_bucket.state.id
}

output "bucket_arn" {
  description = "ARN of the state bucket (for the policies of whoever runs Terraform)."
  value       = aws_s3_bucket.state.arn
}

output "backend_config" {
  description = "The partial backend configuration for the stack: save it as terraform/backend.hcl and run terraform init -backend-config=backend.hcl."
  value = join("\n", compact([
    "bucket = \"${aws_s3_bucket.state.bucket}\"",
    "key    = \"${var.state_key}\"",
    "region = \"${var.region}\"",
    var.kms_key_arn == null ? "" : "kms_key_id = \"${var.kms_key_arn}\"",
  ]))
}
