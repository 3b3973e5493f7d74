# State in S3, locked by a lock file beside it (S3 conditional writes, Terraform >= 1.10; no
# DynamoDB table). A partial configuration: the bucket, key and region come from
# terraform init -backend-config=backend.hcl (see backend.hcl.example; bootstrap/ creates the
# bucket). State on one machine only, for a trial: README, "Running it as a team".
terraform {
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}
