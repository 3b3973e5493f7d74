# No validation here: each value reaches a module (or the provider) that validates it.

variable "name" {
  type        = string
  default     = "dog-breeds"
  description = "Prefix of every resource name: the bucket is NAME-ACCOUNT_ID, the endpoint NAME."
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "AWS region to deploy to."
}

variable "training_image_tag" {
  type        = string
  default     = "2.6.0-cpu-py312"
  description = "Tag of the AWS PyTorch training container (training_image_uri); the role may pull any tag of its repository."
}

variable "model_data_url" {
  type        = string
  default     = null
  description = "The model.tar.gz to serve (s3://BUCKET/models/RUN/model.tar.gz); null creates no endpoint yet."
}

variable "endpoint_instance_type" {
  type        = string
  default     = "ml.m5.large"
  description = "Instance type of the endpoint (auto scaling 1 to 3 instances)."
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for every resource, besides Project and ManagedBy."
}
