"""Email templates, snippets, sequences and enrollments."""
