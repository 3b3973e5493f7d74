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

output "mode" {
  description = "realtime (instances with auto scaling), serverless or async."
  value       = terraform_data.serving_mode.input # known at plan time, for count and for_each
}

output "rollback_alarm_names" {
  description = "Alarms that roll a running deployment back."
  value       = [for alarm in aws_cloudwatch_metric_alarm.rollback : alarm.alarm_name]
}

output "log_group_name" {
  description = "Log group of the serving container."
  value       = aws_cloudwatch_log_group.endpoint.name
}

output "served_model" {
  description = "What this configuration serves: the model.tar.gz URL, or the model package ARN (what mlops verify expects to find)."
  value       = coalesce(var.model_package_arn, var.model_data_url)
}

output "data_capture_s3_uri" {
  description = "Where sampled requests and responses are captured, or null."
  value       = try(var.data_capture.destination_s3_uri, null)
}

output "rollback_alarm_arns" {
  description = "ARNs of the rollback alarms (for a dashboard)."
  # From names, so that a dashboard listing them is known at plan time.
  value = [for key in keys(local.rollback_alarms) : "arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alarm:${aws_cloudwatch_metric_alarm.rollback[key].alarm_name}"]
}

output "async_inference" {
  description = "Where an asynchronous endpoint's requests go and its answers and failures land, and its outcome topics; null on other endpoints."
  value = local.asynchronous ? {
    input_s3_uri      = var.async_inference.input_s3_uri
    output_s3_uri     = var.async_inference.output_s3_uri
    failure_s3_uri    = var.async_inference.failure_s3_uri
    success_topic_arn = aws_sns_topic.async["success"].arn
    error_topic_arn   = aws_sns_topic.async["error"].arn
  } : null
}

output "shadow_variant_name" {
  description = "Name of the shadow variant (its captures are under <capture prefix><endpoint>/<this>/), or null without one."
  value       = var.shadow == null ? null : local.shadow_variant_name
}

output "shadow_model" {
  description = "The model package the shadow variant serves, or null."
  value       = try(var.shadow.model_package_arn, null)
}

output "data_capture_percentage" {
  description = "The share of requests captured (0-100), or null without capture."
  value       = try(var.data_capture.sampling_percentage, null)
}
