output "bucket_name" {
  description = "Name of the state bucket."
  value       = aws_s3_bucket.state.id
}

output "bucket_arn" {
  description = "ARN of the state bucket (for the policies of whoever runs Terraform)."
  value       = aws_s3_bucket.state.arn
}

output "backend_config" {
  description = "The partial backend configuration for the stack: save it as terraform/backend.hcl and run terraform init -backend-config=backend.hcl."
  value = join("\n", compact([
    "bucket = \"${aws_s3_bucket.state.bucket}\"",
    "key    = \"${var.state_key}\"",
    "region = \"${var.region}\"",
    var.kms_key_arn == null ? "" : "kms_key_id = \"${var.kms_key_arn}\"",
  ]))
}

output "deployer_policy_documents" {
  description = "IAM policy documents (JSON) with what terraform apply, plan and destroy of the stack need, each within a managed policy's size: attach them all to whoever deploys."
  value       = module.access_policies.deployer_policy_documents
}

output "planner_policy_documents" {
  description = "The read-only part of the deployer's policies: what terraform plan -lock=false needs."
  value       = module.access_policies.planner_policy_documents
}

output "operator_policy_documents" {
  description = "IAM policy documents (JSON) with what the mlops commands need: attach them all to whoever operates the stack."
  value       = module.access_policies.operator_policy_documents
}

output "ci_deployer_role_arn" {
  description = "The role main's apply job assumes (repository variable AWS_DEPLOY_ROLE_ARN); null without ci_repository."
  value       = one(module.ci_roles[*].deployer_role_arn)
}

output "ci_planner_role_arn" {
  description = "The read-only role of the plan jobs (repository variable AWS_PLAN_ROLE_ARN); null without ci_repository."
  value       = one(module.ci_roles[*].planner_role_arn)
}
