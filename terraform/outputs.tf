output "region" {
  description = "AWS region of the stack (the operator CLI's default region)."
  value       = var.region
}

output "bucket_name" {
  description = "Data bucket (data/, code/, models/, checkpoints/)."
  value       = module.data_bucket.bucket_name
}

output "code_bundle_s3_uri" {
  description = "Where the training code bundle was uploaded."
  value       = "s3://${module.data_bucket.bucket_name}/${aws_s3_object.code_bundle.key}"
}

output "training_instance_id" {
  description = "EC2 training instance, or null when not created."
  value       = one(module.training_instance[*].instance_id)
}

output "training_model_s3_prefix" {
  description = "Where the EC2 run's model.tar.gz will land."
  value       = one(module.training_instance[*].model_s3_prefix)
}

output "training_instance_role_arn" {
  description = "Role of the EC2 training instance, or null."
  value       = one(module.training_instance[*].role_arn)
}

output "sagemaker_training_role_arn" {
  description = "Role for SageMaker training and tuning jobs (python -m mlops)."
  value       = module.sagemaker_training_role.role_arn
}

output "training_image_uri" {
  description = "AWS PyTorch training image for SageMaker jobs (python -m mlops)."
  value       = data.aws_sagemaker_prebuilt_ecr_image.pytorch_training.registry_path
}

output "endpoint_name" {
  description = "SageMaker endpoint name, or null before a model is deployed."
  value       = one(module.sagemaker_endpoint[*].endpoint_name)
}

output "endpoint_arn" {
  description = "SageMaker endpoint ARN, or null."
  value       = one(module.sagemaker_endpoint[*].endpoint_arn)
}

output "endpoint_execution_role_arn" {
  description = "Role the endpoint runs with, or null."
  value       = one(module.sagemaker_endpoint[*].execution_role_arn)
}

output "lambda_function_name" {
  description = "Invoker Lambda name, or null."
  value       = one(module.lambda_invoker[*].function_name)
}

output "lambda_alias_arn" {
  description = "ARN of the Lambda's live alias (invoke this), or null."
  value       = one(module.lambda_invoker[*].alias_arn)
}

output "lambda_role_arn" {
  description = "Role of the invoker Lambda, or null."
  value       = one(module.lambda_invoker[*].role_arn)
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (encrypted with a key CloudWatch may use), or null."
  value       = one(module.monitoring[*].sns_topic_arn)
}

output "alarm_names" {
  description = "CloudWatch alarms watching the endpoint and the Lambda."
  value       = one(module.monitoring[*].alarm_names)
}

output "notebook_name" {
  description = "The team's notebook instance, or null when not created."
  value       = one(module.notebook_instance[*].notebook_name)
}

output "notebook_arn" {
  description = "ARN of the notebook instance, or null."
  value       = one(module.notebook_instance[*].notebook_arn)
}

output "notebook_console_url" {
  description = "Where to open the notebook in the SageMaker console, or null."
  value       = one(module.notebook_instance[*].notebook_console_url)
}

output "classify_url" {
  description = "The HTTP API's POST /classify URL (the web page's ?api=), or null without create_http_api."
  value       = one(module.http_api[*].classify_url)
}

output "http_api_id" {
  description = "ID of the HTTP API, or null without create_http_api. On the emulator, POST /classify answers at EMULATOR_URL/_aws/execute-api/ID/classify."
  value       = one(module.http_api[*].api_id)
}

output "endpoint_config_name" {
  description = "The endpoint configuration Terraform applied (what python -m mlops verify expects the endpoint to be on), or null."
  value       = one(module.sagemaker_endpoint[*].endpoint_config_name)
}

output "endpoint_model" {
  description = "What the endpoint should serve, the model.tar.gz URL or the model package ARN (python -m mlops verify), or null."
  value       = one(module.sagemaker_endpoint[*].served_model)
}

output "model_package_group_name" {
  description = "The model registry's group (python -m mlops register adds versions to it)."
  value       = module.model_registry.group_name
}

output "model_package_group_arn" {
  description = "ARN of the model registry's group."
  value       = module.model_registry.group_arn
}

output "inference_image_uri" {
  description = "The AWS PyTorch inference image the endpoint serves with (registered versions name it)."
  value       = data.aws_sagemaker_prebuilt_ecr_image.pytorch_inference.registry_path
}

output "endpoint_mode" {
  description = "realtime, serverless or async, or null without an endpoint."
  value       = one(module.sagemaker_endpoint[*].mode)
}

output "endpoint_rollback_alarm_names" {
  description = "Alarms that roll a running deployment back (python -m mlops verify names those in ALARM)."
  value       = one(module.sagemaker_endpoint[*].rollback_alarm_names)
}

output "endpoint_data_capture_s3_uri" {
  description = "Where sampled requests and responses are captured, or null."
  value       = one(module.sagemaker_endpoint[*].data_capture_s3_uri)
}

output "dashboard_name" {
  description = "The CloudWatch dashboard of the endpoint and the Lambda, or null."
  value       = one(module.monitoring[*].dashboard_name)
}

output "transform_role_arn" {
  description = "Role batch transform jobs' models run with (python -m mlops transform)."
  value       = module.batch_transform.role_arn
}

output "transform_input_s3_uri" {
  description = "Where batch transform jobs read their photos (python -m mlops transform --input)."
  value       = module.batch_transform.input_s3_uri
}

output "transform_output_s3_uri" {
  description = "Where batch transform jobs write their answers (python -m mlops transform --output)."
  value       = module.batch_transform.output_s3_uri
}

output "http_api_status_url" {
  description = "With endpoint_mode = async and create_http_api: the URL to GET a queued request's status from ({inference_id} from the 202 answer), or null."
  value       = one(module.http_api[*].status_url)
}

output "endpoint_async_inference" {
  description = "An asynchronous endpoint's request, answer and failure locations and its success and error topics (subscribe to be told), or null."
  value       = one(module.sagemaker_endpoint[*].async_inference)
}

output "endpoint_shadow" {
  description = "The shadow variant running beside the live model (its name, the candidate package and where both variants' captures are), or null."
  value = try(module.sagemaker_endpoint[0].shadow_variant_name, null) == null ? null : {
    variant_name       = module.sagemaker_endpoint[0].shadow_variant_name
    model_package_arn  = module.sagemaker_endpoint[0].shadow_model
    production_variant = module.sagemaker_endpoint[0].variant_name
    capture_s3_uri     = module.sagemaker_endpoint[0].data_capture_s3_uri
  }
}

output "model_monitor_function_name" {
  description = "The model monitor's function (python -m mlops monitor invokes it), or null where nothing is captured."
  value       = one(module.model_monitor[*].function_name)
}

output "model_monitor_alarm_names" {
  description = "The model monitor's drift, low-confidence and failure alarms by kind, or null."
  value       = one(module.model_monitor[*].alarm_names)
}
