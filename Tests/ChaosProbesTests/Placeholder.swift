import Testing

@Suite("ChaosProbes placeholder") struct ChaosProbesPlaceholder { @Test func builds() {} }
