# The audit as a container: the package and its console script, nothing else; runs as an unprivileged user with a
# read-only root filesystem (deploy/ mounts /tmp and /reports writable).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY readiness ./readiness
COPY checks ./checks
COPY reports ./reports
RUN pip install --no-cache-dir . && rm -rf /src
WORKDIR /reports
USER 10001:10001
ENTRYPOINT ["readiness"]
CMD ["--help"]
