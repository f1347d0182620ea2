// Placeholder: the coverage validator is being written (issue 3).
