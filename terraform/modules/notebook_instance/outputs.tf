output "notebook_name" {
  description = "Name of the notebook instance."
  value       = aws_sagemaker_notebook_instance.this.name
}

output "notebook_arn" {
  description = "ARN of the notebook instance."
  value       = aws_sagemaker_notebook_instance.this.arn
}

output "notebook_console_url" {
  description = "Where to open the notebook (JupyterLab) in the SageMaker console."
  value       = "https://${local.region}.console.aws.amazon.com/sagemaker/home?region=${local.region}#/notebook-instances/${aws_sagemaker_notebook_instance.this.name}"
}

output "role_arn" {
  description = "The notebook's execution role."
  value       = aws_iam_role.this.arn
}

output "lifecycle_config_name" {
  description = "The lifecycle configuration that installs the idle stop."
  value       = aws_sagemaker_notebook_instance_lifecycle_configuration.this.name
}
