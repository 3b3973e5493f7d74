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

variable "add_pending_versions_policy_json" {
  type        = string
  default     = null
  description = "The model registry's policy for adding versions (modules/model_registry, output add_pending_versions_policy_json): jobs may add PendingManualApproval versions to its group, merged into the role's policy; null: no registry access."

  validation {
    condition     = var.add_pending_versions_policy_json == null || can(jsondecode(var.add_pending_versions_policy_json).Statement)
    error_message = "add_pending_versions_policy_json must be an IAM policy document in JSON (with a Statement), such as the model_registry module's add_pending_versions_policy_json output."
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
