"""The predictive score: a model trained on the site's own conversions."""
