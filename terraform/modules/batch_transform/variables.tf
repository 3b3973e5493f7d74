variable "name" {
  type        = string
  description = "Prefix of the role name."

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,54}$", var.name))
    error_message = "name must be 1-54 characters valid in an IAM role name (the role is NAME-transform, 64 at most)."
  }
}

variable "bucket_name" {
  type        = string
  description = "Bucket holding the models and the transform inputs and outputs."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "input_prefix" {
  type        = string
  default     = "transform/in/"
  description = "Key prefix transform jobs read their input objects under (the only one they may list or read, besides the models)."

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9_.-]*/)+$", var.input_prefix))
    error_message = "input_prefix must be one or more folder names each ending with '/', e.g. \"transform/in/\"."
  }
}

variable "output_prefix" {
  type        = string
  default     = "transform/out/"
  description = "Key prefix transform jobs write their answers under (the only one they may write)."

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9_.-]*/)+$", var.output_prefix))
    error_message = "output_prefix must be one or more folder names each ending with '/', e.g. \"transform/out/\"."
  }
}

variable "models_prefix" {
  type        = string
  default     = "models/"
  description = "Key prefix of the model archives (and of registered versions' model data) the jobs serve."

  validation {
    condition     = can(regex("^([a-z0-9][a-z0-9_.-]*/)+$", var.models_prefix))
    error_message = "models_prefix must be one or more folder names each ending with '/', e.g. \"models/\"."
  }
}

variable "image_registry_id" {
  type        = string
  default     = "763104351884"
  description = "Account of the AWS Deep Learning Containers registry."

  validation {
    condition     = can(regex("^[0-9]{12}$", var.image_registry_id))
    error_message = "image_registry_id must be a 12-digit account id."
  }
}

variable "image_repositories" {
  type        = list(string)
  default     = ["pytorch-inference"]
  description = "ECR repositories of that registry the jobs' models may pull from."

  validation {
    condition     = length(var.image_repositories) > 0 && alltrue([for repository in var.image_repositories : can(regex("^[a-z0-9]+([._/-][a-z0-9]+)*$", repository))])
    error_message = "image_repositories must name at least one ECR repository (lowercase, e.g. pytorch-inference)."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key of the bucket; null when it uses SSE-S3."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
