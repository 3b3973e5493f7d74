# No validation here: each value reaches a module (or the provider) that validates it.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region of the stack (and of the roles' policies)."
}

variable "stack_name" {
  type        = string
  default     = "dog-breeds"
  description = "The stack's name (the root module's name): the roles are NAME-ci-deployer and NAME-ci-planner, and their policies reach resources of that name only."
}

variable "repository" {
  type        = string
  description = "The GitHub repository (OWNER/NAME) whose workflows deploy the stack."
}

variable "state_bucket" {
  type        = string
  description = "The state bucket terraform/bootstrap made (its bucket_name output): the stack's state lives there, and this configuration's too."
}

variable "stack_state_key" {
  type        = string
  default     = "dog-breeds/terraform.tfstate"
  description = "Key of the stack's state in that bucket (the deployer may write it and its lock file); not this configuration's own key."
}

variable "oidc_provider_arn" {
  type        = string
  default     = null
  description = "The account's token.actions.githubusercontent.com OIDC provider, when it has one already (one per account); null creates it."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the OIDC provider, roles and policies, besides Project and ManagedBy."
}
