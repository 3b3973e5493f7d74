variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region of the state bucket (the stack itself may live in another)."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "bucket_name" {
  type        = string
  description = "Globally unique name of the state bucket, e.g. dog-breeds-tfstate-<account id>."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "..")
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "state_key" {
  type        = string
  default     = "dog-breeds/terraform.tfstate"
  description = "Key of the stack's state in the bucket (written into the backend_config output)."

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]*[A-Za-z0-9!_.'()-]$", var.state_key)) && !strcontains(var.state_key, "//")
    error_message = "state_key must be an S3 key of letters, digits and !_.'()-/ (no *: it becomes an ARN in the policies) that neither starts nor ends with a slash nor holds an empty segment."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for default encryption; null uses SSE-S3 (AES256). Whoever runs Terraform then also needs kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on it."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 90
  description = "Days an overwritten state (or an old lock file) stays recoverable before it is deleted."

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days from 1 to 3650."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the state bucket, besides Purpose and ManagedBy (set on every resource)."
}

variable "stack_name" {
  type        = string
  default     = "dog-breeds"
  description = "The stack's name (the root module's var.name): the policies this root outputs allow resources of that name only."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.stack_name))
    error_message = "stack_name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "stack_bucket_name" {
  type        = string
  default     = null
  description = "The stack's data bucket, when the root module's bucket_name sets one (null: NAME-ACCOUNT_ID)."

  validation {
    condition     = var.stack_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.stack_bucket_name))
    error_message = "stack_bucket_name must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "stack_region" {
  type        = string
  default     = null
  description = "AWS region of the stack, when not the state bucket's (var.region)."

  validation {
    condition     = var.stack_region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.stack_region))
    error_message = "stack_region must be an AWS region name such as us-east-1."
  }
}

variable "ci_repository" {
  type        = string
  default     = null
  description = "GitHub repository (OWNER/NAME) whose workflows deploy the stack: creates GitHub's OIDC provider and the CI deployer and planner roles (modules/ci_roles). Null creates none."

  validation {
    condition     = var.ci_repository == null || can(regex("^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", var.ci_repository))
    error_message = "ci_repository must be OWNER/NAME, such as example-org/dog-breeds."
  }
}

variable "ci_oidc_provider_arn" {
  type        = string
  default     = null
  description = "The account's existing token.actions.githubusercontent.com OIDC provider, if it has one (an account has at most one per issuer); null creates it."

  validation {
    condition     = var.ci_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.ci_oidc_provider_arn))
    error_message = "ci_oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}
