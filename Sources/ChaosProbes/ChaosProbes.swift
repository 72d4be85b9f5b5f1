/// Placeholder: probes land here (issue 5).
