# A model on SageMaker Serverless Inference behind the invoker Lambda and an HTTP API:
# POST an image to classify_url. Nothing runs (or costs) while no request comes.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name, ManagedBy = "terraform" }, var.tags)
  }
}

module "sagemaker_endpoint" {
  source = "../../modules/sagemaker_endpoint"

  name              = var.name
  model_data_url    = var.model_data_url
  serverless        = { memory_size_in_mb = var.memory_size_in_mb, max_concurrency = var.max_concurrency }
  network_isolation = false # serverless endpoints cannot be isolated
  tags              = var.tags
}

module "lambda_invoker" {
  source = "../../modules/lambda_invoker"

  name          = "${var.name}-invoker"
  package_path  = var.lambda_package_path
  endpoint_name = module.sagemaker_endpoint.endpoint_name
  endpoint_arn  = module.sagemaker_endpoint.endpoint_arn
  # A serverless endpoint may start cold and takes 4 MB requests: one long attempt, smaller
  # images (base64 adds a third).
  invoke_timeout          = 19
  invoke_attempts         = 1
  max_image_bytes         = 2900000
  provisioned_concurrency = var.lambda_provisioned_concurrency
  tags                    = var.tags
}

module "http_api" {
  source = "../../modules/http_api"

  name               = "${var.name}-api"
  function_name      = module.lambda_invoker.function_name
  function_alias_arn = module.lambda_invoker.alias_arn
  function_timeout   = module.lambda_invoker.timeout
  cors_allow_origins = var.cors_allow_origins
  tags               = var.tags
}
