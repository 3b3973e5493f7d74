mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
}

variables {
  name          = "dog-breeds-invoker"
  package_path  = "tests/fixtures/lambda.zip"
  endpoint_name = "dog-breeds"
  endpoint_arn  = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dog-breeds"
}

run "concurrency_reserved_5_provisioned_2_on_live" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 5
    error_message = "reserved concurrency must default to 5"
  }
  assert {
    condition     = aws_lambda_provisioned_concurrency_config.live[0].provisioned_concurrent_executions == 2 && aws_lambda_provisioned_concurrency_config.live[0].qualifier == "live"
    error_message = "provisioned concurrency 2 must be on the live alias"
  }
  assert {
    condition     = aws_lambda_alias.live.name == "live" && aws_lambda_function.this.publish
    error_message = "a published version must back the live alias"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ENDPOINT_NAME"] == "dog-breeds"
    error_message = "ENDPOINT_NAME must name the endpoint"
  }
  assert {
    # AWS rules: an HTTP API integration waits 30 s at most (API Gateway developer guide,
    # "Quotas for configuring and running an HTTP API"); botocore's total_max_attempts counts
    # the first attempt (boto3 guide, "Retries"). Every attempt must fit the function.
    condition = aws_lambda_function.this.timeout < 30 && (
      7 + tonumber(aws_lambda_function.this.environment[0].variables["INVOKE_ATTEMPTS"]) * (2 + tonumber(aws_lambda_function.this.environment[0].variables["INVOKE_TIMEOUT_SECONDS"])) + 1
    ) <= tonumber(aws_lambda_function.this.environment[0].variables["FUNCTION_TIMEOUT_SECONDS"])
    error_message = "input reading + attempts x (connect + read) + margin must fit the function timeout, itself under the HTTP API's 30 s"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["FUNCTION_TIMEOUT_SECONDS"] == tostring(aws_lambda_function.this.timeout)
    error_message = "the function must know its own timeout to check its budget"
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/dog-breeds-invoker" && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "the function's log group must exist with a retention"
  }
}

run "policy_invokes_exactly_the_endpoint" {
  command = plan

  assert {
    condition     = data.aws_iam_policy_document.this.statement[0].actions == toset(["sagemaker:InvokeEndpoint"])
    error_message = "the only SageMaker action must be InvokeEndpoint"
  }
  assert {
    condition     = data.aws_iam_policy_document.this.statement[0].resources == toset([var.endpoint_arn])
    error_message = "InvokeEndpoint must be scoped to the one endpoint ARN"
  }
  assert {
    condition     = length(data.aws_iam_policy_document.this.statement) == 2
    error_message = "without S3 input the policy is InvokeEndpoint plus own logs, nothing else"
  }
}

run "s3_input_adds_read_on_one_prefix" {
  command = plan

  variables {
    input_s3 = { bucket = "dog-breeds-data", prefix = "inference-input/" }
  }

  assert {
    condition     = data.aws_iam_policy_document.this.statement[2].resources == toset(["arn:aws:s3:::dog-breeds-data/inference-input/*"]) && data.aws_iam_policy_document.this.statement[2].actions == toset(["s3:GetObject"])
    error_message = "S3 input must allow GetObject on that prefix only"
  }
  assert {
    # AWS rule: without s3:ListBucket, S3 answers 403 for a missing key (S3 API reference,
    # GetObject); listing the input prefix, and only it, lets "not found" be a 404.
    condition     = data.aws_iam_policy_document.this.statement[3].actions == toset(["s3:ListBucket"]) && data.aws_iam_policy_document.this.statement[3].resources == toset(["arn:aws:s3:::dog-breeds-data"]) && toset(tolist(data.aws_iam_policy_document.this.statement[3].condition)[0].values) == toset(["inference-input/*"])
    error_message = "S3 input must allow listing the input prefix only"
  }
}

run "trust_is_limited_to_this_account" {
  # AWS rule: confused-deputy guard in the execution role's trust policy (Lambda developer
  # guide, "Working with AWS managed policies in the execution role").
  command = plan

  assert {
    condition     = tolist(data.aws_iam_policy_document.assume_lambda.statement[0].condition)[0].variable == "aws:SourceAccount" && toset(tolist(data.aws_iam_policy_document.assume_lambda.statement[0].condition)[0].values) == toset(["123456789012"])
    error_message = "lambda.amazonaws.com may assume the role for this account only"
  }
}

run "rejects_a_time_budget_over_the_function_timeout" {
  command = plan
  variables {
    timeout         = 20
    invoke_timeout  = 9
    invoke_attempts = 2
  }
  expect_failures = [aws_lambda_function.this]
}

run "rejects_an_s3_url_as_model_version" {
  command = plan
  variables {
    model_version = "s3://dog-breeds-123456789012/models/run-1/model.tar.gz"
  }
  expect_failures = [var.model_version]
}

run "rejects_zero_invoke_attempts" {
  command = plan
  variables {
    invoke_attempts = 0
  }
  expect_failures = [var.invoke_attempts]
}

run "rejects_invoke_timeout_over_the_invoke_limit" {
  command = plan
  variables {
    invoke_timeout = 61
  }
  expect_failures = [var.invoke_timeout]
}

run "provisioned_zero_disables_it" {
  command = plan

  variables {
    provisioned_concurrency = 0
  }

  assert {
    condition     = length(aws_lambda_provisioned_concurrency_config.live) == 0
    error_message = "provisioned_concurrency 0 must create no provisioned concurrency config"
  }
}

run "provisioned_above_reserved_fails" {
  command = plan
  variables {
    reserved_concurrency    = 1
    provisioned_concurrency = 2
  }
  expect_failures = [aws_lambda_provisioned_concurrency_config.live]
}

run "rejects_wildcard_endpoint_arn" {
  command = plan
  variables {
    endpoint_arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/*"
  }
  expect_failures = [var.endpoint_arn]
}

run "rejects_timeout_at_invoke_limit" {
  command = plan
  variables {
    timeout = 60
  }
  expect_failures = [var.timeout]
}

run "rejects_star_cors" {
  command = plan
  variables {
    cors_allow_origin = "*"
  }
  expect_failures = [var.cors_allow_origin]
}

run "rejects_zero_reserved" {
  command = plan
  variables {
    reserved_concurrency = 0
  }
  expect_failures = [var.reserved_concurrency]
}

run "rejects_negative_provisioned" {
  command = plan
  variables {
    provisioned_concurrency = -1
  }
  expect_failures = [var.provisioned_concurrency]
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "dog breeds"
  }
  expect_failures = [var.name]
}

run "rejects_non_zip_package" {
  command = plan
  variables {
    package_path = "lambda.tar.gz"
  }
  expect_failures = [var.package_path]
}

run "rejects_bad_input_prefix" {
  command = plan
  variables {
    input_s3 = { bucket = "b", prefix = "" }
  }
  expect_failures = [var.input_s3]
}

run "rejects_url_allowlist_with_scheme" {
  command = plan
  variables {
    url_allowlist = ["https://images.example.com"]
  }
  expect_failures = [var.url_allowlist]
}

run "rejects_odd_memory" {
  command = plan
  variables {
    memory_size = 64
  }
  expect_failures = [var.memory_size]
}

run "rejects_unsupported_retention" {
  command = plan
  variables {
    log_retention_days = 10
  }
  expect_failures = [var.log_retention_days]
}

run "the_image_limit_reaches_the_function" {
  command = plan
  variables {
    max_image_bytes = 2900000
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["MAX_IMAGE_BYTES"] == "2900000"
    error_message = "MAX_IMAGE_BYTES must carry max_image_bytes"
  }
}

run "rejects_images_over_the_invoke_limit" {
  command = plan
  variables {
    max_image_bytes = 4500001
  }
  expect_failures = [var.max_image_bytes]
}

# In front of an asynchronous endpoint (API_runtime_InvokeEndpointAsync needs
# sagemaker:InvokeEndpointAsync): the function queues under one prefix and reads answers under
# two, and lists them so a missing answer is a 404 (S3 API reference, GetObject).
run "async_queues_under_one_prefix_and_reads_outcomes_under_three" {
  command = plan
  variables {
    async_inference = { bucket = "dog-breeds-data", input_prefix = "async/in/", output_prefix = "async/out/", failure_prefix = "async/failed/" }
    kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s.actions if s.sid == "InvokeTheEndpoint"]) == toset(["sagemaker:InvokeEndpointAsync"])
    error_message = "the function must invoke the endpoint asynchronously, and only so"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "QueueAsyncRequests"]) == toset(["arn:aws:s3:::dog-breeds-data/async/in/*"])
    error_message = "the function may write requests under the input prefix only"
  }
  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s.resources if s.sid == "ReadAsyncOutcomes"]) == toset(["arn:aws:s3:::dog-breeds-data/async/in/*", "arn:aws:s3:::dog-breeds-data/async/out/*", "arn:aws:s3:::dog-breeds-data/async/failed/*"])
    error_message = "the function may read requests, answers and failures only"
  }
  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.this.statement : [for c in s.condition : tolist(c.values)] if s.sid == "ListAsyncOutcomes"])) == toset(["async/in/*", "async/out/*", "async/failed/*"])
    error_message = "the function may list the three prefixes only"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables["ASYNC_BUCKET"] == "dog-breeds-data" && aws_lambda_function.this.environment[0].variables["ASYNC_FAILURE_PREFIX"] == "async/failed/"
    error_message = "the function must be told where requests and outcomes are"
  }
}

run "rejects_bad_async_prefix" {
  command = plan
  variables {
    async_inference = { bucket = "dog-breeds-data", input_prefix = "async/in", output_prefix = "async/out/", failure_prefix = "async/failed/" }
  }
  expect_failures = [var.async_inference]
}

run "rejects_one_async_prefix_twice" {
  command = plan
  variables {
    async_inference = { bucket = "dog-breeds-data", input_prefix = "async/", output_prefix = "async/", failure_prefix = "async/failed/" }
  }
  expect_failures = [var.async_inference]
}

run "serving_metrics_go_to_the_namespace_given" {
  command = plan

  variables {
    metric_namespace = "dog-breeds/Invoker"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["METRIC_NAMESPACE"] == "dog-breeds/Invoker"
    error_message = "the function writes its EMF metrics to the namespace given"
  }
}

run "reject_aws_metric_namespace" {
  command = plan

  variables {
    metric_namespace = "AWS/Lambda"
  }

  expect_failures = [var.metric_namespace]
}
