"""The demo stack: local servers configured like a typical first deployment (some items right, some wrong),
audited end to end by ``readiness demo``.  The tests start their real servers with the same code."""
