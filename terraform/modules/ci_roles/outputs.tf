output "deployer_role_arn" {
  description = "The role the apply job assumes: the repository variable AWS_DEPLOY_ROLE_ARN."
  value       = aws_iam_role.this["deployer"].arn
}

output "planner_role_arn" {
  description = "The read-only role of the plan jobs: the repository variable AWS_PLAN_ROLE_ARN."
  value       = aws_iam_role.this["planner"].arn
}

output "oidc_provider_arn" {
  description = "ARN of GitHub's OIDC identity provider the roles trust."
  value       = local.oidc_provider_arn
}
