variable "name" {
  type        = string
  description = "Prefix of alarm and topic names."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,200}$", var.name))
    error_message = "name must be letters, digits, hyphens or underscores."
  }
}

variable "endpoint_name" {
  type        = string
  description = "SageMaker endpoint to watch."
}

variable "variant_name" {
  type        = string
  default     = "AllTraffic"
  description = "Production variant of that endpoint."
}

variable "function_name" {
  type        = string
  description = "Lambda function to watch."
}

variable "endpoint_mode" {
  type        = string
  default     = "realtime"
  description = "realtime (instances: CPU, memory and instance count on the dashboard), serverless (cold starts and concurrency instead, and an alarm on slow cold starts) or async (the queue: backlog, oldest request and failed requests, with alarms on each)."

  validation {
    condition     = contains(["realtime", "serverless", "async"], var.endpoint_mode)
    error_message = "endpoint_mode must be realtime, serverless or async."
  }
}

variable "transform_job_prefix" {
  type        = string
  default     = null
  description = "Start of the names of this stack's batch transform jobs (python -m mlops transform --prefix, then -transform-): a job of that name that ends Failed raises the transform-failures alarm. null: no transform alarm."

  validation {
    condition     = var.transform_job_prefix == null || can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9])*-?$", coalesce(var.transform_job_prefix, "x")))
    error_message = "transform_job_prefix must be the start of a SageMaker job name: letters, digits and hyphens."
  }
}

variable "model_monitor" {
  type = object({
    namespace      = string
    period_seconds = number
    alarm_arns     = list(string)
  })
  default     = null
  description = "The model monitor's namespace, window (s) and alarms (the model_monitor module's outputs): a dashboard row of its figures, and its alarms in the alarm widget. null: no monitor."

  validation {
    condition     = var.model_monitor == null || try(var.model_monitor.period_seconds % 60 == 0 && var.model_monitor.period_seconds >= 60, false)
    error_message = "model_monitor.period_seconds must be a whole number of minutes (CloudWatch periods past a minute are multiples of 60)."
  }
}

variable "deployment_alarm_arns" {
  type        = list(string)
  default     = []
  description = "ARNs of the endpoint's rollback alarms, shown with the others on the dashboard."
}

variable "create_sns_topic" {
  type        = bool
  default     = false
  description = "Create an SNS topic for alarm notifications (also created when alarm_email is set)."
}

variable "alarm_email" {
  type        = string
  default     = null
  description = "Email address subscribed to the alarm topic; null for none."

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address."
  }
}

variable "alarm_action_arns" {
  type        = list(string)
  default     = []
  description = "Existing SNS topics (or other alarm actions) to notify."
}

variable "period_seconds" {
  type        = number
  default     = 60
  description = "Alarm evaluation period."

  validation {
    condition     = contains([10, 30, 60], var.period_seconds) || (var.period_seconds >= 60 && var.period_seconds % 60 == 0)
    error_message = "period_seconds must be 10, 30 or a multiple of 60."
  }
}

variable "evaluation_periods" {
  type        = number
  default     = 5
  description = "Periods an alarm looks back over (N of 'M out of N')."

  validation {
    condition     = var.evaluation_periods >= 1
    error_message = "evaluation_periods must be at least 1."
  }
}

variable "datapoints_to_alarm" {
  type        = number
  default     = 2
  description = "Breaching periods among evaluation_periods that fire an alarm (M of 'M out of N'): 2 of 5 fires on a burst without waiting for five bad minutes in a row."

  validation {
    condition     = var.datapoints_to_alarm >= 1 && floor(var.datapoints_to_alarm) == var.datapoints_to_alarm
    error_message = "datapoints_to_alarm must be a whole number, at least 1."
  }
}

variable "endpoint_5xx_threshold" {
  type        = number
  default     = 0
  description = "Endpoint server errors per period above which the alarm fires."

  validation {
    condition     = var.endpoint_5xx_threshold >= 0
    error_message = "endpoint_5xx_threshold must be >= 0."
  }
}

variable "model_latency_threshold_ms" {
  type        = number
  default     = 1000
  description = "Average model latency (ms) above which the alarm fires."

  validation {
    condition     = var.model_latency_threshold_ms > 0
    error_message = "model_latency_threshold_ms must be positive."
  }
}

variable "serverless_overhead_threshold_ms" {
  type        = number
  default     = 10000
  description = "Serverless only: average overhead latency (ms; cold starts included) above which the alarm fires. Near the Lambda's 19 s per-call wait, callers time out: raise memory or concurrency."

  validation {
    condition     = var.serverless_overhead_threshold_ms > 0
    error_message = "serverless_overhead_threshold_ms must be positive."
  }
}

variable "async_backlog_threshold" {
  type        = number
  default     = 100
  description = "Asynchronous endpoints only: queued requests (ApproximateBacklogSize, average per minute) above which the alarm fires; auto scaling has reached max capacity and cannot keep up."

  validation {
    condition     = var.async_backlog_threshold > 0
    error_message = "async_backlog_threshold must be positive."
  }
}

variable "async_oldest_request_seconds" {
  type        = number
  default     = 900
  description = "Asynchronous endpoints only: age (s) of the oldest queued request (ApproximateAgeOfOldestRequest) above which the alarm fires; callers polling for answers wait this long."

  validation {
    condition     = var.async_oldest_request_seconds > 0
    error_message = "async_oldest_request_seconds must be positive."
  }
}

variable "async_failures_threshold" {
  type        = number
  default     = 0
  description = "Asynchronous endpoints only: failed requests per period (InvocationFailures) above which the alarm fires; 0 fires on any."

  validation {
    condition     = var.async_failures_threshold >= 0
    error_message = "async_failures_threshold must be 0 or more."
  }
}

variable "monthly_budget" {
  type = object({
    limit_usd = number
    emails    = list(string)
  })
  default     = null
  description = "An AWS Budgets monthly cost budget over resources tagged Project = name (an activated cost allocation tag), e-mailing at 80% forecast and 100% actual; null: none."

  validation {
    condition     = var.monthly_budget == null || try(var.monthly_budget.limit_usd > 0, false)
    error_message = "monthly_budget.limit_usd must be positive."
  }

  validation {
    condition     = var.monthly_budget == null || try(length(var.monthly_budget.emails) >= 1 && length(var.monthly_budget.emails) <= 10 && alltrue([for email in var.monthly_budget.emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))]), false)
    error_message = "monthly_budget.emails must be 1 to 10 email addresses (AWS Budgets: 10 email subscribers per notification)."
  }
}

variable "lambda_errors_threshold" {
  type        = number
  default     = 0
  description = "Lambda errors per period above which the alarm fires."

  validation {
    condition     = var.lambda_errors_threshold >= 0
    error_message = "lambda_errors_threshold must be >= 0."
  }
}

variable "lambda_throttles_threshold" {
  type        = number
  default     = 0
  description = "Lambda throttles per period above which the alarm fires."

  validation {
    condition     = var.lambda_throttles_threshold >= 0
    error_message = "lambda_throttles_threshold must be >= 0."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "Customer managed KMS key for the topic; its key policy must let cloudwatch.amazonaws.com (and, with transform_job_prefix, events.amazonaws.com) use it (kms:Decrypt, kms:GenerateDataKey*). Null creates such a key. Never alias/aws/sns: CloudWatch alarms cannot publish to a topic under that AWS managed key."

  validation {
    condition     = var.kms_key_arn == null || !strcontains(coalesce(var.kms_key_arn, "-"), "alias/aws/")
    error_message = "kms_key_arn must be a customer managed key: CloudWatch alarms cannot publish to a topic encrypted with an AWS managed key such as alias/aws/sns."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}
