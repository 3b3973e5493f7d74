output "classify_url" {
  description = "URL to POST an image (or JSON with a url or s3_uri) to: the top breeds come back."
  value       = module.http_api.classify_url
}

output "endpoint_name" {
  description = "The serverless endpoint."
  value       = module.sagemaker_endpoint.endpoint_name
}

output "function_name" {
  description = "The invoker Lambda (its live alias serves the API)."
  value       = module.lambda_invoker.function_name
}
