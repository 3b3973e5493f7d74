variable "bucket_name" {
  type        = string
  description = "The bucket to harden: the caller's aws_s3_bucket id (the caller names the bucket and validates the name), so that everything here waits for the bucket and scanners such as checkov see the bucket's settings."

  validation {
    condition     = length(var.bucket_name) >= 3 && !startswith(var.bucket_name, "arn:") && !startswith(var.bucket_name, "s3://")
    error_message = "bucket_name must be the bucket's name (its aws_s3_bucket id), not its ARN or an s3:// URL."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for default encryption (SSE-KMS with a bucket key); null uses SSE-S3 (AES256)."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}
