mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  # The provider checks that a bucket policy is JSON, even in a plan.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_name = "dog-breeds-123456789012"
}

run "private_versioned_encrypted_and_tls_only" {
  command = plan

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
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)"
  }
  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "versioning must be enabled: it is how an overwritten object is recovered"
  }
  assert {
    condition     = output.sse_algorithm == "AES256" && one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == false
    error_message = "default encryption must be SSE-S3 without a KMS key"
  }
  assert {
    condition     = data.aws_iam_policy_document.tls_only.statement[0].effect == "Deny" && data.aws_iam_policy_document.tls_only.statement[0].actions == toset(["s3:*"]) && data.aws_iam_policy_document.tls_only.statement[0].resources == toset(["arn:aws:s3:::dog-breeds-123456789012", "arn:aws:s3:::dog-breeds-123456789012/*"])
    error_message = "the bucket policy must cover every action on the bucket and its objects"
  }
  assert {
    condition     = one(data.aws_iam_policy_document.tls_only.statement[0].condition).variable == "aws:SecureTransport" && toset(one(data.aws_iam_policy_document.tls_only.statement[0].condition).values) == toset(["false"])
    error_message = "the bucket policy must deny requests without TLS"
  }
  assert {
    condition     = aws_s3_bucket_policy.this.bucket == "dog-breeds-123456789012"
    error_message = "the policy must be the hardened bucket's"
  }
}

run "a_kms_key_switches_to_sse_kms_with_a_bucket_key" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = output.sse_algorithm == "aws:kms" && one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "a KMS key must switch encryption to aws:kms with that key"
  }
  assert {
    condition     = one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled
    error_message = "SSE-KMS must use a bucket key (fewer KMS requests)"
  }
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "arn:aws:s3:::dog-breeds-123456789012"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/my-key"
  }
  expect_failures = [var.kms_key_arn]
}
