"""The monitor of the live model: captured requests and answers compared with the baseline
training left (``ml/baseline.py``), into the figures ``monitor_function`` publishes."""
