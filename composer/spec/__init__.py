"""The spec: safe YAML, the spec's values and validation, rule sets, the melody."""
