mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/dog-breeds-ci" }
  }
}

variables {
  name                      = "dog-breeds"
  repository                = "example-org/dog-breeds"
  deployer_policy_documents = ["{\"Version\":\"2012-10-17\",\"Statement\":[]}", "{\"Version\":\"2012-10-17\",\"Statement\":[]}"]
  planner_policy_documents  = ["{\"Version\":\"2012-10-17\",\"Statement\":[]}"]
}

run "deployer_trusts_only_the_protected_environment" {
  command = apply

  assert {
    condition     = join(",", one([for c in one(data.aws_iam_policy_document.trust["deployer"].statement).condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"])) == "repo:example-org/dog-breeds:environment:production"
    error_message = "the deployer must be trusted for the production environment's jobs only"
  }
  assert {
    condition     = join(",", one([for c in one(data.aws_iam_policy_document.trust["planner"].statement).condition : c.values if c.variable == "token.actions.githubusercontent.com:sub"])) == "repo:example-org/dog-breeds:pull_request,repo:example-org/dog-breeds:ref:refs/heads/main"
    error_message = "the planner must be trusted for pull requests and main only"
  }
  assert {
    condition     = alltrue([for role, document in data.aws_iam_policy_document.trust : alltrue([for c in one(document.statement).condition : c.test == "StringEquals"]) && contains([for c in one(document.statement).condition : c.variable], "token.actions.githubusercontent.com:aud")])
    error_message = "both roles must match the token's audience and subject exactly"
  }
  assert {
    condition     = length(aws_iam_policy.this) == 3 && length(aws_iam_role_policy_attachment.this) == 3
    error_message = "each document must be one managed policy, attached to its role"
  }
  assert {
    condition     = aws_iam_role_policy_attachment.this["deployer-2"].role == "dog-breeds-ci-deployer" && aws_iam_role_policy_attachment.this["planner-1"].role == "dog-breeds-ci-planner"
    error_message = "the policies must go to their own role"
  }
  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 1 && aws_iam_openid_connect_provider.github[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "GitHub's OIDC provider must be created, for STS"
  }
}

run "an_existing_oidc_provider_is_reused" {
  command = plan
  variables {
    create_oidc_provider = false
    oidc_provider_arn    = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.github) == 0 && output.oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    error_message = "with create_oidc_provider = false the given provider must be trusted"
  }
}

run "rejects_bad_name" {
  command = plan
  variables {
    name = "Dog_Breeds"
  }
  expect_failures = [var.name]
}

run "rejects_bad_repository" {
  command = plan
  variables {
    repository = "dog-breeds"
  }
  expect_failures = [var.repository]
}

run "rejects_bad_deploy_environment" {
  command = plan
  variables {
    deploy_environment = "prod env"
  }
  expect_failures = [var.deploy_environment]
}

run "rejects_wildcard_main_branch" {
  command = plan
  variables {
    main_branch = "release/*"
  }
  expect_failures = [var.main_branch]
}

run "rejects_no_deployer_policy_documents" {
  command = plan
  variables {
    deployer_policy_documents = []
  }
  expect_failures = [var.deployer_policy_documents]
}

run "rejects_eleven_planner_policy_documents" {
  command = plan
  variables {
    planner_policy_documents = [for i in range(11) : "{}"]
  }
  expect_failures = [var.planner_policy_documents]
}

run "rejects_another_providers_arn" {
  command = plan
  variables {
    create_oidc_provider = false
    oidc_provider_arn    = "arn:aws:iam::123456789012:oidc-provider/accounts.google.com"
  }
  expect_failures = [var.oidc_provider_arn]
}

run "rejects_no_provider_at_all" {
  command = plan
  variables {
    create_oidc_provider = false
  }
  expect_failures = [var.oidc_provider_arn]
}
