# The root module on the embedded AWS emulator: `make local-stack`, the demo and the tests copy
# this file into their scratch workspace as emulator.auto.tfvars. Each value is a difference
# from a real account, for a gap of the emulator's; a real deployment never reads this file.

name = "dogs-local"

# The emulator has no Deep Learning AMI public SSM parameter: one of its own images (moto's
# "Deep Learning AMI Ubuntu Linux") stands in.
ami_id = "ami-dca37ea5"

# The emulator has no PutProvisionedConcurrencyConfig (`terraform test` checks the setting).
lambda_provisioned_concurrency = 0

# A local stack's data is disposable: destroying it deletes the bucket with what it holds.
force_destroy_bucket = true
