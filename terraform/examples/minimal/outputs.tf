output "bucket_name" {
  description = "The data bucket: upload the dataset under data/, models land under models/."
  value       = module.data_bucket.bucket_name
}

output "sagemaker_training_role_arn" {
  description = "The role to start SageMaker training jobs with."
  value       = module.sagemaker_training_role.role_arn
}

output "training_image_uri" {
  description = "The PyTorch training image the role may pull."
  value       = data.aws_sagemaker_prebuilt_ecr_image.pytorch_training.registry_path
}

output "endpoint_name" {
  description = "The endpoint serving model_data_url (InvokeEndpoint), or null without a model."
  value       = one(module.sagemaker_endpoint[*].endpoint_name)
}
