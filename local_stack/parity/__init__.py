"""The parity tier's environments: the runtimes AWS runs the shipped code on
(``terraform/runtimes.json``), reproduced as virtual environments for ``tests/parity``."""
