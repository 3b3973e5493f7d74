# The policies of who deploys and who operates the stack, rendered for this account, region
# and state location. templates/ is generated from the recorded AWS calls by
# `make iam-policies` (README): regenerate it, never edit it by hand.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  placeholders = {
    partition    = data.aws_partition.current.partition
    region       = coalesce(var.region, data.aws_region.current.name)
    account_id   = data.aws_caller_identity.current.account_id
    name         = var.name
    data_bucket  = coalesce(var.data_bucket, "${var.name}-${data.aws_caller_identity.current.account_id}")
    state_bucket = var.state_bucket
    state_key    = var.state_key
  }
  templates = "${path.module}/templates"
  # Each role's policy comes in parts, each under IAM's size limit for a managed policy
  # (whitespace does not count); the state key's statement, when there is one, is a part of
  # its own.
  documents = {
    for role in ["deployer", "planner", "operator"] : role => concat(
      [
        for file in sort(fileset(local.templates, "${role}-*.json.tftpl")) :
        templatefile("${local.templates}/${file}", local.placeholders)
      ],
      role == "deployer" ? data.aws_iam_policy_document.state_key_write[*].json : data.aws_iam_policy_document.state_key_read[*].json,
    )
  }
}

# With a KMS key on the state bucket, the backend encrypts and decrypts the state with it
# (developer.hashicorp.com/terraform/language/backend/s3, "Permissions Required"); the
# planner and the operator only read it.
data "aws_iam_policy_document" "state_key_write" {
  count = var.state_kms_key_arn == null ? 0 : 1

  statement {
    sid       = "StateEncryption"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]
  }
}

data "aws_iam_policy_document" "state_key_read" {
  count = var.state_kms_key_arn == null ? 0 : 1

  statement {
    sid       = "StateDecryption"
    actions   = ["kms:Decrypt"]
    resources = [var.state_kms_key_arn]
  }
}
