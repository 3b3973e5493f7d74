output "group_name" {
  description = "Name of the model package group."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "group_arn" {
  description = "ARN of the model package group (ListModelPackages and CreateModelPackage are scoped to it)."
  value       = aws_sagemaker_model_package_group.this.arn
}

output "package_arn_pattern" {
  description = "ARN pattern of the group's versions (model-package/NAME/VERSION), for IAM policies."
  value       = "${local.sagemaker_arn}:model-package/${var.name}/*"
}

output "add_pending_versions_policy_json" {
  description = "IAM policy document (JSON) that lets a role add versions to this group, PendingManualApproval only (never approved by whoever adds them): pass it to the training role and the notebook, which merge it into their policies."
  value       = data.aws_iam_policy_document.add_pending_versions.json
}
