resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket; CloudTrail data events are the audit trail of record for this account.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; training and deployment are started explicitly.
  #checkov:skip=CKV_AWS_144:Everything here is reproducible (dataset from its source, models by retraining); versioning guards against deletion, replication would double the cost.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

# Private, versioned, encrypted and TLS-only, as every bucket of the project.
module "hardening" {
  source = "../bucket_hardening"

  bucket_name = aws_s3_bucket.this.id
  kms_key_arn = var.kms_key_arn
}

# They were this module's own resources: moved into the shared module, not recreated.
moved {
  from = aws_s3_bucket_ownership_controls.this
  to   = module.hardening.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.this
  to   = module.hardening.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.this
  to   = module.hardening.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.this
  to   = module.hardening.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_policy.this
  to   = module.hardening.aws_s3_bucket_policy.this
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  # Once versioned: the noncurrent-version rule needs versioning on.
  bucket = module.hardening.bucket_name

  rule {
    id     = "expire-old-checkpoints"
    status = "Enabled"

    filter {
      prefix = var.prefixes.checkpoints
    }

    expiration {
      days = var.checkpoint_expiration_days
    }
  }

  # Captures hold what callers sent: kept no longer than they are useful.
  rule {
    id     = "expire-captured-requests"
    status = "Enabled"

    filter {
      prefix = var.prefixes.capture
    }

    expiration {
      days = var.capture_expiration_days
    }
  }

  # Asynchronous requests and their answers are photos and what was said of them, as captures.
  rule {
    id     = "expire-async-requests"
    status = "Enabled"

    filter {
      prefix = var.prefixes.async
    }

    expiration {
      days = var.capture_expiration_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}
