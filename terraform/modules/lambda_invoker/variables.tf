variable "name" {
  type        = string
  description = "Function name; also the name of its role and log group."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "package_path" {
  type        = string
  description = "Path of the deployment zip built by `make package-lambda`."

  validation {
    condition     = endswith(var.package_path, ".zip")
    error_message = "package_path must point to a .zip file."
  }
}

variable "endpoint_name" {
  type        = string
  description = "Name of the SageMaker endpoint to invoke."
}

variable "endpoint_arn" {
  type        = string
  description = "ARN of that endpoint: the only resource the function may invoke."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:endpoint/[a-z0-9-]+$", var.endpoint_arn))
    error_message = "endpoint_arn must be one SageMaker endpoint ARN (lowercase, no wildcards)."
  }
}

variable "model_version" {
  type        = string
  default     = ""
  description = "Label reported as model_version in every answer (e.g. models/run-1): never a URL, bucket or account id."

  validation {
    condition     = !strcontains(var.model_version, "://") && !can(regex("[0-9]{12}", var.model_version))
    error_message = "model_version must be a label, not a URL or anything holding an account id: answers are public."
  }
}

variable "input_s3" {
  type = object({
    bucket = string
    prefix = string
  })
  default     = null
  description = "Bucket and prefix that s3_uri requests may read from; null disables s3_uri input."

  validation {
    condition     = var.input_s3 == null || can(regex("^[a-z0-9_.-]+/$", var.input_s3.prefix))
    error_message = "input_s3.prefix must be a non-empty folder name ending with '/'."
  }
}

variable "async_inference" {
  type = object({
    bucket         = string
    input_prefix   = string
    output_prefix  = string
    failure_prefix = string
  })
  default     = null
  description = "The endpoint is asynchronous: requests are put under input_prefix and queued (answered 202 with an inference id), and GET /classify/{id} reads the answer under output_prefix or the failure under failure_prefix, all in bucket. null: the endpoint answers in the request."

  validation {
    condition     = var.async_inference == null || alltrue([for prefix in try([var.async_inference.input_prefix, var.async_inference.output_prefix, var.async_inference.failure_prefix], [""]) : can(regex("^([a-z0-9_.-]+/)+$", prefix))])
    error_message = "async_inference input_prefix, output_prefix and failure_prefix must be key prefixes such as async/in/, each ending with '/'."
  }

  validation {
    condition     = var.async_inference == null || try(length(distinct([var.async_inference.input_prefix, var.async_inference.output_prefix, var.async_inference.failure_prefix])) == 3, false)
    error_message = "async_inference input_prefix, output_prefix and failure_prefix must differ."
  }
}

variable "url_allowlist" {
  type        = list(string)
  default     = []
  description = "Hosts that url requests may fetch from over https; empty disables url input."

  validation {
    condition     = alltrue([for host in var.url_allowlist : can(regex("^[a-z0-9.-]+$", host))])
    error_message = "url_allowlist entries must be bare lowercase host names."
  }
}

variable "cors_allow_origin" {
  type        = string
  default     = ""
  description = "Access-Control-Allow-Origin for answers; empty sends no CORS header."

  validation {
    condition     = var.cors_allow_origin != "*"
    error_message = "cors_allow_origin must name an origin, not \"*\"."
  }
}

variable "timeout" {
  type        = number
  default     = 29
  description = "Function timeout in seconds: under the HTTP API's 30 s integration timeout, and room for invoke_attempts x (2 s connect + invoke_timeout) plus 7 s of input reading and 1 s of margin."

  validation {
    condition     = var.timeout >= 10 && var.timeout < 60
    error_message = "timeout must be between 10 and 59 seconds."
  }
}

variable "invoke_timeout" {
  type        = number
  default     = 8
  description = "Seconds one InvokeEndpoint attempt may wait for the answer (botocore read timeout)."

  validation {
    condition     = var.invoke_timeout >= 1 && var.invoke_timeout <= 60
    error_message = "invoke_timeout must be between 1 and 60 seconds (InvokeEndpoint's own limit)."
  }
}

variable "invoke_attempts" {
  type        = number
  default     = 2
  description = "InvokeEndpoint attempts in all, the first included (botocore total_max_attempts)."

  validation {
    condition     = var.invoke_attempts >= 1 && var.invoke_attempts <= 5 && floor(var.invoke_attempts) == var.invoke_attempts
    error_message = "invoke_attempts must be a whole number from 1 to 5."
  }
}

variable "max_image_bytes" {
  type        = number
  default     = 4500000
  description = "Largest image the function accepts: 4.5 MB fits a real-time endpoint's 6 MB request once base64-encoded; a serverless endpoint's 4 MB needs 2900000."

  validation {
    condition     = var.max_image_bytes >= 1024 && var.max_image_bytes <= 4500000 && floor(var.max_image_bytes) == var.max_image_bytes
    error_message = "max_image_bytes must be a whole number from 1024 to 4500000 (InvokeEndpoint's 6 MB body, base64-encoded)."
  }
}

variable "memory_size" {
  type        = number
  default     = 256
  description = "Function memory in MB."

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "reserved_concurrency" {
  type        = number
  default     = 5
  description = "Reserved concurrent executions: the most the function can run at once."

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1."
  }
}

variable "provisioned_concurrency" {
  type        = number
  default     = 2
  description = "Pre-initialised environments on the live alias; 0 disables them."

  validation {
    condition     = var.provisioned_concurrency >= 0
    error_message = "provisioned_concurrency must be >= 0."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 365
  description = "Days the function's logs are kept."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for the log group and for reading encrypted input; null for none."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every taggable resource."
}

variable "metric_namespace" {
  type        = string
  default     = null
  description = "CloudWatch namespace of the function's serving metrics (Requests, Latency and TopConfidence by FunctionName and Outcome, written in its log lines in Embedded Metric Format); null: none."

  validation {
    condition     = var.metric_namespace == null || (can(regex("^[0-9A-Za-z.\\-_/#:]{1,255}$", var.metric_namespace)) && !startswith(coalesce(var.metric_namespace, "-"), "AWS/"))
    error_message = "metric_namespace must be 1-255 letters, digits or . - _ / # : and must not start with AWS/."
  }
}
