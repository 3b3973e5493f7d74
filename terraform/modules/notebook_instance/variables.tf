variable "name" {
  type        = string
  description = "Name of the notebook instance; also of its role and lifecycle configuration."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,52}$", var.name))
    error_message = "name must be 1-53 letters, digits and hyphens (SageMaker's rule for notebook names, leaving room for suffixes)."
  }
}

variable "job_name_prefix" {
  type        = string
  description = "Prefix of the SageMaker training and tuning jobs the notebook may launch and inspect (the operator CLI's --prefix)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", var.job_name_prefix))
    error_message = "job_name_prefix must be letters, digits and hyphens."
  }
}

variable "instance_type" {
  type        = string
  default     = "ml.t2.medium"
  description = "Notebook instance type; ml.t2.medium (2 vCPU, 4 GiB) is the cheapest that runs the notebooks."

  validation {
    condition     = can(regex("^ml\\.(t2\\.(medium|large|xlarge|2xlarge)|t3\\.(medium|large|xlarge|2xlarge)|m5d?\\.(xlarge|2xlarge|4xlarge|12xlarge|24xlarge)|m6i\\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge|32xlarge)|c5d?\\.(xlarge|2xlarge|4xlarge|9xlarge|18xlarge)|r5\\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge)|p3\\.(2xlarge|8xlarge|16xlarge)|g4dn\\.(xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge)|g5\\.(xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge|24xlarge|48xlarge))$", var.instance_type))
    error_message = "instance_type must be a notebook instance type, e.g. ml.t2.medium, ml.t3.large, ml.m5.xlarge or ml.g4dn.xlarge."
  }
}

variable "volume_size" {
  type        = number
  default     = 20
  description = "Size of the notebook's ML storage volume in GiB."

  validation {
    condition     = var.volume_size >= 5 && var.volume_size <= 16384 && floor(var.volume_size) == var.volume_size
    error_message = "volume_size must be a whole number of GiB from 5 to 16384."
  }
}

variable "platform_identifier" {
  type        = string
  default     = "notebook-al2-v3"
  description = "Notebook platform (Amazon Linux and JupyterLab version). notebook-al2023-v1 needs a newer AWS provider than the ~> 5.100 this stack pins."

  validation {
    condition     = contains(["notebook-al2-v3"], var.platform_identifier)
    error_message = "platform_identifier must be notebook-al2-v3: the earlier ones are deprecated, and the pinned AWS provider does not know notebook-al2023-v1."
  }
}

variable "idle_minutes" {
  type        = number
  default     = 60
  description = "Stop the instance after this many minutes with no Jupyter activity; 0 turns the idle stop off."

  validation {
    condition     = var.idle_minutes >= 0 && var.idle_minutes <= 1440 && floor(var.idle_minutes) == var.idle_minutes
    error_message = "idle_minutes must be a whole number from 0 (off) to 1440."
  }
}

variable "direct_internet_access" {
  type        = bool
  default     = false
  description = "Give the notebook SageMaker's own internet access; false keeps all traffic in subnet_id, which then needs VPC endpoints (see README)."
}

variable "subnet_id" {
  type        = string
  default     = null
  description = "Subnet of the notebook's network interface; required when direct_internet_access is false."

  validation {
    condition     = var.subnet_id == null || can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id must look like subnet-0123456789abcdef0."
  }
}

variable "security_group_ids" {
  type        = list(string)
  default     = []
  description = "Security groups of the notebook's network interface; required (at least one) when direct_internet_access is false."

  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))]) && length(var.security_group_ids) <= 5
    error_message = "security_group_ids must be up to 5 ids like sg-0123456789abcdef0."
  }
}

variable "root_access" {
  type        = bool
  default     = false
  description = "Give notebook users root on the instance (lifecycle scripts run as root either way)."
}

variable "default_code_repository" {
  type        = string
  default     = null
  description = "Git URL (https) the notebook opens on, e.g. this project's repository; null for none."

  validation {
    condition     = var.default_code_repository == null || can(regex("^https://[^\\s]+$", var.default_code_repository))
    error_message = "default_code_repository must be an https Git URL."
  }
}

variable "bucket_name" {
  type        = string
  description = "The project's bucket: data/ is read, the notebook's workspace prefix read and written."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)."
  }
}

variable "prefixes" {
  type = object({
    data      = string
    code      = string
    workspace = string
    features  = optional(string, "features/")
    models    = optional(string, "models/")
    registry  = optional(string, "registry/")
  })
  description = "Key prefixes: the dataset (read), code bundles the operator CLI uploads for jobs (and reads back to hash them), the notebook's own workspace, cached backbone features (read), training outputs (their metrics read when a model is registered) and the registry's metrics documents (written)."

  validation {
    condition     = alltrue([for prefix in values(var.prefixes) : can(regex("^[a-z0-9_.-]+(/[a-z0-9_.-]+)*/$", prefix))])
    error_message = "prefixes must be folder names ending with '/'."
  }
}

variable "training_role_arn" {
  type        = string
  description = "The SageMaker training role: the only role the notebook may pass (to training and tuning jobs)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$", var.training_role_arn))
    error_message = "training_role_arn must be an IAM role ARN."
  }
}

variable "endpoint_arn" {
  type        = string
  default     = null
  description = "Endpoint the notebook may invoke; null for none."

  validation {
    condition     = var.endpoint_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/[a-z0-9-]+$", var.endpoint_arn))
    error_message = "endpoint_arn must be one SageMaker endpoint ARN (lowercase)."
  }
}

variable "model_registry" {
  type = object({
    group_arn                        = string
    add_pending_versions_policy_json = string
  })
  default     = null
  description = "The registry (modules/model_registry: its group_arn and add_pending_versions_policy_json outputs): the notebook may register versions in its group (PendingManualApproval, by the registry's own policy), approve and reject them, and nowhere else; null: no registry access."

  validation {
    condition     = var.model_registry == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package-group/[a-z0-9-]+$", var.model_registry.group_arn))
    error_message = "model_registry.group_arn must be a model package group ARN (arn:aws:sagemaker:<region>:<account>:model-package-group/<name>)."
  }

  validation {
    condition     = var.model_registry == null || can(jsondecode(var.model_registry.add_pending_versions_policy_json).Statement)
    error_message = "model_registry.add_pending_versions_policy_json must be an IAM policy document in JSON (with a Statement): the model_registry module's add_pending_versions_policy_json output."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for the notebook's volume and for reading encrypted objects; null uses AWS managed encryption."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
