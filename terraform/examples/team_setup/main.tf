# What a platform team sets up once for a team that deploys the stack from CI: this
# configuration's own state in the state bucket terraform/bootstrap made (remote, locked,
# versioned), and the CI roles GitHub Actions assumes with OIDC tokens, each with the
# least-privilege policies of its job for the stack's state in that bucket.

# The bucket, key and region come from terraform init -backend-config (README).
terraform {
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.stack_name, ManagedBy = "terraform" }, var.tags)
  }
}

module "access_policies" {
  source = "../../modules/access_policies"

  name         = var.stack_name
  region       = var.region
  state_bucket = var.state_bucket
  state_key    = var.stack_state_key
}

module "ci_roles" {
  source = "../../modules/ci_roles"

  name                      = var.stack_name
  repository                = var.repository
  deployer_policy_documents = module.access_policies.deployer_policy_documents
  planner_policy_documents  = module.access_policies.planner_policy_documents
  create_oidc_provider      = var.oidc_provider_arn == null
  oidc_provider_arn         = var.oidc_provider_arn
  tags                      = var.tags
}
