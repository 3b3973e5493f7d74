# The bucket that holds the stack's Terraform state. Its own state stays with whoever applies
# this once (README: keep it, or move it into the bucket with terraform init -migrate-state).

provider "aws" {
  region = var.region

  default_tags {
    tags = { Purpose = "terraform-state", ManagedBy = "terraform" }
  }
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

# Private, versioned, encrypted and TLS-only, as every bucket of the project. Versioning keeps
# every earlier state recoverable (developer.hashicorp.com/terraform/language/backend/s3
# recommends it "for state recovery").
module "state_bucket_hardening" {
  source = "../modules/bucket_hardening"

  bucket_name = aws_s3_bucket.state.id
  kms_key_arn = var.kms_key_arn
}

# They were this root's own resources: moved into the shared module, not recreated.
moved {
  from = aws_s3_bucket_ownership_controls.state
  to   = module.state_bucket_hardening.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.state
  to   = module.state_bucket_hardening.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_versioning.state
  to   = module.state_bucket_hardening.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.state
  to   = module.state_bucket_hardening.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_policy.state
  to   = module.state_bucket_hardening.aws_s3_bucket_policy.this
}

# Each run writes the state and locks with <key>.tflock (a PutObject, then a DeleteObject):
# in a versioned bucket both leave versions and delete markers behind, kept for
# noncurrent_version_expiration_days and then removed.
resource "aws_s3_bucket_lifecycle_configuration" "state" {
  # Once versioned: the noncurrent-version rule needs versioning on.
  bucket = module.state_bucket_hardening.bucket_name

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
