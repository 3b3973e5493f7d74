# No validation here: each value reaches a module (or the provider) that validates it.

variable "name" {
  type        = string
  default     = "dog-breeds"
  description = "Prefix of every resource name: the endpoint NAME, the function NAME-invoker, the API NAME-api."
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy to."
}

variable "model_data_url" {
  type        = string
  description = "The model.tar.gz to serve (s3://BUCKET/models/RUN/model.tar.gz); the endpoint's role may read it and nothing else."
}

variable "memory_size_in_mb" {
  type        = number
  default     = 3072
  description = "Memory of the serverless endpoint: 1024 to 6144 MB in steps of 1024 (it also sets the vCPUs)."
}

variable "max_concurrency" {
  type        = number
  default     = 5
  description = "Requests the serverless endpoint serves at once; more are throttled."
}

variable "lambda_package_path" {
  type        = string
  default     = "../../../build/lambda.zip"
  description = "The invoker's zip, built by `make package-lambda` at the repository root."
}

variable "lambda_provisioned_concurrency" {
  type        = number
  default     = 0
  description = "Pre-initialised environments of the invoker: 0, as a warm function in front of an endpoint that starts cold saves little and costs while idle."
}

variable "cors_allow_origins" {
  type        = list(string)
  default     = []
  description = "Origins (scheme://host[:port]) whose pages may call the API from a browser; empty sends no CORS headers."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every resource, besides Project and ManagedBy."
}
