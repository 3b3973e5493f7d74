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
    condition     = can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*[A-Za-z0-9!_.*'()-]$", var.state_key)) && !strcontains(var.state_key, "//")
    error_message = "state_key must be an S3 key of letters, digits and !_.*'()-/ that neither starts nor ends with a slash nor holds an empty segment."
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
