variable "name" {
  type        = string
  description = "Prefix of the role name."

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,55}$", var.name))
    error_message = "name must be 1-55 characters valid in an IAM role name."
  }
}

variable "bucket_name" {
  type        = string
  description = "Bucket holding data/, code/, models/ and checkpoints/."
}

variable "prefixes" {
  type = object({
    data        = string
    code        = string
    models      = string
    checkpoints = string
    features    = string
  })
  description = "Key prefixes of the bucket's areas (features/: cached backbone features, read and written by jobs)."
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
  default     = ["pytorch-training"]
  description = "ECR repositories of that registry the jobs may pull from."
}

variable "model_package_group_arn" {
  type        = string
  default     = null
  description = "The registry's model package group jobs may add PendingManualApproval versions to; null: none."

  validation {
    condition     = var.model_package_group_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package-group/[a-z0-9-]+$", var.model_package_group_arn))
    error_message = "model_package_group_arn must be a model package group ARN (arn:aws:sagemaker:<region>:<account>:model-package-group/<name>)."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key of the bucket; null when it uses SSE-S3."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
