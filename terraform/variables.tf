variable "name" {
  type        = string
  default     = "dog-breeds"
  description = "Name of the deployment: prefix of every resource name."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy to."

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every resource (added to the provider's default tags)."
}

variable "bucket_name" {
  type        = string
  default     = null
  description = "Name of the data bucket; null uses <name>-<account id>."
}

variable "force_destroy_bucket" {
  type        = bool
  default     = false
  description = "Let terraform destroy delete the bucket with its data, models and checkpoints."
}

variable "kms_key_arn" {
  type        = string
  default     = null
  description = "Customer managed KMS key for the bucket, volumes, logs and endpoint; null uses AWS managed encryption."
}

variable "code_bundle_path" {
  type        = string
  default     = "../build/code.tar.gz"
  description = "Training code bundle built by `make package-code`, uploaded to code/code.tar.gz."
}

variable "create_training_instance" {
  type        = bool
  default     = true
  description = "Launch the EC2 instance that trains at boot."
}

variable "training_instance_type" {
  type        = string
  default     = "t2.xlarge"
  description = "EC2 instance type of the training instance."
}

variable "ami_id" {
  type        = string
  default     = null
  description = "AMI of the training instance; null uses the latest Deep Learning AMI (PyTorch)."
}

variable "subnet_id" {
  type        = string
  default     = null
  description = "Subnet of the training instance; null uses the default VPC."
}

variable "vpc_id" {
  type        = string
  default     = null
  description = "VPC of subnet_id; null uses the default VPC."
}

variable "training_volume_size" {
  type        = number
  default     = 100
  description = "Root volume of the training instance in GiB."
}

variable "training_run_id" {
  type        = string
  default     = "ec2-initial"
  description = "Run id of the EC2 training; its model lands in models/<run id>/model.tar.gz."
}

variable "training_hyperparameters" {
  type        = map(string)
  default     = { arch = "resnet50", epochs = "5", "batch-size" = "32", lr = "0.001" }
  description = "ml/train.py flags for the EC2 run (name without -- to value)."
}

variable "training_package_int8" {
  type        = bool
  default     = true
  description = "The EC2 run adds an int8 model to model.tar.gz, which x86 CPU endpoints serve (about 2x the throughput); left out when it agrees with fp32 on less than 99% of data/test. GPU and Graviton endpoints serve fp32 from the same archive."
}

variable "stop_after_training" {
  type        = bool
  default     = true
  description = "Stop the training instance once its model is uploaded."
}

variable "training_image_tag" {
  type        = string
  default     = "2.6.0-cpu-py312"
  description = "Tag of the AWS PyTorch training container that SageMaker jobs run (a -gpu- tag for GPU instances)."

  validation {
    condition     = can(regex("^[0-9][0-9.]*-(cpu|gpu)-py[0-9]+", var.training_image_tag))
    error_message = "training_image_tag must look like 2.6.0-cpu-py312 or 2.6.0-gpu-py312."
  }

  validation {
    condition     = contains(keys(local.runtimes.training_image_tags), var.training_image_tag)
    error_message = "training_image_tag has no parity environment in terraform/runtimes.json (the tests that prove the code runs on that container's Python and torch): add one there (see its \"about\"), or use a tag it lists."
  }
}

variable "model_data_url" {
  type        = string
  default     = null
  description = "s3:// URL of the model.tar.gz to serve; null (and no model_package_arn) deploys no endpoint, Lambda or alarms yet."
}

variable "model_package_arn" {
  type        = string
  default     = null
  description = "An Approved version of the model registry to serve instead of model_data_url (python -m mlops deploy --model-package writes it); its model data must be under models/."

  validation {
    condition     = var.model_package_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[a-z0-9-]+/[0-9]+$", var.model_package_arn))
    error_message = "model_package_arn must be a version of the model registry (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)."
  }
}

variable "endpoint_instance_type" {
  type        = string
  default     = "ml.m5.large"
  description = "Instance type of the SageMaker endpoint: an x86 CPU type for the default image (a Graviton or GPU type is refused at plan time, naming the image it needs)."

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.endpoint_instance_type))
    error_message = "endpoint_instance_type must be a SageMaker instance type such as ml.m5.large."
  }
}

variable "endpoint_model_server" {
  type = object({
    workers            = optional(number)
    threads_per_worker = optional(number)
  })
  default     = {}
  description = "TorchServe workers and torch threads per worker on each endpoint instance; null: chosen for endpoint_instance_type (one worker per vCPU, one thread each). On a CPU type workers x threads_per_worker must be its vCPUs (on a GPU type at most)."

  validation {
    condition     = alltrue([for value in [var.endpoint_model_server.workers, var.endpoint_model_server.threads_per_worker] : value == null || try(value >= 1 && floor(value) == value, false)])
    error_message = "endpoint_model_server.workers and threads_per_worker must be whole numbers of 1 or more (or null: chosen for the instance type)."
  }
}

variable "inference_image_tag" {
  type        = string
  default     = "2.6.0-cpu-py312"
  description = "Tag of the AWS PyTorch inference container (one terraform/runtimes.json has a parity environment for)."

  validation {
    condition     = contains(keys(local.runtimes.inference_image_tags), var.inference_image_tag)
    error_message = "inference_image_tag has no parity environment in terraform/runtimes.json (the tests that prove model.tar.gz loads in that container): add one there (see its \"about\"), or use a tag it lists."
  }
}

variable "endpoint_autoscaling" {
  type = object({
    min_capacity             = optional(number)
    max_capacity             = optional(number, 3)
    invocations_per_instance = optional(number, 70)
    backlog_per_instance     = optional(number, 5)
    scale_in_cooldown        = optional(number, 30)
    scale_out_cooldown       = optional(number, 30)
  })
  default     = {}
  description = "Endpoint auto scaling: instance bounds (min_capacity defaults to 1, and to 0 for endpoint_mode = async, which scales to zero when its queue is empty), the target invocations per instance per minute (realtime) or queued requests per instance (async), cooldowns (s)."
}

variable "endpoint_mode" {
  type        = string
  default     = "realtime"
  description = "realtime: instances with auto scaling; serverless: SageMaker Serverless Inference (pay per request, cold starts); async: SageMaker Asynchronous Inference (requests queued through s3://BUCKET/async/, answered into S3, the Lambda answers 202 and GET /classify/{id} polls; instances scale to zero when idle). Switching replaces the endpoint."

  validation {
    condition     = contains(["realtime", "serverless", "async"], var.endpoint_mode)
    error_message = "endpoint_mode must be realtime, serverless or async."
  }
}

variable "endpoint_async" {
  type = object({
    max_concurrent_invocations_per_instance = optional(number)
  })
  default     = {}
  description = "The asynchronous endpoint's requests per instance at a time (1-1000; null lets SageMaker choose) (endpoint_mode = async)."
}

variable "endpoint_serverless" {
  type = object({
    memory_size_in_mb = optional(number, 3072)
    max_concurrency   = optional(number, 5)
  })
  default     = {}
  description = "Memory (1024-6144 MB, in steps of 1024) and concurrency (1-200) of the serverless endpoint (endpoint_mode = serverless)."
}

variable "endpoint_current_instance_count" {
  type        = number
  default     = null
  description = "The instance count auto scaling has chosen, read before an apply that changes the model (make deploy reads it): the new fleet starts at that size instead of min_capacity."
}

variable "endpoint_deployment" {
  type = object({
    policy                   = optional(string, "blue_green")
    traffic                  = optional(string, "all_at_once")
    step_instances           = optional(number, 1)
    wait_seconds             = optional(number, 300)
    termination_wait_seconds = optional(number, 120)
    max_execution_seconds    = optional(number, 3600)
  })
  default     = {}
  description = "Deployment guardrails of the endpoint: blue_green (all_at_once, canary or linear traffic) or rolling, bake and wait times (terraform/modules/sagemaker_endpoint/README.md)."
}

variable "endpoint_rollback_alarms" {
  type = object({
    errors_5xx_per_minute = optional(number, 1)
    p99_latency_ms        = optional(number, 2000)
    model_faults          = optional(number, 1)
  })
  default     = {}
  description = "Thresholds of the alarms that roll a running deployment back."
}

variable "endpoint_shadow_model_package_arn" {
  type        = string
  default     = null
  description = "A candidate (an Approved registry version) answering a copy of live requests as the endpoint's shadow variant, its answers captured, never returned (python -m mlops shadow start writes it, stop and promote remove it). While it runs, data capture takes every request and both variants' answers. Real-time endpoints only. null: no shadow."

  validation {
    condition     = var.endpoint_shadow_model_package_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/[a-z0-9-]+/[0-9]+$", coalesce(var.endpoint_shadow_model_package_arn, "-")))
    error_message = "endpoint_shadow_model_package_arn must be a version of the model registry (arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)."
  }

  validation {
    condition     = var.endpoint_shadow_model_package_arn == null || var.endpoint_data_capture.enabled != false
    error_message = "endpoint_shadow_model_package_arn needs data capture (endpoint_data_capture.enabled is false): a shadow's answers are only seen in the captures."
  }
}

variable "endpoint_shadow" {
  type = object({
    instance_count     = optional(number, 1)
    traffic_percentage = optional(number, 100)
  })
  default     = {}
  description = "The shadow variant's instances (of endpoint_instance_type) and the share of live requests copied to it, while endpoint_shadow_model_package_arn is set."
}

variable "endpoint_data_capture" {
  type = object({
    enabled             = optional(bool)
    sampling_percentage = optional(number, 20)
    expiration_days     = optional(number, 30)
  })
  default     = {}
  description = "Capture of requests and responses to s3://BUCKET/capture/: enabled (default: on for realtime; off for serverless, which cannot capture, and for async, whose requests and answers are kept under async/), the share sampled, and the days captures (and asynchronous requests and answers) are kept."

  validation {
    condition     = var.endpoint_data_capture.expiration_days >= 1 && floor(var.endpoint_data_capture.expiration_days) == var.endpoint_data_capture.expiration_days
    error_message = "endpoint_data_capture.expiration_days must be a whole number of at least 1."
  }
}

variable "model_monitor" {
  type = object({
    enabled                        = optional(bool, true)
    schedule_expression            = optional(string, "rate(1 hour)")
    window_minutes                 = optional(number, 60)
    min_requests                   = optional(number, 20)
    drift_score_threshold          = optional(number, 2)
    low_confidence_share_threshold = optional(number, 0.3)
    alarm_evaluation_periods       = optional(number, 2)
  })
  default     = {}
  nullable    = false
  description = "The monitor of the live model (modules/model_monitor), on wherever requests are captured: how often it runs, the window it measures, and its alarms' thresholds (README: After going live)."
}

variable "endpoint_off_hours" {
  type = object({
    scale_down = string
    scale_up   = string
    timezone   = optional(string, "UTC")
  })
  default     = null
  description = "Scale the endpoint to one instance outside working hours (cron expressions), e.g. { scale_down = \"cron(0 19 ? * MON-FRI *)\", scale_up = \"cron(0 7 ? * MON-FRI *)\", timezone = \"Europe/Berlin\" }; null: off."
}

variable "monthly_budget" {
  type = object({
    limit_usd = number
    emails    = list(string)
  })
  default     = null
  description = "An AWS Budgets monthly cost budget for resources tagged Project = name, e-mailing at 80% forecast and 100% actual; null: none."
}

variable "lambda_package_path" {
  type        = string
  default     = "../build/lambda.zip"
  description = "Lambda zip built by `make package-lambda`."
}

variable "lambda_reserved_concurrency" {
  type        = number
  default     = 5
  description = "Reserved concurrency of the invoker Lambda."
}

variable "lambda_provisioned_concurrency" {
  type        = number
  default     = 2
  description = "Provisioned concurrency on the Lambda's live alias; 0 disables it."
}

variable "lambda_s3_input_prefix" {
  type        = string
  default     = null
  description = "Prefix of the data bucket that s3_uri requests may read (e.g. inference-input/); null disables s3_uri."
}

variable "lambda_url_allowlist" {
  type        = list(string)
  default     = []
  description = "https hosts the Lambda may fetch url requests from; empty disables url input."
}

variable "lambda_cors_allow_origin" {
  type        = string
  default     = ""
  description = "CORS origin of the Lambda's answers; empty sends none."
}

variable "alarm_email" {
  type        = string
  default     = null
  description = "Email that receives alarm notifications; null creates no topic."
}

variable "create_notebook_instance" {
  type        = bool
  default     = false
  description = "Create the team's SageMaker notebook instance (stops itself when idle)."
}

variable "notebook" {
  type = object({
    instance_type           = optional(string, "ml.t2.medium")
    volume_size             = optional(number, 20)
    platform_identifier     = optional(string, "notebook-al2-v3")
    idle_minutes            = optional(number, 60)
    direct_internet_access  = optional(bool, false)
    subnet_id               = optional(string)
    security_group_ids      = optional(list(string), [])
    default_code_repository = optional(string)
  })
  default     = {}
  description = "Settings of the notebook instance (terraform/modules/notebook_instance/README.md); without direct internet access it needs subnet_id and security_group_ids."
}

variable "create_http_api" {
  type        = bool
  default     = false
  description = "Put an HTTP API (POST /classify) in front of the Lambda's live alias."
}

variable "http_api" {
  type = object({
    throttling = optional(object({
      rate_limit  = optional(number, 5)
      burst_limit = optional(number, 10)
    }), {})
    cors_allow_origins = optional(list(string), [])
    authorization = optional(object({
      type     = optional(string, "none")
      issuer   = optional(string)
      audience = optional(list(string), [])
    }), {})
  })
  default     = {}
  description = "Throttling, CORS origins and authorization (none or jwt) of the HTTP API (terraform/modules/http_api/README.md)."
}
