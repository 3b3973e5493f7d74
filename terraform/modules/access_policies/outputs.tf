output "deployer_policy_documents" {
  description = "What `terraform apply`, `plan` and `destroy` of the stack need, as IAM policy documents (JSON) each within a managed policy's size: attach them all to the deployer."
  value       = local.documents["deployer"]
}

output "planner_policy_documents" {
  description = "The deployer's read-only part, what `terraform plan -lock=false` needs (pull requests): attach them all to the plan role."
  value       = local.documents["planner"]
}

output "operator_policy_documents" {
  description = "What the `mlops` commands (features, tune, train, register, approve, deploy, verify, status) need, with reading the state for `terraform output`."
  value       = local.documents["operator"]
}
