mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_name = "dog-breeds-tfstate-123456789012"
}

run "the_state_bucket_is_private_versioned_encrypted_and_tls_only" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.state.block_public_acls,
      aws_s3_bucket_public_access_block.state.block_public_policy,
      aws_s3_bucket_public_access_block.state.ignore_public_acls,
      aws_s3_bucket_public_access_block.state.restrict_public_buckets,
    ])
    error_message = "every public access block setting must be on"
  }
  assert {
    condition     = aws_s3_bucket_versioning.state.versioning_configuration[0].status == "Enabled"
    error_message = "versioning must be enabled: it is how an earlier state is recovered"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "default encryption must be SSE-S3 without a KMS key"
  }
  assert {
    condition     = data.aws_iam_policy_document.tls_only.statement[0].effect == "Deny" && one(data.aws_iam_policy_document.tls_only.statement[0].condition).variable == "aws:SecureTransport" && toset(one(data.aws_iam_policy_document.tls_only.statement[0].condition).values) == toset(["false"])
    error_message = "the bucket policy must deny requests without TLS"
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.state.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)"
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.state.rule).noncurrent_version_expiration).noncurrent_days == 90 && one(one(aws_s3_bucket_lifecycle_configuration.state.rule).expiration).expired_object_delete_marker
    error_message = "old states and lock files must expire after 90 days, and their delete markers with them"
  }
  assert {
    condition     = output.backend_config == "bucket = \"dog-breeds-tfstate-123456789012\"\nkey    = \"dog-breeds/terraform.tfstate\"\nregion = \"us-east-1\""
    error_message = "backend_config must be the partial backend file for the stack"
  }
}

run "a_kms_key_encrypts_the_bucket_and_the_state" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "a KMS key must switch encryption to aws:kms"
  }
  assert {
    condition     = strcontains(output.backend_config, "kms_key_id = \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"")
    error_message = "backend_config must carry the KMS key for the state objects"
  }
}

run "rejects_bad_region" {
  command = plan
  variables {
    region = "US East"
  }
  expect_failures = [var.region]
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "State_Bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_bad_state_key" {
  command = plan
  variables {
    state_key = "/dog-breeds//terraform.tfstate"
  }
  expect_failures = [var.state_key]
}

run "rejects_bad_kms_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/terraform"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bad_noncurrent_version_expiration_days" {
  command = plan
  variables {
    noncurrent_version_expiration_days = 0
  }
  expect_failures = [var.noncurrent_version_expiration_days]
}
