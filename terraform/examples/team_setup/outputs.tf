output "ci_deployer_role_arn" {
  description = "The role the workflow's apply job assumes: the repository variable AWS_DEPLOY_ROLE_ARN."
  value       = module.ci_roles.deployer_role_arn
}

output "ci_planner_role_arn" {
  description = "The read-only role of the plan jobs: the repository variable AWS_PLAN_ROLE_ARN."
  value       = module.ci_roles.planner_role_arn
}

output "operator_policy_documents" {
  description = "IAM policy documents (JSON) with what the mlops commands need: attach them to whoever operates the stack."
  value       = module.access_policies.operator_policy_documents
}
