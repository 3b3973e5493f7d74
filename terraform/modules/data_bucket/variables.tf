variable "bucket_name" {
  type        = string
  description = "Globally unique name of the bucket."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name)) && !strcontains(var.bucket_name, "..")
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for default encryption; null uses SSE-S3 (AES256)."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "force_destroy" {
  type        = bool
  default     = false
  description = "Allow terraform destroy to delete a bucket that still holds objects (data is lost)."
}

variable "prefixes" {
  type = object({
    data        = optional(string, "data/")
    code        = optional(string, "code/")
    models      = optional(string, "models/")
    checkpoints = optional(string, "checkpoints/")
    features    = optional(string, "features/")
    capture     = optional(string, "capture/")
    async       = optional(string, "async/")
    registry    = optional(string, "registry/")
  })
  default     = {}
  description = "Key prefixes of the bucket's areas; each ends with a slash."

  validation {
    condition     = alltrue([for prefix in values(var.prefixes) : can(regex("^[a-z0-9][a-z0-9_.-]*/$", prefix))])
    error_message = "Each prefix must be a simple folder name ending with '/', e.g. \"data/\"."
  }
}

variable "checkpoint_expiration_days" {
  type        = number
  default     = 30
  description = "Days after which training checkpoints are deleted."

  validation {
    condition     = var.checkpoint_expiration_days >= 1
    error_message = "checkpoint_expiration_days must be at least 1."
  }
}

variable "capture_expiration_days" {
  type        = number
  default     = 30
  description = "Days after which the endpoint's captured requests and responses, and asynchronous requests and their answers (under the async prefix), are deleted."

  validation {
    condition     = var.capture_expiration_days >= 1 && floor(var.capture_expiration_days) == var.capture_expiration_days
    error_message = "capture_expiration_days must be a whole number of at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  default     = 30
  description = "Days after which overwritten or deleted object versions are removed."

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
