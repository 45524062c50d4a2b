"""Grading: hearing the harmony of a score, and every rule's verdict on it."""
