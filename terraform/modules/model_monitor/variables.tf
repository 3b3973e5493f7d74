variable "name" {
  type        = string
  description = "Name of the monitor's function, roles, log group, schedule and alarms (the alarms get suffixes)."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1-56 letters, digits, hyphens or underscores (the scheduler's role adds -schedule within IAM's 64)."
  }
}

variable "package_path" {
  type        = string
  description = "Path of the deployment zip built by `make package-lambda` (it carries monitor_function.py beside the invoker)."

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point to a .zip file."
  }
}

variable "endpoint_name" {
  type        = string
  description = "The SageMaker endpoint whose captured traffic is monitored."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.endpoint_name))
    error_message = "endpoint_name must be a SageMaker endpoint name: 1-63 letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "variant_name" {
  type        = string
  default     = "AllTraffic"
  description = "The production variant whose captures are read."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.variant_name))
    error_message = "variant_name must be a SageMaker variant name: 1-63 letters, digits and hyphens."
  }
}

variable "capture_s3_uri" {
  type        = string
  description = "The endpoint's data capture destination (s3://bucket/prefix/): records lie under <prefix><endpoint>/<variant>/yyyy/mm/dd/hh/."

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([a-zA-Z0-9_.-]+/)+$", var.capture_s3_uri))
    error_message = "capture_s3_uri must be s3://bucket/prefix/ with a prefix ending in '/'."
  }
}

variable "model_package_group_name" {
  type        = string
  description = "The model registry group the served versions come from: the monitor reads their baselines."

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.model_package_group_name))
    error_message = "model_package_group_name must be 1-63 letters, digits and hyphens."
  }
}

variable "baseline_s3_prefix" {
  type        = string
  description = "Where `mlops register` stores the versions' baselines (s3://bucket/registry/<group>/): the only other objects the monitor reads."

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([a-zA-Z0-9_.-]+/)+$", var.baseline_s3_prefix))
    error_message = "baseline_s3_prefix must be s3://bucket/prefix/ with a prefix ending in '/'."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "The customer managed key of the captures and baselines (the data bucket's), which also encrypts the function's log group; null when AWS manages the keys."

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-f0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "metric_namespace" {
  type        = string
  description = "The CloudWatch namespace the monitor publishes its figures in, by EndpointName."

  validation {
    condition     = can(regex("^[0-9A-Za-z.\\-_/#:]{1,255}$", var.metric_namespace)) && !startswith(var.metric_namespace, "AWS/")
    error_message = "metric_namespace must be 1-255 letters, digits or . - _ / # : and must not start with AWS/ (CloudWatch reserves it)."
  }
}

variable "schedule_expression" {
  type        = string
  default     = "rate(1 hour)"
  description = "How often the monitor runs (EventBridge Scheduler: rate(...) or cron(...))."

  validation {
    condition     = can(regex("^(rate\\(([1-9][0-9]*) (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(N unit) or cron(...), e.g. rate(1 hour)."
  }
}

variable "window_minutes" {
  type        = number
  default     = 60
  description = "The traffic each run measures: the last window_minutes of captures (match it to schedule_expression)."

  validation {
    condition     = var.window_minutes >= 5 && var.window_minutes <= 1440 && floor(var.window_minutes) == var.window_minutes
    error_message = "window_minutes must be a whole number from 5 to 1440."
  }
}

variable "min_requests" {
  type        = number
  default     = 20
  description = "Windows with fewer captured requests publish their counts only (a mean of three answers is chance)."

  validation {
    condition     = var.min_requests >= 1 && floor(var.min_requests) == var.min_requests
    error_message = "min_requests must be a whole number of at least 1."
  }
}

variable "drift_score_threshold" {
  type        = number
  default     = 2
  description = "The drift alarm fires when PredictionDriftScore exceeds this (1: as far from the training mix as one same-sized window in a hundred gets by chance)."

  validation {
    condition     = var.drift_score_threshold >= 1
    error_message = "drift_score_threshold must be at least 1: under it, sampling noise alone fires the alarm one hour in a hundred or more."
  }
}

variable "low_confidence_share_threshold" {
  type        = number
  default     = 0.3
  description = "The confidence alarm fires when LowConfidenceShare exceeds this (the test split has about 0.1 by construction)."

  validation {
    condition     = var.low_confidence_share_threshold > 0.1 && var.low_confidence_share_threshold < 1
    error_message = "low_confidence_share_threshold must be between 0.1 (what the test split itself shows) and 1."
  }
}

variable "alarm_evaluation_periods" {
  type        = number
  default     = 2
  description = "Consecutive windows over a threshold before its alarm fires."

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 168 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number from 1 to 168."
  }
}

variable "alarm_topic_arn" {
  type        = string
  default     = null
  description = "The SNS topic the alarms notify (the monitoring module's); null: the alarms notify no one (the dashboard shows them)."

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[a-zA-Z0-9_-]{1,256}$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN."
  }
}

variable "memory_size" {
  type        = number
  default     = 1024
  description = "The function's memory in MB (and so its CPU share): it reads every captured photo of the window."

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be 128 to 10240 MB (Lambda's range)."
  }
}

variable "timeout" {
  type        = number
  default     = 300
  description = "The function's timeout in seconds."

  validation {
    condition     = var.timeout >= 30 && var.timeout <= 900
    error_message = "timeout must be 30 to 900 seconds (Lambda's most)."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 365
  description = "Retention of the function's log group."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every resource."
}
