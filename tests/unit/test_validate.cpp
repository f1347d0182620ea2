// Placeholder: validator tests are being written (issue 3).
