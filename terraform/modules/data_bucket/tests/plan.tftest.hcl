mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_name = "dog-breeds-123456789012"
}

run "defaults_are_private_versioned_and_encrypted" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "force_destroy must default to false"
  }
  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "every public access block setting must be on"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "versioning must be enabled"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "default encryption must be SSE-S3 without a KMS key"
  }
  assert {
    condition     = toset(one(data.aws_iam_policy_document.tls_only.statement[0].condition).values) == toset(["false"]) && data.aws_iam_policy_document.tls_only.statement[0].effect == "Deny"
    error_message = "the bucket policy must deny requests without TLS"
  }
  assert {
    condition     = [for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.id] == ["expire-old-checkpoints", "expire-captured-requests", "expire-noncurrent-versions"]
    error_message = "lifecycle must expire old checkpoints, captured requests and noncurrent versions"
  }
}

run "kms_key_switches_to_sse_kms" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "a KMS key must switch encryption to aws:kms"
  }
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "Not_A_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_bad_kms_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/my-key"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_prefix_without_slash" {
  command = plan
  variables {
    prefixes = { data = "data" }
  }
  expect_failures = [var.prefixes]
}

run "rejects_zero_day_expirations" {
  command = plan
  variables {
    checkpoint_expiration_days = 0
  }
  expect_failures = [var.checkpoint_expiration_days]
}

run "rejects_zero_day_noncurrent_expiration" {
  command = plan
  variables {
    noncurrent_version_expiration_days = 0
  }
  expect_failures = [var.noncurrent_version_expiration_days]
}

run "captures_expire_after_30_days" {
  command = plan

  assert {
    condition     = one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.expiration[0].days if rule.id == "expire-captured-requests"]) == 30 && one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.filter[0].prefix if rule.id == "expire-captured-requests"]) == "capture/"
    error_message = "captured requests under capture/ must expire after 30 days"
  }
}

run "rejects_zero_day_capture_expiration" {
  command = plan
  variables {
    capture_expiration_days = 0
  }
  expect_failures = [var.capture_expiration_days]
}
