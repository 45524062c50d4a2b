"""The plan: form, phrases, cadences and a chain of harmonic slots, before any note."""
