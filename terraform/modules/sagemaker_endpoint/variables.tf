variable "name" {
  type        = string
  description = "Endpoint name; also the prefix of the model, endpoint configuration and role."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,53}$", var.name))
    error_message = "name must be 1-54 letters, digits or hyphens (SageMaker names, leaving room for a hash suffix)."
  }
}

variable "model_data_url" {
  type        = string
  description = "S3 URL of the model.tar.gz to serve (built by ml.package)."

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\\.tar\\.gz$", var.model_data_url))
    error_message = "model_data_url must be an s3://bucket/key URL of a .tar.gz file."
  }
}

variable "model_artifacts_s3_prefix" {
  type        = string
  default     = null
  description = "S3 prefix (s3://bucket/models/) the endpoint role may read models from; null allows model_data_url only."

  validation {
    condition     = var.model_artifacts_s3_prefix == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?$", var.model_artifacts_s3_prefix))
    error_message = "model_artifacts_s3_prefix must be an s3://bucket/prefix/ URL ending with a slash."
  }
}

variable "inference_image_tag" {
  type        = string
  default     = "2.6.0-cpu-py312"
  description = "Tag of the AWS PyTorch inference container (pytorch-inference repository)."

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+(\\.[0-9]+)?-(cpu|gpu)-py3[0-9]+", var.inference_image_tag))
    error_message = "inference_image_tag must look like 2.6.0-cpu-py312."
  }
}

variable "inference_image_uri" {
  type        = string
  default     = null
  description = "Full image URI to serve with instead of the AWS PyTorch inference container."
}

variable "instance_type" {
  type        = string
  default     = "ml.m5.large"
  description = "Instance type of the endpoint's production variant."

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be a SageMaker instance type such as ml.m5.large."
  }
}

variable "initial_instance_count" {
  type        = number
  default     = 1
  description = "Instances the endpoint starts with (auto scaling then takes over)."

  validation {
    condition     = var.initial_instance_count >= 1
    error_message = "initial_instance_count must be at least 1."
  }
}

variable "container_environment" {
  type        = map(string)
  default     = {}
  description = "Extra environment variables for the serving container."
}

variable "autoscaling" {
  type = object({
    min_capacity             = optional(number, 1)
    max_capacity             = optional(number, 3)
    invocations_per_instance = optional(number, 70)
    scale_in_cooldown        = optional(number, 30)
    scale_out_cooldown       = optional(number, 30)
  })
  default     = {}
  description = "Target tracking on SageMakerVariantInvocationsPerInstance (invocations per instance per minute)."

  validation {
    condition     = var.autoscaling.min_capacity >= 1 && var.autoscaling.min_capacity <= var.autoscaling.max_capacity
    error_message = "autoscaling needs 1 <= min_capacity <= max_capacity."
  }

  validation {
    condition     = var.autoscaling.scale_in_cooldown >= 0 && var.autoscaling.scale_out_cooldown >= 0
    error_message = "autoscaling cooldowns must be >= 0 seconds."
  }

  validation {
    condition     = var.autoscaling.invocations_per_instance > 0
    error_message = "autoscaling.invocations_per_instance must be positive."
  }
}

variable "network_isolation" {
  type        = bool
  default     = true
  description = "Run the container without network access (SageMaker still fetches the model). Requests with s3_uri sent straight to the endpoint need false; the Lambda reads S3 itself."
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key that encrypts the model artifact and the endpoint's storage; null for none."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
