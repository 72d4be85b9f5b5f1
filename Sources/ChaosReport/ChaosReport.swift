/// Placeholder: report renderers land here (issue 5).
