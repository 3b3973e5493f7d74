output "bucket_name" {
  description = "Name of the bucket, once versioned (what a lifecycle configuration with noncurrent-version rules waits for)."
  value       = aws_s3_bucket_versioning.this.bucket
}

output "sse_algorithm" {
  description = "The bucket's default encryption: AES256 (SSE-S3) or aws:kms."
  value       = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm
}
