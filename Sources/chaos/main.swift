import ChaosCLI

ChaosMain.resetSignalMask()
await ChaosMain.runOnMainThread()
