"""corridor.insurance: parametric export-risk cover that pays on verified corridor events."""
