# A monthly cost budget over this project's resources: e-mail when the month is forecast to
# pass 80% of the limit, and when it has passed 100%.
resource "aws_budgets_budget" "monthly" {
  count = var.monthly_budget == null ? 0 : 1

  # Explicit: the provider cannot read the budget back without it when it skips the
  # account lookup.
  account_id   = local.account_id
  name         = "${var.name}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget.limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  # Counts only what carries the default tag Project = name, once Project is an activated
  # cost allocation tag (Billing console, "Cost allocation tags").
  cost_filter {
    name   = "TagKeyValue"
    values = [format("user:Project$%s", var.name)]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.monthly_budget.emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.monthly_budget.emails
  }

  tags = var.tags
}
