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
  default     = null
  description = "S3 URL of the model.tar.gz to serve (built by ml.package); or set model_package_arn instead."

  validation {
    condition     = var.model_data_url == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\\.tar\\.gz$", var.model_data_url))
    error_message = "model_data_url must be an s3://bucket/key URL of a .tar.gz file."
  }
}

variable "model_package_arn" {
  type        = string
  default     = null
  description = "An approved version of the model registry to serve (its model data and container), instead of model_data_url. Its model data must lie under model_artifacts_s3_prefix."

  validation {
    condition     = var.model_package_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[A-Za-z0-9-]+/[0-9]+$", var.model_package_arn))
    error_message = "model_package_arn must be a versioned model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)."
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

variable "current_instance_count" {
  type        = number
  default     = null
  description = "The instance count auto scaling has chosen (DescribeEndpoint's DesiredInstanceCount, which make deploy reads). A new endpoint configuration starts its fleet at this size, kept within min and max capacity, instead of min_capacity; changing it alone changes nothing. null: min_capacity."

  validation {
    condition     = var.current_instance_count == null || try(var.current_instance_count >= 0 && floor(var.current_instance_count) == var.current_instance_count, false)
    error_message = "current_instance_count must be a whole number of 0 or more (an asynchronous endpoint may have scaled to zero), or null."
  }
}

variable "serverless" {
  type = object({
    memory_size_in_mb = optional(number, 3072)
    max_concurrency   = optional(number, 5)
  })
  default     = null
  description = "Serve on SageMaker Serverless Inference with this memory and concurrency instead of instances; null serves on instances with auto scaling. Switching between the two replaces the endpoint (SageMaker cannot convert instances to serverless)."

  validation {
    condition     = var.serverless == null || contains([1024, 2048, 3072, 4096, 5120, 6144], try(var.serverless.memory_size_in_mb, 0))
    error_message = "serverless.memory_size_in_mb must be 1024, 2048, 3072, 4096, 5120 or 6144 (ProductionVariantServerlessConfig)."
  }

  validation {
    condition     = var.serverless == null || try(var.serverless.max_concurrency >= 1 && var.serverless.max_concurrency <= 200 && floor(var.serverless.max_concurrency) == var.serverless.max_concurrency, false)
    error_message = "serverless.max_concurrency must be a whole number from 1 to 200 (ProductionVariantServerlessConfig)."
  }
}

variable "deployment" {
  type = object({
    policy                   = optional(string, "blue_green")
    traffic                  = optional(string, "all_at_once")
    step_instances           = optional(number, 1)
    wait_seconds             = optional(number, 300)
    termination_wait_seconds = optional(number, 120)
    max_execution_seconds    = optional(number, 3600)
  })
  default     = {}
  description = "How a new model reaches traffic: blue_green (a new fleet; traffic all_at_once, canary: step_instances first, or linear: step_instances at a time) or rolling (step_instances replaced at a time), waiting wait_seconds after each step while the rollback alarms watch, and keeping the old fleet termination_wait_seconds more (blue_green)."

  validation {
    condition     = contains(["blue_green", "rolling"], var.deployment.policy)
    error_message = "deployment.policy must be blue_green or rolling."
  }

  validation {
    condition     = contains(["all_at_once", "canary", "linear"], var.deployment.traffic)
    error_message = "deployment.traffic must be all_at_once, canary or linear."
  }

  validation {
    condition     = var.deployment.step_instances >= 1 && floor(var.deployment.step_instances) == var.deployment.step_instances
    error_message = "deployment.step_instances must be a whole number of at least 1 (CapacitySize)."
  }

  validation {
    condition     = var.deployment.wait_seconds >= 0 && var.deployment.wait_seconds <= 3600 && var.deployment.termination_wait_seconds >= 0 && var.deployment.termination_wait_seconds <= 3600
    error_message = "deployment.wait_seconds and termination_wait_seconds must be 0 to 3600 (TrafficRoutingConfig, BlueGreenUpdatePolicy)."
  }

  validation {
    condition     = var.deployment.max_execution_seconds >= 600 && var.deployment.max_execution_seconds <= 14400
    error_message = "deployment.max_execution_seconds must be 600 to 14400 (the provider's range within the API's)."
  }
}

variable "rollback_alarms" {
  type = object({
    errors_5xx_per_minute = optional(number, 1)
    p99_latency_ms        = optional(number, 2000)
    model_faults          = optional(number, 1)
  })
  default     = {}
  description = "Thresholds of the alarms that roll a deployment back while it runs: server errors per minute, p99 model latency over two minutes, and the inference handler's own faults per minute (from its log)."

  validation {
    condition     = var.rollback_alarms.errors_5xx_per_minute >= 1 && var.rollback_alarms.p99_latency_ms > 0 && var.rollback_alarms.model_faults >= 1
    error_message = "rollback_alarms thresholds must be positive (errors and faults at least 1)."
  }
}

variable "async_inference" {
  type = object({
    input_s3_uri                            = string
    output_s3_uri                           = string
    failure_s3_uri                          = string
    topics_kms_key_arn                      = string
    max_concurrent_invocations_per_instance = optional(number)
  })
  default     = null
  description = "Serve asynchronously (SageMaker Asynchronous Inference) instead of answering in the request: callers put their input under input_s3_uri and call InvokeEndpointAsync; answers land under output_s3_uri as <inference id>.out, failures under failure_s3_uri as <inference id>-error.out, and the success and error topics this module creates (encrypted with topics_kms_key_arn, a customer managed key) are told. max_concurrent_invocations_per_instance: 1-1000, null lets SageMaker choose. Auto scaling follows the backlog and can go to zero instances (autoscaling.min_capacity = 0). null: real-time (or serverless)."

  validation {
    condition     = var.async_inference == null || alltrue([for uri in try([var.async_inference.input_s3_uri, var.async_inference.output_s3_uri, var.async_inference.failure_s3_uri], [""]) : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?$", uri))])
    error_message = "async_inference input_s3_uri, output_s3_uri and failure_s3_uri must be s3://bucket/prefix/ URLs ending with a slash."
  }

  validation {
    condition = var.async_inference == null || try(
      length(distinct([var.async_inference.input_s3_uri, var.async_inference.output_s3_uri, var.async_inference.failure_s3_uri])) == 3
      && alltrue([for pair in setproduct([var.async_inference.input_s3_uri, var.async_inference.output_s3_uri, var.async_inference.failure_s3_uri], [var.async_inference.input_s3_uri, var.async_inference.output_s3_uri, var.async_inference.failure_s3_uri]) : pair[0] == pair[1] || !startswith(pair[0], pair[1])]),
    false)
    error_message = "async_inference input_s3_uri, output_s3_uri and failure_s3_uri must not overlap: answers written under the input prefix could be read back as requests, and the role's permissions per prefix would mix."
  }

  validation {
    condition     = var.async_inference == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", try(var.async_inference.topics_kms_key_arn, "")))
    error_message = "async_inference.topics_kms_key_arn must be the ARN of a customer managed KMS key (arn:aws:kms:<region>:<account>:key/<id>): SNS topics under the AWS managed alias/aws/sns key cannot be used by another service's role policy."
  }

  validation {
    condition     = var.async_inference == null || try(var.async_inference.max_concurrent_invocations_per_instance == null, false) || try((var.async_inference.max_concurrent_invocations_per_instance >= 1 && var.async_inference.max_concurrent_invocations_per_instance <= 1000 && floor(var.async_inference.max_concurrent_invocations_per_instance) == var.async_inference.max_concurrent_invocations_per_instance), false)
    error_message = "async_inference.max_concurrent_invocations_per_instance must be a whole number from 1 to 1000 (AsyncInferenceClientConfig), or null."
  }
}

variable "shadow" {
  type = object({
    model_package_arn  = string
    instance_count     = optional(number, 1)
    traffic_percentage = optional(number, 100)
  })
  default     = null
  description = "A candidate, an Approved version of the model registry, answering a copy of traffic_percentage % of the live requests as the shadow variant \"Shadow\" on instance_count instances of instance_type: its answers are captured (with data_capture) and never returned to callers (python -m mlops shadow start sets it). Real-time endpoints only. null: no shadow."

  validation {
    condition     = var.shadow == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[A-Za-z0-9-]+/[0-9]+$", try(var.shadow.model_package_arn, "")))
    error_message = "shadow.model_package_arn must be a versioned model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)."
  }

  validation {
    condition     = var.shadow == null || try(var.shadow.instance_count >= 1 && floor(var.shadow.instance_count) == var.shadow.instance_count, false)
    error_message = "shadow.instance_count must be a whole number of at least 1."
  }

  validation {
    condition     = var.shadow == null || try(var.shadow.traffic_percentage >= 1 && var.shadow.traffic_percentage <= 100 && floor(var.shadow.traffic_percentage) == var.shadow.traffic_percentage, false)
    error_message = "shadow.traffic_percentage must be a whole number from 1 to 100."
  }
}

variable "data_capture" {
  type = object({
    destination_s3_uri  = string
    sampling_percentage = optional(number, 20)
  })
  default     = null
  description = "Capture this share of requests and responses (JSON as text, images base64) to destination_s3_uri; null captures nothing. Not available on serverless endpoints."

  validation {
    condition     = var.data_capture == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/(.+/)?$", var.data_capture.destination_s3_uri))
    error_message = "data_capture.destination_s3_uri must be an s3://bucket/prefix/ URL ending with a slash."
  }

  validation {
    condition     = var.data_capture == null || try(var.data_capture.sampling_percentage >= 0 && var.data_capture.sampling_percentage <= 100 && floor(var.data_capture.sampling_percentage) == var.data_capture.sampling_percentage, false)
    error_message = "data_capture.sampling_percentage must be a whole number from 0 to 100 (DataCaptureConfig)."
  }
}

variable "off_hours" {
  type = object({
    scale_down = string
    scale_up   = string
    timezone   = optional(string, "UTC")
  })
  default     = null
  description = "Lower the fleet to one instance outside working hours: at scale_down min and max capacity become 1, at scale_up they return to autoscaling's. Cron expressions of Application Auto Scaling, e.g. cron(0 19 ? * MON-FRI *). null: always the same range."

  validation {
    condition     = var.off_hours == null || alltrue([for schedule in try([var.off_hours.scale_down, var.off_hours.scale_up], [""]) : can(regex("^cron\\(\\S+ \\S+ \\S+ \\S+ \\S+ \\S+\\)$", schedule))])
    error_message = "off_hours.scale_down and scale_up must be cron(minutes hours day-of-month month day-of-week year) expressions."
  }
}

variable "log_retention_days" {
  type        = number
  default     = 365
  description = "Days the endpoint's container logs are kept."

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... 3653)."
  }
}

variable "container_environment" {
  type        = map(string)
  default     = {}
  description = "Extra environment variables for the serving container. The model server's workers and threads are set by model_server, not here."

  validation {
    condition     = alltrue([for key in keys(var.container_environment) : !contains(["SAGEMAKER_MODEL_SERVER_WORKERS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"], key) && !startswith(key, "SAGEMAKER_TS_")])
    error_message = "container_environment must not set the model server's workers or threads (SAGEMAKER_MODEL_SERVER_WORKERS, OMP_NUM_THREADS, MKL_NUM_THREADS, SAGEMAKER_TS_*: any SAGEMAKER_TS_ variable makes the toolkit start SAGEMAKER_TS_MIN_WORKERS, default 1, and ignore SAGEMAKER_MODEL_SERVER_WORKERS): use model_server."
  }
}

variable "model_server" {
  type = object({
    workers            = optional(number)
    threads_per_worker = optional(number)
  })
  default     = {}
  description = "TorchServe workers and torch threads per worker (SAGEMAKER_MODEL_SERVER_WORKERS, OMP_NUM_THREADS). null: chosen for instance_type (one worker per vCPU with one thread each; on a GPU type one worker per GPU). On a CPU type workers x threads_per_worker must be the instance's vCPUs (more collapses throughput, fewer leaves cores idle); on a GPU type it may not exceed them. A serverless endpoint runs one worker."

  validation {
    condition     = alltrue([for value in [var.model_server.workers, var.model_server.threads_per_worker] : value == null || try(value >= 1 && floor(value) == value, false)])
    error_message = "model_server.workers and model_server.threads_per_worker must be whole numbers of 1 or more (or null: chosen for the instance type)."
  }
}

variable "autoscaling" {
  type = object({
    min_capacity             = optional(number, 1)
    max_capacity             = optional(number, 3)
    invocations_per_instance = optional(number, 70)
    backlog_per_instance     = optional(number, 5)
    scale_in_cooldown        = optional(number, 30)
    scale_out_cooldown       = optional(number, 30)
  })
  default     = {}
  description = "Instance bounds and cooldowns (s). Real-time: target tracking on SageMakerVariantInvocationsPerInstance (invocations per instance per minute). Asynchronous: target tracking on ApproximateBacklogSizePerInstance (queued requests per instance), min_capacity may be 0, and a step policy adds the first instance when requests wait with none."

  validation {
    condition     = var.autoscaling.min_capacity >= 0 && var.autoscaling.min_capacity <= var.autoscaling.max_capacity && var.autoscaling.max_capacity >= 1
    error_message = "autoscaling needs 0 <= min_capacity <= max_capacity and max_capacity >= 1 (min_capacity 0 on asynchronous endpoints only)."
  }

  validation {
    condition     = var.autoscaling.backlog_per_instance > 0
    error_message = "autoscaling.backlog_per_instance must be positive."
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
