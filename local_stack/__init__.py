"""The whole system on one machine: AWS emulator, local endpoint, Terraform driver, demo.

Developer tooling shared by the demo, the tests and the benchmarks; nothing here ships to AWS.
See README.md in this folder.
"""
