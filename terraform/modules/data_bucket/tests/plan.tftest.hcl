mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_name = "dog-breeds-123456789012"
}

run "defaults_are_hardened_and_kept_on_destroy" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "force_destroy must default to false"
  }
  assert {
    condition     = module.hardening.sse_algorithm == "AES256"
    error_message = "the bucket must be hardened (modules/bucket_hardening: private, versioned, SSE-S3, TLS only)"
  }
  assert {
    condition     = [for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.id] == ["expire-old-checkpoints", "expire-captured-requests", "expire-async-requests", "expire-noncurrent-versions"]
    error_message = "lifecycle must expire old checkpoints, captured and asynchronous requests and noncurrent versions"
  }
}

run "kms_key_switches_to_sse_kms" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = module.hardening.sse_algorithm == "aws:kms"
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

run "async_requests_and_answers_expire_with_captures" {
  command = plan
  variables {
    capture_expiration_days = 7
  }

  assert {
    condition     = one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.expiration[0].days if rule.id == "expire-async-requests"]) == 7 && one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule.filter[0].prefix if rule.id == "expire-async-requests"]) == "async/"
    error_message = "asynchronous requests and answers under async/ must expire as captures do"
  }
}

run "rejects_zero_day_capture_expiration" {
  command = plan
  variables {
    capture_expiration_days = 0
  }
  expect_failures = [var.capture_expiration_days]
}
