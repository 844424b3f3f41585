"""Benchmarks: SDK publishing, the registry processor and the simulator, each measured on its own."""
