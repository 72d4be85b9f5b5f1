import ChaosCLI

ChaosMain.resetSignalMask()
await ChaosMain.run()
