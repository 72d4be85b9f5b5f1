/// Placeholder: the run store lands here (issue 5).
