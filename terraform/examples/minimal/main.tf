# The least a team needs to train and serve: the data bucket, the role SageMaker training jobs
# run with, and, once a model exists, an endpoint serving it.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ Project = var.name, ManagedBy = "terraform" }, var.tags)
  }
}

data "aws_caller_identity" "current" {}

# The training image's registry differs by region.
data "aws_sagemaker_prebuilt_ecr_image" "pytorch_training" {
  repository_name = "pytorch-training"
  image_tag       = var.training_image_tag
}

module "data_bucket" {
  source = "../../modules/data_bucket"

  bucket_name = "${var.name}-${data.aws_caller_identity.current.account_id}"
  tags        = var.tags
}

module "sagemaker_training_role" {
  source = "../../modules/sagemaker_training_role"

  name              = var.name
  bucket_name       = module.data_bucket.bucket_name
  prefixes          = module.data_bucket.prefixes
  image_registry_id = data.aws_sagemaker_prebuilt_ecr_image.pytorch_training.registry_id
  tags              = var.tags
}

# The endpoint's role may read exactly model_data_url: a new model changes its policy too.
module "sagemaker_endpoint" {
  source = "../../modules/sagemaker_endpoint"
  count  = var.model_data_url == null ? 0 : 1

  name           = var.name
  model_data_url = var.model_data_url
  instance_type  = var.endpoint_instance_type
  tags           = var.tags
}
