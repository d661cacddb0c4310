"""Cleanup for executions that ended without their failure path (EventBridge)."""
