terraform {
  required_version = ">= 1.9" # a validation that reads another variable

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
