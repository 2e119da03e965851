"""The whole job as functions over typed values; the CLI and (later) the service call these."""
