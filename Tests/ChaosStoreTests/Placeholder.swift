import Testing

@Suite("ChaosStore placeholder") struct ChaosStorePlaceholder { @Test func builds() {} }
