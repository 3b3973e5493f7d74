variable "name" {
  type        = string
  default     = "dog-breeds"
  description = "The stack's name (the root module's var.name): the prefix of every resource name the policies allow."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = null
  description = "AWS region of the stack; null takes the provider's."

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "data_bucket" {
  type        = string
  default     = null
  description = "The stack's data bucket (the root module's bucket_name); null is its default, NAME-ACCOUNT_ID."

  validation {
    condition     = var.data_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket))
    error_message = "data_bucket must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "state_bucket" {
  type        = string
  description = "The S3 bucket that holds the stack's Terraform state (terraform/backend.hcl's bucket)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket))
    error_message = "state_bucket must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens."
  }
}

variable "state_key" {
  type        = string
  default     = "dog-breeds/terraform.tfstate"
  description = "The state's object key in that bucket (terraform/backend.hcl's key)."

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.'()/-]{1,200}$", var.state_key)) && !startswith(var.state_key, "/")
    error_message = "state_key must be 1-200 characters of letters, digits and !_.'()/- (no * or ?: it becomes an ARN in the policies), not starting with a slash."
  }
}

variable "state_kms_key_arn" {
  type        = string
  default     = null
  description = "The KMS key the state bucket encrypts with, if any (bootstrap's kms_key_arn): the roles then may encrypt and decrypt with it."

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}
