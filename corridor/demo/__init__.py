"""corridor.demo: a deterministic Middle Corridor scenario, loaded through the capture path."""

from corridor.demo.load import DemoError, DemoParty, DemoSummary, demo_api_key, load_demo

__all__ = ["DemoError", "DemoParty", "DemoSummary", "demo_api_key", "load_demo"]
