"""Deploy targets, one folder each: its EventBridge models, its service adapter, its domain bindings."""
