output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "classify_url" {
  description = "URL to POST images or JSON to (the page's ?api= setting)."
  value       = "${aws_apigatewayv2_stage.default.invoke_url}classify"
}

output "route_arn" {
  description = "Execution ARN of POST /classify: the only source allowed to invoke the function."
  value       = local.route_arn
}

output "access_log_group_name" {
  description = "Log group of the API's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "status_url" {
  description = "With status_route: the URL to GET an asynchronous request's status from, with {inference_id} to fill in; else null."
  value       = var.status_route ? "${aws_apigatewayv2_stage.default.invoke_url}classify/{inference_id}" : null
}
