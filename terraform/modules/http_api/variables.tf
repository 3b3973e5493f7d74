variable "name" {
  type        = string
  description = "Name of the HTTP API; also of its access log group."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores."
  }
}

variable "function_name" {
  type        = string
  description = "The invoker Lambda's name."

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name: 1-64 letters, digits, hyphens or underscores."
  }
}

variable "function_alias_arn" {
  type        = string
  description = "ARN of the Lambda alias the route invokes (the live alias)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[a-zA-Z0-9_-]+:[a-zA-Z0-9_-]+$", var.function_alias_arn))
    error_message = "function_alias_arn must be a Lambda alias ARN (function:NAME:ALIAS)."
  }
}

variable "function_timeout" {
  type        = number
  description = "The function's timeout in seconds: it must end before the integration's 30 s."

  validation {
    condition     = var.function_timeout >= 1 && var.function_timeout < 30
    error_message = "function_timeout must be under 30 seconds: an HTTP API integration waits 30 s at most (API Gateway quotas), so a longer function would answer into the void."
  }
}

variable "throttling" {
  type = object({
    rate_limit  = optional(number, 5)
    burst_limit = optional(number, 10)
  })
  default     = {}
  description = "Requests per second (steady) and burst allowed on POST /classify, for every caller together."

  validation {
    condition     = var.throttling.rate_limit > 0 && var.throttling.rate_limit <= 10000 && var.throttling.burst_limit >= 1 && var.throttling.burst_limit <= 5000 && floor(var.throttling.burst_limit) == var.throttling.burst_limit
    error_message = "throttling needs 0 < rate_limit <= 10000 and a whole burst_limit from 1 to 5000 (the account-level HTTP API limits)."
  }
}

variable "cors_allow_origins" {
  type        = list(string)
  default     = []
  description = "Origins (scheme://host[:port]) whose pages may call the API from a browser; empty sends no CORS headers."

  validation {
    condition     = alltrue([for origin in var.cors_allow_origins : can(regex("^https?://[a-z0-9.-]+(:[0-9]{1,5})?$", origin))])
    error_message = "cors_allow_origins entries must be origins like https://app.example.com, never \"*\" or a path."
  }
}

variable "authorization" {
  type = object({
    type     = optional(string, "none")
    issuer   = optional(string)
    audience = optional(list(string), [])
  })
  default     = {}
  description = "none (anyone, throttled: for demos) or jwt (a bearer token from issuer, e.g. a Cognito user pool, for one of audience)."

  validation {
    condition     = contains(["none", "jwt"], var.authorization.type)
    error_message = "authorization.type must be none or jwt."
  }

  validation {
    condition     = var.authorization.type != "jwt" || (can(regex("^https://", coalesce(var.authorization.issuer, "-"))) && length(var.authorization.audience) > 0)
    error_message = "jwt authorization needs an https issuer and at least one audience."
  }
}

variable "status_route" {
  type        = bool
  default     = false
  description = "Also route GET /classify/{id} to the function: the status of a request an asynchronous endpoint queued (the 202 answer's inference_id)."
}

variable "log_retention_days" {
  type        = number
  default     = 365
  description = "Days the access logs are kept."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "KMS key for the access log group; null for CloudWatch's own encryption."

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
