data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  sagemaker_arn = "arn:${data.aws_partition.current.partition}:sagemaker:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

# The registry's model group: every trained model that may serve is registered here as a
# version (PendingManualApproval), and only an Approved version is deployed.
resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.name
  model_package_group_description = var.description
  tags                            = var.tags
}

# The one rule for adding models to this group, for every role that adds them (the training
# jobs' and the notebook's): a version may be created here only waiting for approval, never
# approved by whoever creates it (Service Authorization Reference, sagemaker:ModelApprovalStatus
# on CreateModelPackage). Roles merge this document into their own policy as it is.
data "aws_iam_policy_document" "add_pending_versions" {
  statement {
    sid       = "RegisterPendingVersions"
    actions   = ["sagemaker:CreateModelPackage"]
    resources = [aws_sagemaker_model_package_group.this.arn, "${replace(aws_sagemaker_model_package_group.this.arn, ":model-package-group/", ":model-package/")}/*"]

    condition {
      test     = "StringEquals"
      variable = "sagemaker:ModelApprovalStatus"
      values   = ["PendingManualApproval"]
    }
  }
}
