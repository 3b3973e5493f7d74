# One page for the service: traffic and errors, latency, capacity, the Lambda, and every
# alarm's state.

locals {
  region   = data.aws_region.current.name
  endpoint = ["EndpointName", var.endpoint_name, "VariantName", var.variant_name]
  function = ["FunctionName", var.function_name]
  serverless_capacity = {
    title = "Serverless: cold starts and concurrency"
    metrics = [
      concat(["AWS/SageMaker", "ModelSetupTime"], local.endpoint),
      concat(["AWS/SageMaker", "ServerlessConcurrentExecutionsUtilization"], local.endpoint, [{ yAxis = "right" }]),
    ]
  }
  async_capacity = {
    title = "Asynchronous queue: backlog, oldest request (s), failures"
    metrics = [
      ["AWS/SageMaker", "ApproximateBacklogSize", "EndpointName", var.endpoint_name],
      ["AWS/SageMaker", "ApproximateBacklogSizePerInstance", "EndpointName", var.endpoint_name],
      ["AWS/SageMaker", "HasBacklogWithoutCapacity", "EndpointName", var.endpoint_name],
      ["AWS/SageMaker", "ApproximateAgeOfOldestRequest", "EndpointName", var.endpoint_name, { yAxis = "right" }],
      concat(["AWS/SageMaker", "InvocationFailures"], local.endpoint, [{ stat = "Sum" }]),
    ]
  }
  capacity = {
    realtime   = local.realtime_capacity
    serverless = local.serverless_capacity
    async      = local.async_capacity
  }
  realtime_capacity = {
    title = "Instances, CPU and memory"
    metrics = [
      # No metric counts instances: while serving, invocations / invocations per instance does.
      [{ expression = "invocations / per_instance", label = "instances (while serving)", id = "instances" }],
      concat(["AWS/SageMaker", "Invocations"], local.endpoint, [{ id = "invocations", visible = false }]),
      concat(["AWS/SageMaker", "InvocationsPerInstance"], local.endpoint, [{ id = "per_instance", visible = false }]),
      concat(["/aws/sagemaker/Endpoints", "CPUUtilization"], local.endpoint, [{ yAxis = "right", stat = "Average" }]),
      concat(["/aws/sagemaker/Endpoints", "MemoryUtilization"], local.endpoint, [{ yAxis = "right", stat = "Average" }]),
    ]
  }
  # One datapoint per monitor window: shown at its own period.
  model_monitor_widgets = var.model_monitor == null ? [] : [{
    title = "Live model against its training: drift score, low-confidence and unfamiliar shares"
    metrics = [
      ["${var.model_monitor.namespace}", "PredictionDriftScore", "EndpointName", var.endpoint_name],
      ["${var.model_monitor.namespace}", "LowConfidenceShare", "EndpointName", var.endpoint_name, { yAxis = "right" }],
      ["${var.model_monitor.namespace}", "UnfamiliarImageShare", "EndpointName", var.endpoint_name, { yAxis = "right" }],
      ["${var.model_monitor.namespace}", "ErrorShare", "EndpointName", var.endpoint_name, { yAxis = "right" }],
    ]
    stat   = "Maximum"
    period = var.model_monitor.period_seconds
  }]
  transform_widgets = var.transform_job_prefix == null ? [] : [{
    title   = "Batch transform jobs that failed"
    metrics = [["AWS/Events", "TriggeredRules", "RuleName", "${var.name}-transform-failed"]]
    stat    = "Sum"
  }]
  # Asynchronous endpoints publish neither Invocations nor OverheadLatency ("Monitor
  # asynchronous endpoint").
  asynchronous = var.endpoint_mode == "async"
  widgets = concat([
    {
      title = "Endpoint invocations and errors"
      metrics = concat(
        local.asynchronous ? [] : [concat(["AWS/SageMaker", "Invocations"], local.endpoint)],
        [
          concat(["AWS/SageMaker", "Invocation4XXErrors"], local.endpoint),
          concat(["AWS/SageMaker", "Invocation5XXErrors"], local.endpoint),
        ],
      )
      stat = "Sum"
    },
    {
      title = "Model latency (microseconds)"
      metrics = concat(
        [
          concat(["AWS/SageMaker", "ModelLatency"], local.endpoint, [{ stat = "p50", label = "p50" }]),
          concat(["AWS/SageMaker", "ModelLatency"], local.endpoint, [{ stat = "p99", label = "p99" }]),
        ],
        local.asynchronous ? [] : [concat(["AWS/SageMaker", "OverheadLatency"], local.endpoint, [{ stat = "p99", label = "overhead p99" }])],
      )
      stat = "p50"
    },
    # Through JSON: the modes' widgets have different shapes.
    merge(jsondecode({ for mode, widget in local.capacity : mode => jsonencode(widget) }[var.endpoint_mode]), { stat = "Maximum" }),
    {
      title = "Lambda invocations, errors and throttles"
      metrics = [
        concat(["AWS/Lambda", "Invocations"], local.function),
        concat(["AWS/Lambda", "Errors"], local.function),
        concat(["AWS/Lambda", "Throttles"], local.function),
      ]
      stat = "Sum"
    },
    {
      title = "Lambda duration (ms)"
      metrics = [
        concat(["AWS/Lambda", "Duration"], local.function, [{ stat = "p50", label = "p50" }]),
        concat(["AWS/Lambda", "Duration"], local.function, [{ stat = "p99", label = "p99" }]),
      ]
      stat = "p50"
    },
  ], local.model_monitor_widgets, local.transform_widgets)
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [
        for index, widget in local.widgets : {
          type   = "metric"
          x      = (index % 2) * 12
          y      = floor(index / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = widget.title
            metrics = widget.metrics
            stat    = widget.stat
            period  = lookup(widget, "period", 60)
            region  = local.region
            view    = "timeSeries"
          }
        }
      ],
      [{
        type   = "alarm"
        x      = 0
        y      = ceil(length(local.widgets) / 2) * 6
        width  = 24
        height = 4
        properties = {
          title = "Alarms"
          # Built from names, so the body is known at plan time and reviewable in a diff.
          alarms = concat([for key in keys(local.alarms) : "${local.alarm_arn_prefix}${var.name}-${key}"], var.deployment_alarm_arns, var.model_monitor == null ? [] : var.model_monitor.alarm_arns)
        }
      }],
    )
  })
}
