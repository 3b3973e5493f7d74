# The bucket that holds the stack's Terraform state. Its own state stays with whoever applies
# this once (README: keep it, or move it into the bucket with terraform init -migrate-state).

provider "aws" {
  region = var.region

  default_tags {
    tags = { Purpose = "terraform-state", ManagedBy = "terraform" }
  }
}

locals {
  sse_algorithm = var.kms_key_arn == null ? "AES256" : "aws:kms"
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second bucket; CloudTrail data events are the audit trail of record for state reads and writes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-bucket events; Terraform reads and writes it.
  #checkov:skip=CKV_AWS_144:Versioning keeps every state; cross-region replication is an account-level choice this root leaves to the platform team.
  bucket = var.bucket_name
  tags   = var.tags

  # Losing the state orphans every resource of the stack: never destroyed by Terraform.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Every earlier state stays recoverable (developer.hashicorp.com/terraform/language/backend/s3
# recommends versioning "for state recovery").
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

# Each run writes the state and locks with <key>.tflock (a PutObject, then a DeleteObject):
# in a versioned bucket both leave versions and delete markers behind, kept for
# noncurrent_version_expiration_days and then removed.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-noncurrent-states-and-locks"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

# docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html: deny any request
# that is not sent over TLS (aws:SecureTransport).
data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.tls_only.json

  depends_on = [aws_s3_bucket_public_access_block.state]
}

# The least-privilege policies of who deploys and who operates the stack, for this state
# bucket (README: Running it as a team).
module "access_policies" {
  source = "../modules/access_policies"

  name              = var.stack_name
  data_bucket       = var.stack_bucket_name
  region            = coalesce(var.stack_region, var.region)
  state_bucket      = aws_s3_bucket.state.bucket
  state_key         = var.state_key
  state_kms_key_arn = var.kms_key_arn
}

# Roles GitHub Actions assumes with OIDC tokens (README: Running it as a team), with the
# deployer's and the planner's policies.
module "ci_roles" {
  source = "../modules/ci_roles"
  count  = var.ci_repository == null ? 0 : 1

  name                      = var.stack_name
  repository                = var.ci_repository
  deployer_policy_documents = module.access_policies.deployer_policy_documents
  planner_policy_documents  = module.access_policies.planner_policy_documents
  create_oidc_provider      = var.ci_oidc_provider_arn == null
  oidc_provider_arn         = var.ci_oidc_provider_arn
  tags                      = var.tags
}
