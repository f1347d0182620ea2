// Placeholder: locator tests are being written (issue 3).
