"""Stages that answer from cache or send fewer tokens."""
