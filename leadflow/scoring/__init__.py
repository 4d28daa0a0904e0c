"""Rule scores: fit (the ideal customer profile) and engagement (what the lead did, with decay)."""
