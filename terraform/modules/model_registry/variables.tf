variable "name" {
  type        = string
  description = "Name of the model package group (the registry's model group) that holds this project's model versions."

  validation {
    condition     = can(regex("^[a-z0-9](-*[a-z0-9]){0,62}$", var.name))
    error_message = "name must be 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit (ModelPackageGroupName; lowercase, as IAM matches package ARNs by case)."
  }
}

variable "description" {
  type        = string
  default     = "Dog-breed classifier versions: registered from training jobs, approved by a person before they serve."
  description = "Description of the model package group."

  validation {
    condition     = length(var.description) >= 1 && length(var.description) <= 1024
    error_message = "description must be 1 to 1024 characters (ModelPackageGroupDescription)."
  }
}

variable "tags" {
  type        = map(string)
  default     = {}
  description = "Tags for the model package group."
}
