variable "name" {
  type        = string
  default     = "dog-breeds"
  description = "The stack's name: the roles are NAME-ci-deployer and NAME-ci-planner."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "repository" {
  type        = string
  description = "The GitHub repository whose workflows may assume the roles, as OWNER/NAME."

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", var.repository))
    error_message = "repository must be OWNER/NAME, such as example-org/dog-breeds."
  }
}

variable "deploy_environment" {
  type        = string
  default     = "production"
  description = "The protected GitHub environment whose jobs may assume the deployer role (the workflow's apply job)."

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,255}$", var.deploy_environment))
    error_message = "deploy_environment must be a GitHub environment name: letters, digits, dots, underscores or hyphens."
  }
}

variable "main_branch" {
  type        = string
  default     = "main"
  description = "The branch whose pushes may assume the planner role, as pull requests may."

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,200}$", var.main_branch)) && !strcontains(var.main_branch, "*")
    error_message = "main_branch must be a branch name, without wildcards."
  }
}

variable "deployer_policy_documents" {
  type        = list(string)
  description = "The deployer's policy documents (access_policies' deployer_policy_documents), one managed policy each."

  validation {
    condition     = length(var.deployer_policy_documents) >= 1 && length(var.deployer_policy_documents) <= 10
    error_message = "deployer_policy_documents must hold 1-10 documents: a role takes at most 10 managed policies (IAM and AWS STS quotas)."
  }
}

variable "planner_policy_documents" {
  type        = list(string)
  description = "The planner's policy documents (access_policies' planner_policy_documents), one managed policy each."

  validation {
    condition     = length(var.planner_policy_documents) >= 1 && length(var.planner_policy_documents) <= 10
    error_message = "planner_policy_documents must hold 1-10 documents: a role takes at most 10 managed policies (IAM and AWS STS quotas)."
  }
}

variable "create_oidc_provider" {
  type        = bool
  default     = true
  description = "Create GitHub's OIDC identity provider; false when the account has one (pass oidc_provider_arn)."
}

variable "oidc_provider_arn" {
  type        = string
  default     = null
  description = "ARN of the account's existing token.actions.githubusercontent.com provider, with create_oidc_provider = false."

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }

  validation {
    condition     = var.create_oidc_provider || var.oidc_provider_arn != null
    error_message = "oidc_provider_arn is required when create_oidc_provider is false."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the provider, roles and policies."
}
