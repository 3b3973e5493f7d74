output "endpoint_name" {
  description = "Name of the endpoint."
  value       = aws_sagemaker_endpoint.this.name
}

output "endpoint_arn" {
  description = "ARN of the endpoint (what InvokeEndpoint permissions are scoped to)."
  value       = aws_sagemaker_endpoint.this.arn
}

output "endpoint_config_name" {
  description = "Name of the endpoint configuration in use."
  value       = aws_sagemaker_endpoint_configuration.this.name
}

output "model_name" {
  description = "Name of the SageMaker model."
  value       = aws_sagemaker_model.this.name
}

output "variant_name" {
  description = "Name of the production variant."
  value       = local.variant_name
}

output "execution_role_arn" {
  description = "ARN of the role the endpoint runs with."
  value       = aws_iam_role.execution.arn
}

output "image_uri" {
  description = "Serving container image."
  value       = local.image_uri
}
