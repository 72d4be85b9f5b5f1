import Testing

@Suite("ChaosReport placeholder") struct ChaosReportPlaceholder { @Test func builds() {} }
