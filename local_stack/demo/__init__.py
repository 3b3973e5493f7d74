"""The demo and what it drives: sample data in the dogImages layout, the Terraform driver
(the committed configuration applied to the emulator from a scratch copy), the boot-time
training script run as the instance runs it, and the pipeline itself (``make demo``)."""
