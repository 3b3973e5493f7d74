output "bucket_name" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "prefixes" {
  description = "Key prefixes of the data, code, models and checkpoints areas."
  value       = var.prefixes
}

output "kms_key_arn" {
  description = "KMS key encrypting the bucket, or null for SSE-S3."
  value       = var.kms_key_arn
}
