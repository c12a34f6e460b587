# Sourced by Dockerfile RUN steps that download (pip, Go modules): where the host reaches
# the registries through a TLS-inspecting proxy, its CA bundle comes in as the build secret
# host_ca (scripts/images/engine.sh passes it) and is used for this step only; it is never
# copied into a layer. Without the secret (a plain docker build) nothing changes.
if [ -f /run/secrets/host_ca ]; then
  export SSL_CERT_FILE=/run/secrets/host_ca PIP_CERT=/run/secrets/host_ca GIT_SSL_CAINFO=/run/secrets/host_ca
fi
