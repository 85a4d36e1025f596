"""Stage 7: the benchmark: runner, config, summary, gain, controls, probe, report, quickstart."""
