"""``make soak``: the Go predictor under steady load while models change, stores fail,
the process is stopped and inputs are hostile. Every scenario reports its figures."""
