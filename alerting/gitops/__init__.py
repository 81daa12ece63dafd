"""The repository is the deployment: committing and pushing `state/` safely, and reading
`probes/` at another git ref for pull-request checks."""
