"""HTTP routes, one module per resource, with their input and output schemas."""
