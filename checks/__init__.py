"""Probe plugins, one module per backend; each is registered in the ``readiness.probes`` entry-point group."""
